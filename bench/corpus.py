"""Synthetic corpora for the benchmarks, written to a temporary folder (never committed).

* :func:`build_taobao_corpus`: Taobao mtop search cassettes in vcrpy format (one file per query, every
  page of it), made with the fixture helpers (``fixtures.generate.taobao.mtop_item``/``mtop_body``/
  ``search_uri``) from the demo catalogue's seeds, with fresh ids, varied titles, prices and sellers.
  Optionally image cassettes: small JPEGs derived from ``fixtures/registry/images/*`` (resized, cropped,
  mirrored, recoloured, re-compressed) plus unrelated pictures, one URL per image, shared by listings.
* :func:`registry_copy`: the demo registry copied next to the corpus, its watch list set to the corpus
  queries (so ``scrapy monitor`` crawls exactly the corpus).
* :func:`run_measured`: run a command, return wall time and the peak RSS of that process tree
  (``os.wait4``: the child's own ``ru_maxrss``, so runs side by side do not blur each other).
* :func:`flagged_listings`: scored listings as the store hands them to the reports, as a generator.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crawlers.mtop import MtopClient
from crawlers.platforms import taobao
from fixtures.generate.cassette import interaction
from fixtures.generate.catalogue import ALIAS_SEEDS, JACKET_SEEDS, Seed, seller_id
from fixtures.generate.taobao import JSONP_HEADERS, T_BASE, mtop_body, mtop_item, search_uri, state_after

ROOT = Path(__file__).resolve().parents[1]
DEMO_REGISTRY = ROOT / "fixtures" / "registry" / "demo.yaml"
REGISTRY_IMAGES = ROOT / "fixtures" / "registry" / "images"
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
PAGE_SIZE = taobao.PAGE_SIZE  # 48 listings per mtop page, plus one sponsored row with an item id

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _NoAliases(_Dumper):  # type: ignore[misc, valid-type]
    def ignore_aliases(self, data):
        return True


FILL = ["男款", "女款", "2025新款", "包邮", "户外", "秋冬", "防水", "透气", "加厚", "工厂直销", "现货", "清仓",
        "大码", "情侣款", "轻薄", "三合一", "特价", "正品", "原单", "尾单"]
QUERY_WORDS = ["LUMORA 冲锋衣", "露莫拉", "LUMORA 登山包", "露莫拉 冲锋衣", "lumora trail jacket", "露莫拉 登山包"]


@dataclass
class Corpus:
    root: Path  # the REPLAY_DIR
    queries: list[str]
    pages: int
    listings: int  # listings the search pages carry (sponsored rows excluded)
    images: int
    image_bytes: int = 0
    build_seconds: float = 0.0
    files: list[Path] = field(default_factory=list)


def write_cassette(path: Path, interactions: list[dict], comment: str) -> None:
    """``fixtures.generate.cassette.write_cassette`` with libyaml's emitter when present (same YAML)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {line}\n" for line in comment.strip().splitlines())
    text = yaml.dump({"interactions": interactions, "version": 1}, allow_unicode=True, sort_keys=False,
                     Dumper=_NoAliases, width=100000)
    path.write_text(header + text, encoding="utf-8")


def image_url(number: int) -> str:
    sid = seller_id(f"img{number % 97}")
    name = f"O1CN01bench{number:08d}xyzABCDEFG"
    return f"https://g-search{1 + number % 3}.alicdn.com/img/bao/uploaded/i4/i{1 + number % 4}/{sid}/{name}_!!{sid}.jpg"


def _query(number: int) -> str:
    return f"{QUERY_WORDS[number % len(QUERY_WORDS)]} {number:04d}"


def _vary(seed: Seed, rng: random.Random, number: int) -> Seed:
    words = rng.sample(FILL, rng.randint(1, 4))
    title = " ".join([seed.title, *words]) if rng.random() < 0.8 else " ".join([*words, seed.title])
    price = f"{float(seed.price) * rng.uniform(0.6, 1.6):.2f}"
    seller = seed.seller if rng.random() < 0.3 else f"{seed.seller}{number % 500}"
    return Seed(seed.kind, title, price, seller, seed.location, seed.sales, seed.image, seed.tmall)


def build_taobao_corpus(folder: Path, listings: int, *, pages: int = 3, images: int = 0, seed: int = 7) -> Corpus:
    """Search cassettes carrying about ``listings`` listings (whole pages of 48) and ``images`` image recordings."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    seeds = JACKET_SEEDS + ALIAS_SEEDS
    total_pages = max(1, -(-listings // PAGE_SIZE))
    n_queries = max(1, -(-total_pages // pages))
    corpus = Corpus(folder, [], pages, 0, images)
    next_id = 600_000_000_000 + seed * 10_000_000
    client = MtopClient(taobao.SEARCH_HOST)
    client.tokens["taobao.com"] = "3f9c2a7e51d04b6c8e0f1a2b3c4d5e6f"
    headers = {"Referer": ["https://s.taobao.com/"]}
    pages_left = total_pages
    for q in range(n_queries):
        query = _query(q)
        corpus.queries.append(query)
        q_pages = min(pages, pages_left)
        pages_left -= q_pages
        interactions = []
        for page in range(1, q_pages + 1):
            items = []
            for rank in range(1, PAGE_SIZE + 1):
                base = _vary(seeds[rng.randrange(len(seeds))], rng, next_id)
                item = mtop_item(base, rng, query, page=page, rank=rank)
                item_id = str(next_id)
                next_id += 1
                item["item_id"], item["nidlong"] = item_id, int(item_id)
                host = "detail.tmall.com" if base.tmall else "item.taobao.com"
                item["auctionURL"] = f"//{host}/item.htm?id={item_id}&ns=1&abbucket=1"
                if images:
                    item["pic_path"] = image_url(rng.randrange(images))
                items.append(item)
            ad = mtop_item(seeds[0], rng, query, ad=True, page=page)
            if images:
                ad["pic_path"] = image_url(rng.randrange(images))
            items.insert(1, ad)
            corpus.listings += PAGE_SIZE + 1  # the sponsored row carries an item id: a listing too
            state = {} if page == 1 else state_after(page - 1)
            # the platform counts more than it shows: a total that allows exactly q_pages pages
            body = mtop_body(items, total=PAGE_SIZE * q_pages, page=page, callback=f"mtopjsonp{page + 1}")
            interactions.append(interaction(search_uri(client, query, page, state, T_BASE + 1000 * page),
                                            request_headers=headers, body=body, headers=JSONP_HEADERS))
        path = folder / "taobao" / f"bench-{q:05d}.yaml"
        write_cassette(path, interactions, f"Synthetic benchmark corpus (bench/corpus.py), query {query!r}.")
        corpus.files.append(path)
    if images:
        corpus.image_bytes = _write_images(folder / "images", images, seed)
    corpus.build_seconds = time.perf_counter() - started
    return corpus


def _derived(sources, rng: random.Random):
    from PIL import ImageEnhance, ImageOps

    image = rng.choice(sources).copy()
    width, height = image.size
    if rng.random() < 0.5:  # crop up to 12% per side
        dx, dy = int(width * rng.uniform(0, 0.12)), int(height * rng.uniform(0, 0.12))
        image = image.crop((dx, dy, width - dx, height - dy))
    if rng.random() < 0.3:
        image = ImageOps.mirror(image)
    if rng.random() < 0.4:
        image = ImageEnhance.Color(image).enhance(rng.uniform(0.6, 1.4))
    if rng.random() < 0.3:
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
    size = rng.randint(160, 360)
    return image.resize((size, int(size * image.size[1] / image.size[0])))


def _unrelated(rng: random.Random):
    from PIL import Image, ImageDraw

    size = rng.randint(160, 360)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 12)):
        x0, y0 = rng.randrange(size), rng.randrange(size)
        box = (x0, y0, min(size, x0 + rng.randint(10, size)), min(size, y0 + rng.randint(10, size)))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return image


def _write_images(folder: Path, count: int, seed: int, per_file: int = 500) -> int:
    from PIL import Image

    rng = random.Random(seed + 1)
    sources = [Image.open(path).convert("RGB") for path in sorted(REGISTRY_IMAGES.glob("*.jpg"))]
    total = 0
    interactions = []
    for number in range(count):
        image = _derived(sources, rng) if rng.random() < 0.3 else _unrelated(rng)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=rng.randint(60, 90))
        body = out.getvalue()
        total += len(body)
        interactions.append(interaction(image_url(number), body=body,
                                        headers={"Content-Type": "image/jpeg", "Server": "Tengine"}))
        if len(interactions) == per_file or number == count - 1:
            write_cassette(folder / f"images-{number // per_file:04d}.yaml", interactions,
                           "Synthetic benchmark images (bench/corpus.py): registry photos transformed, and others.")
            interactions = []
    return total


def registry_copy(folder: Path, queries: list[str], pages: int, *, photos: bool = True) -> Path:
    """The demo registry, its images and certificates under ``folder``, watching ``queries`` on Taobao only.

    ``photos=False``: no product photos and no logos, so listing images are downloaded and hashed but
    there is nothing to match them against.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REGISTRY_IMAGES, folder / "images", dirs_exist_ok=True)
    # the certificates and statements the registry names (it is checked whole before a run)
    shutil.copytree(REGISTRY_IMAGES.parent / "certs", folder / "certs", dirs_exist_ok=True)
    data = yaml.safe_load(DEMO_REGISTRY.read_text(encoding="utf-8"))
    if not photos:
        for product in data.get("products", []):
            product.pop("images", None)
        for mark in data.get("trademarks", []):
            mark.pop("logo", None)
    data["watch"] = {"platforms": ["taobao"], "queries": queries, "pages": pages}
    path = folder / "registry.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def scrapy_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(extra)
    return env


@dataclass
class Measured:
    returncode: int
    seconds: float
    peak_rss_mb: float
    log: Path
    # with a phase marker: the highest RSS sampled before the marker file appeared, and when it did
    rss_before_marker_mb: float | None = None
    marker_seconds: float | None = None


def _current_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_measured(command: list[str], *, cwd: Path, log: Path, env: dict | None = None,
                 timeout: float = 1800, marker: tuple[Path, str] | None = None) -> Measured:
    """Run ``command``; wall time and the peak resident set of the process (``ru_maxrss`` via ``os.wait4``).

    ``marker``: (folder, glob) of a file the process writes when a phase begins (e.g. the monitor's
    ``listings.jsonl``: the reports); the RSS is sampled every 50 ms until it appears.
    """
    started = time.perf_counter()
    before, marked_at = 0.0, None
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env or scrapy_env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            if marker is not None and marked_at is None:
                if any(marker[0].glob(marker[1])):
                    marked_at = time.perf_counter() - started
                else:
                    before = max(before, _current_rss_mb(process.pid))
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(process.returncode, seconds, usage.ru_maxrss / 1024, log,
                    before if marker is not None else None, marked_at)


def read_stats(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def flagged_listings(count: int, seed: int = 3):
    """``count`` scored, flagged listings (infringing/suspect) as the store returns them, generated lazily."""
    rng = random.Random(seed)
    seeds = JACKET_SEEDS + ALIAS_SEEDS
    claims = [("counterfeit", "LUMORA-CN-25"), ("trademark_misuse", "LUMORA-CN-25"), ("stolen_image", "LUMORA-PHOTO")]
    platforms = ["taobao", "tmall", "1688", "alibaba"]
    for number in range(count):
        base = _vary(seeds[rng.randrange(len(seeds))], rng, number)
        platform = platforms[number % 4] if number % 4 != 3 else "taobao"  # alibaba needs a non-CNIPA mark
        reason, ipr_id = claims[rng.randrange(3)]
        listing_id = str(700_000_000_000 + number)
        score = rng.randint(55, 100)
        yield {
            "platform": platform, "listing_id": listing_id,
            "url": f"https://item.taobao.com/item.htm?id={listing_id}", "title": base.title,
            "price_min": float(base.price), "price_max": float(base.price), "currency": "CNY", "moq": None,
            "sales": rng.randint(0, 10000), "seller_id": seller_id(base.seller), "seller_name": base.seller,
            "shop_url": None, "location": base.location, "is_official_store": False,
            "image_urls": [image_url(number)], "images": [],
            "query": "LUMORA 冲锋衣", "page": 1, "rank": 1 + number % 48, "crawled_at": "2026-11-02T08:00:00+00:00",
            "score": score, "verdict": "infringing" if score >= 80 else "suspect", "reason": reason,
            "ipr_id": ipr_id, "product_id": "trail-jacket",
            "signals": {"brand": {"kind": "exact", "term": "LUMORA"}, "price_ratio": 0.12,
                        "counterfeit_terms": ["高仿"]},
            "explanation": f"title has 'LUMORA'; price {rng.randint(5, 30)}% of reference; says 高仿",
            "first_seen": f"2026-11-0{1 + number % 3}T08:00:00+00:00", "last_seen": "2026-11-03T08:00:00+00:00",
            "status": "new", "image_evidence": "",
        }


def profile_summary(path: Path, limit: int = 12) -> list[str]:
    """Markdown rows: where the time goes in a cProfile dump (self time overall, then the project's own
    functions by cumulative time)."""
    import pstats

    stats = pstats.Stats(str(path)).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = max((ct for (_, _, _, ct, _) in stats.values()), default=1.0) or 1.0

    def label(key) -> str:
        file, line, name = key
        if "site-packages/" in file:
            file = file.split("site-packages/", 1)[1]
        elif file.startswith(str(ROOT)):
            file = file[len(str(ROOT)) + 1:]
        elif "/lib/python3" in file:
            file = file.split("/lib/", 1)[1]
        elif file == "~":
            return name
        return f"{file}:{line} {name}"

    def table(title: str, keys) -> list[str]:
        rows = [f"**{title}** (total {total:.1f} s under the profiler)", "",
                "| function | calls | self s | cumulative s | % of run |", "|---|---|---|---|---|"]
        for key in keys:
            _calls, nc, tt, ct, _ = stats[key]
            rows.append(f"| `{label(key)}` | {nc} | {tt:.2f} | {ct:.2f} | {100 * ct / total:.0f}% |")
        return [*rows, ""]

    by_self = sorted(stats, key=lambda k: stats[k][2], reverse=True)[:limit]
    project = ("crawlers/", "pipelines/", "matchers/", "exports/")
    own = [k for k in stats if k[0].startswith(str(ROOT)) and k[0][len(str(ROOT)) + 1:].startswith(project)]
    # entry points that only wrap the whole run (the command's run(), the crawl's start) say nothing
    own = [k for k in own if stats[k][3] < 0.9 * total]
    by_cumulative = sorted(own, key=lambda k: stats[k][3], reverse=True)[:limit]
    return table("Self time, everything", by_self) + table("The project's functions, cumulative", by_cumulative)
