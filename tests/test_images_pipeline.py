"""ListingImagesPipeline inside real Scrapy crawls against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from matchers.evaluate_images import build_corpus, t_pad_white
from pipelines.images import host_allowed, is_public_address

ROOT = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from types import SimpleNamespace

    import scrapy
    from scrapy.crawler import CrawlerProcess

    cfg = json.loads(Path(sys.argv[1]).read_text())

    class Listings(scrapy.Spider):
        name = "listings"

        async def start(self):
            for item in cfg["items"]:
                yield item

    if cfg.get("spider_registry"):
        Listings.registry = cfg["spider_registry"]  # as `-a registry=PATH` leaves it
    elif cfg.get("registry_images"):
        Listings.registry = SimpleNamespace(
            path=Path(cfg["registry_dir"]) / "registry.yaml",
            products=(SimpleNamespace(id="trail-jacket", images=tuple(Path(p) for p in cfg["registry_images"])),),
            trademarks=(),
        )

    settings = dict(cfg["settings"])
    settings.update({
        "ITEM_PIPELINES": cfg.get("pipelines") or {"pipelines.images.ListingImagesPipeline": 100,
                                                   "pipelines.image_match.ImageMatchPipeline": 150},
        "FEEDS": {cfg["out"]: {"format": "jsonlines"}},
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
    })
    process = CrawlerProcess(settings=settings)
    crawler = process.create_crawler(Listings)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
    Path(cfg["stats"]).write_text(json.dumps(stats))
    """
)


@cache
def _pictures() -> dict[str, bytes]:
    corpus = build_corpus()
    registered = corpus.references[1][1]  # a product shot on white
    unrelated = corpus.distractors[0][1]
    copy = t_pad_white(registered, np.random.default_rng(4), corpus)

    def jpeg(arr):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "JPEG", quality=90)
        return buf.getvalue()

    good = jpeg(copy)
    return {
        "registered": jpeg(registered),
        "/copy.jpg": good,
        "/copy-again.jpg": good,  # the same bytes at another URL: hashed once
        "/unrelated.jpg": jpeg(unrelated),
        "/truncated.jpg": good[: len(good) // 3],
        "/punish.jpg": b"<!DOCTYPE html><html><title>captcha</title></html>",
        "/second.jpg": jpeg(unrelated),
    }


class _Server:
    def __init__(self):
        pictures = dict(_pictures())
        self.pictures = pictures
        self.requested: list[str] = []
        requested = self.requested

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # http.server's API
                requested.append(self.path)
                body = pictures.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _crawl(
    tmp: Path, items: list[dict], settings: dict, registry: bool = True, spider_registry: str = "",
    store: Path | None = None, preexec_fn=None,
) -> tuple[list[dict], dict]:
    """Crawl ``items`` in a subprocess; its log is left in ``tmp/log.txt``."""
    reg_dir = tmp / "registry"
    reg_dir.mkdir(exist_ok=True)
    (reg_dir / "images").mkdir(exist_ok=True)
    registered = reg_dir / "images" / "trail_jacket_1.jpg"
    registered.write_bytes(_pictures()["registered"])
    cfg = {
        "items": items,
        "settings": {"IMAGES_STORE": str(store or tmp / "store"), **settings},
        "out": str(tmp / "out.jsonl"),
        "stats": str(tmp / "stats.json"),
        "registry_dir": str(reg_dir),
        "registry_images": [str(registered)] if registry else [],
        "spider_registry": spider_registry,
    }
    (tmp / "cfg.json").write_text(json.dumps(cfg))
    (tmp / "runner.py").write_text(RUNNER)
    proc = subprocess.run(
        [sys.executable, str(tmp / "runner.py"), str(tmp / "cfg.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, preexec_fn=preexec_fn,
    )  # fmt: skip
    (tmp / "log.txt").write_text(proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp / "out.jsonl").read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["listing_id"]), json.loads((tmp / "stats.json").read_text())


@pytest.fixture(scope="module")
def local_crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    with _Server() as server:
        items = [
            {"listing_id": "1-copy", "image_urls": [server.url("/copy.jpg"), server.url("/second.jpg")]},
            {"listing_id": "2-truncated", "image_urls": [server.url("/truncated.jpg")]},
            {"listing_id": "3-html", "image_urls": [server.url("/punish.jpg")]},
            {"listing_id": "4-foreign", "image_urls": ["http://evil.example.com/x.jpg"]},
            {"listing_id": "5-unrelated", "image_urls": [server.url("/unrelated.jpg")]},
            {"listing_id": "6-same-bytes", "image_urls": [server.url("/copy-again.jpg")]},
        ]
        settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}
        rows, stats = _crawl(tmp, items, settings)
        return rows, stats, list(server.requested), tmp / "store"


def test_images_field_has_scrapy_layout_url_path_checksum_phash(local_crawl):
    rows, _, _, store = local_crawl
    images = rows[0]["images"]
    assert len(images) == 1
    entry = images[0]
    assert set(entry) == {"url", "path", "checksum", "phash"}
    assert entry["url"].endswith("/copy.jpg")
    assert entry["path"].startswith("full/") and entry["path"].endswith(".jpg")
    assert (store / entry["path"]).read_bytes() == _pictures()["/copy.jpg"]  # the original bytes
    assert len(entry["checksum"]) == 32 and len(entry["phash"]) == 16


def test_only_images_per_listing_images_are_fetched_main_image_first(local_crawl):
    _, _, requested, _ = local_crawl
    assert "/copy.jpg" in requested
    assert "/second.jpg" not in requested


def test_copied_official_photo_sets_image_hit_for_the_scorer(local_crawl):
    rows, stats, _, _ = local_crawl
    hit = rows[0]["image_hit"]
    assert hit["product_id"] == "trail-jacket"
    assert hit["registered_image"] == "images/trail_jacket_1.jpg"
    assert hit["confident"] is True
    assert hit["listing_image_path"] == rows[0]["images"][0]["path"]
    assert stats["images/matched"] >= 2  # the copy and the same bytes at another URL


def test_unrelated_image_gives_no_image_hit(local_crawl):
    rows, _, _, _ = local_crawl
    row = next(r for r in rows if r["listing_id"] == "5-unrelated")
    assert row["images"] and row["image_hit"] is None


def test_corrupt_and_html_images_are_counted_and_the_listing_is_kept(local_crawl):
    rows, stats, _, _ = local_crawl
    ids = [r["listing_id"] for r in rows]
    assert "2-truncated" in ids and "3-html" in ids
    for r in rows:
        if r["listing_id"] in ("2-truncated", "3-html"):
            assert r["images"] == []
    assert stats["images/corrupt"] == 2


def test_image_on_a_host_outside_the_allow_list_is_never_requested(local_crawl):
    rows, stats, requested, _ = local_crawl
    assert stats["images/refused_host"] == 1
    assert not any("evil" in p for p in requested)
    assert any(r["listing_id"] == "4-foreign" for r in rows)


def test_the_same_image_bytes_are_hashed_once(local_crawl):
    _, stats, _, _ = local_crawl
    assert stats["images/hash_cache_hit"] >= 1
    assert stats["images/hashed"] == 2  # the copy and the unrelated image; the repost came from the cache


def test_live_mode_refuses_allowed_hosts_that_resolve_to_loopback(tmp_path):
    with _Server() as server:
        items = [
            {"listing_id": "1", "image_urls": [server.url("/copy.jpg")]},
            {"listing_id": "2", "image_urls": [f"http://localhost:{server.port}/copy.jpg"]},
        ]
        settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1", "localhost"]}
        rows, stats = _crawl(tmp_path, items, settings, registry=False)
        assert server.requested == []
    assert stats["images/refused_private_address"] == 2
    assert [r["images"] for r in rows] == [[], []]


def test_replay_mode_does_not_resolve_hosts(tmp_path):
    with _Server() as server:
        items = [{"listing_id": "1", "image_urls": [server.url("/copy.jpg")]}]
        settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "REPLAY_DIR": str(tmp_path / "cassettes")}
        rows, stats = _crawl(tmp_path, items, settings, registry=False)
        assert server.requested == ["/copy.jpg"]
    assert "images/refused_private_address" not in stats
    assert len(rows[0]["images"]) == 1


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("img.alicdn.com", True),
        ("g-search2.alicdn.com", True),
        ("cbu01.alicdn.com", True),
        ("s.alicdn.com", True),
        ("alicdn.com", True),
        ("IMG.ALICDN.COM", True),
        ("alicdn.com.evil.example", False),
        ("evilalicdn.com", False),
        ("example.com", False),
    ],
)
def test_default_allow_list_is_the_platforms_image_cdn(host, allowed):
    assert host_allowed(host, ("*.alicdn.com",)) is allowed


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False),
        ("47.246.136.1", True),
        ("2400:3200::1", True),
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address, public):
    assert is_public_address(address) is public


def test_registry_given_as_a_path_on_the_spider_is_loaded_and_matched(tmp_path):
    demo = ROOT / "fixtures" / "registry" / "demo.yaml"
    photo = np.asarray(Image.open(demo.parent / "images" / "summit_pack_1.jpg").convert("RGB"))
    copy = io.BytesIO()
    Image.fromarray(t_pad_white(photo, np.random.default_rng(2), build_corpus())).save(
        copy, "JPEG", quality=80
    )
    with _Server() as server:
        server.pictures["/pack.jpg"] = copy.getvalue()
        items = [{"listing_id": "1", "image_urls": [server.url("/pack.jpg")]}]
        settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}
        rows, stats = _crawl(tmp_path, items, settings, registry=False, spider_registry=str(demo))
    hit = rows[0]["image_hit"]
    assert (hit["product_id"], hit["registered_image"]) == ("summit-pack", "images/summit_pack_1.jpg")
    assert stats["images/matched"] == 1


def test_an_image_over_image_max_bytes_is_not_downloaded_and_the_listing_is_kept(tmp_path):
    with _Server() as server:
        items = [{"listing_id": "1", "image_urls": [server.url("/copy.jpg")]}]
        settings = {
            "IMAGE_ALLOWED_HOSTS": ["127.0.0.1"],
            "IMAGE_ALLOW_PRIVATE_ADDRESSES": True,
            "IMAGE_MAX_BYTES": 2_000,
        }
        rows, stats = _crawl(tmp_path, items, settings, registry=False)
    assert len(_pictures()["/copy.jpg"]) > 2_000
    assert rows[0]["images"] == []
    assert stats["images/download_failed"] == 1
    assert "images/hashed" not in stats
