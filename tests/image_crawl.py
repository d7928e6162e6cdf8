"""Real Scrapy crawls of the image stages (download and hash, then match) against local HTTP servers on
127.0.0.1: the runner, the server and its pictures, shared by the image pipelines' tests. A test file's crawls
run side by side in one Scrapy process (``crawl_side_by_side``), each with its own crawler and server."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

from bench.image_corpus import t_pad_white
from tests.conftest import PYTHON
from tests.image_support import shared_corpus

ROOT = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from types import SimpleNamespace

    import scrapy
    from scrapy.crawler import CrawlerProcess

    crawls = json.loads(Path(sys.argv[1]).read_text())

    def spider_for(number, cfg):
        class Listings(scrapy.Spider):
            name = f"listings-{number}"
            custom_settings = {
                "IMAGES_STORE": cfg["store"], **cfg["settings"],
                "ITEM_PIPELINES": cfg.get("pipelines") or {"pipelines.images.ListingImagesPipeline": 100,
                                                           "pipelines.image_match.ImageMatchPipeline": 150},
                "FEEDS": {cfg["out"]: {"format": "jsonlines"}},
            }

            async def start(self):
                yield scrapy.Request("data:,", callback=self.listings, dont_filter=True)

            def listings(self, response):
                # from a page's callback, as a platform spider yields them: the engine sees the crawl idle as
                # soon as the last item's pictures are done (items from start() wait for its 5 s heartbeat)
                yield from cfg["items"]

        if cfg.get("spider_registry"):
            Listings.registry = cfg["spider_registry"]  # as `-a registry=PATH` leaves it
        elif cfg.get("registry_images"):
            Listings.registry = SimpleNamespace(
                path=Path(cfg["registry_dir"]) / "registry.yaml",
                products=(SimpleNamespace(id="trail-jacket", images=tuple(Path(p) for p in cfg["registry_images"])),),
                trademarks=(),
            )
        return Listings

    # one process, one crawler per crawl (its own settings, pipelines, store, feed and stats), as `scrapy
    # monitor` runs its platforms
    process = CrawlerProcess(settings={"LOG_LEVEL": "INFO", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False})
    crawlers = [(process.create_crawler(spider_for(n, cfg)), cfg) for n, cfg in enumerate(crawls)]
    for crawler, _ in crawlers:
        process.crawl(crawler)
    process.start()
    for crawler, cfg in crawlers:
        stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
        Path(cfg["stats"]).write_text(json.dumps(stats))
    """
)


@cache
def picture_bytes() -> dict[str, bytes]:
    corpus = shared_corpus()  # the corpus the index tests build in this process too
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


class PictureServer:
    def __init__(self):
        pictures = dict(picture_bytes())
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


@dataclass
class ImageCrawl:
    """One crawl of ``items`` (each a listing with ``image_urls``) with ``settings``; its store, feed, stats and
    log are kept in ``folder``. ``registry``: the spider carries a registry of one product with one photo (the
    registered picture); ``spider_registry``: the spider carries this path instead, as ``-a registry=PATH``."""

    folder: Path
    items: list[dict]
    settings: dict
    registry: bool = True
    spider_registry: str = ""
    store: Path | None = None
    pipelines: dict | None = None

    def config(self) -> dict:
        reg_dir = self.folder / "holder-registry"  # a "registry" folder beside runner.py would shadow the package
        (reg_dir / "images").mkdir(parents=True, exist_ok=True)
        registered = reg_dir / "images" / "trail_jacket_1.jpg"
        registered.write_bytes(picture_bytes()["registered"])
        return {
            "items": self.items,
            "settings": self.settings,
            "store": str(self.store or self.folder / "store"),
            "out": str(self.folder / "out.jsonl"),
            "stats": str(self.folder / "stats.json"),
            "registry_dir": str(reg_dir),
            "registry_images": [str(registered)] if self.registry else [],
            "spider_registry": self.spider_registry,
            "pipelines": self.pipelines,
        }

    def result(self) -> tuple[list[dict], dict]:
        """(rows sorted by listing id, stats) of the finished crawl."""
        lines = (self.folder / "out.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        return sorted(rows, key=lambda r: r["listing_id"]), json.loads((self.folder / "stats.json").read_text())


def run_crawls(crawls: list[ImageCrawl], preexec_fn=None) -> None:
    """The crawls side by side in one Scrapy subprocess (one crawler each); the process's log is left in each
    crawl's ``log.txt``."""
    runner = crawls[0].folder / "runner.py"
    runner.write_text(RUNNER)
    (crawls[0].folder / "crawls.json").write_text(json.dumps([crawl.config() for crawl in crawls]))
    proc = subprocess.run(
        [PYTHON, str(runner), str(crawls[0].folder / "crawls.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=preexec_fn,
    )  # fmt: skip
    for crawl in crawls:
        (crawl.folder / "log.txt").write_text(proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr[-3000:]


def crawl_images(
    tmp: Path, items: list[dict], settings: dict, registry: bool = True, spider_registry: str = "",
    store: Path | None = None, preexec_fn=None, pipelines: dict | None = None,
) -> tuple[list[dict], dict]:
    """Crawl ``items`` alone in a subprocess; (rows, stats) back, its log left in ``tmp/log.txt``."""
    crawl = ImageCrawl(tmp, items, settings, registry, spider_registry, store, pipelines)
    run_crawls([crawl], preexec_fn)
    return crawl.result()


@dataclass
class CrawlOutcome:
    """A finished crawl against its own picture server: rows, stats, the paths the server was asked for, and
    the crawl's folder (``store/``, ``log.txt``)."""

    rows: list[dict]
    stats: dict
    requested: list[str]
    folder: Path
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def store(self) -> Path:
        return self.folder / "store"

    @property
    def log(self) -> str:
        return (self.folder / "log.txt").read_text(encoding="utf-8")

    def parts(self) -> tuple[list[dict], dict, list[str], Path]:
        """(rows, stats, requested paths, store), as the tests of one crawl unpack it."""
        return self.rows, self.stats, self.requested, self.store


CrawlPlan = Callable[[PictureServer, Path], ImageCrawl]


def crawl_side_by_side(plans: dict[str, CrawlPlan], tmp: Path) -> dict[str, CrawlOutcome]:
    """Each plan given its own picture server and folder, the crawls it returns run in one Scrapy process.

    One process for many crawls costs about what one crawl alone does (most of a crawl's time is starting
    Python and importing Scrapy and the matcher); each crawl still has its own crawler, settings, store, feed
    and stats, and its own server, so what it requested and logged (its URLs carry its server's port) is its
    own.
    """
    servers = {name: PictureServer() for name in plans}
    with contextlib.ExitStack() as running:
        for server in servers.values():
            running.enter_context(server)
        crawls = {name: plan(servers[name], tmp / name) for name, plan in plans.items()}
        for crawl in crawls.values():
            crawl.folder.mkdir(parents=True, exist_ok=True)
        run_crawls(list(crawls.values()))
    return {name: CrawlOutcome(*crawl.result(), list(servers[name].requested), crawl.folder, servers[name].port)
            for name, crawl in crawls.items()}


def every_kind_of_picture(server: PictureServer, folder: Path) -> ImageCrawl:
    """Six listings: a copy of the registered photo (with a second picture), a truncated picture, an HTML page,
    a host outside the allow-list, an unrelated picture, and the copy's bytes at another URL."""
    items = [
        {"listing_id": "1-copy", "image_urls": [server.url("/copy.jpg"), server.url("/second.jpg")]},
        {"listing_id": "2-truncated", "image_urls": [server.url("/truncated.jpg")]},
        {"listing_id": "3-html", "image_urls": [server.url("/punish.jpg")]},
        {"listing_id": "4-foreign", "image_urls": ["http://evil.example.com/x.jpg"]},
        {"listing_id": "5-unrelated", "image_urls": [server.url("/unrelated.jpg")]},
        {"listing_id": "6-same-bytes", "image_urls": [server.url("/copy-again.jpg")]},
    ]
    return ImageCrawl(folder, items, {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True})
