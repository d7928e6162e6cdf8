"""Real Scrapy crawls of the image stages (download and hash, then match) against a local HTTP server on
127.0.0.1: the runner, the server and its pictures, shared by the image pipelines' tests."""

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
from PIL import Image

from bench.image_corpus import t_pad_white
from tests.image_support import shared_corpus

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
            yield scrapy.Request("data:,", callback=self.listings)

        def listings(self, response):
            # from a page's callback, as a platform spider yields them: the engine sees the crawl idle as soon as
            # the last item's pictures are done (items yielded by start() wait for its 5 s idle heartbeat)
            yield from cfg["items"]

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


def crawl_images(
    tmp: Path, items: list[dict], settings: dict, registry: bool = True, spider_registry: str = "",
    store: Path | None = None, preexec_fn=None, pipelines: dict | None = None,
) -> tuple[list[dict], dict]:
    """Crawl ``items`` in a subprocess; its log is left in ``tmp/log.txt``."""
    reg_dir = tmp / "holder-registry"  # a "registry" folder beside runner.py would shadow the package
    reg_dir.mkdir(exist_ok=True)
    (reg_dir / "images").mkdir(exist_ok=True)
    registered = reg_dir / "images" / "trail_jacket_1.jpg"
    registered.write_bytes(picture_bytes()["registered"])
    cfg = {
        "items": items,
        "settings": {"IMAGES_STORE": str(store or tmp / "store"), **settings},
        "out": str(tmp / "out.jsonl"),
        "stats": str(tmp / "stats.json"),
        "registry_dir": str(reg_dir),
        "registry_images": [str(registered)] if registry else [],
        "spider_registry": spider_registry,
        "pipelines": pipelines,
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


_LOCAL_CRAWL: dict = {}


def local_crawl_once(tmp_path_factory) -> tuple:
    """(rows, stats, requested paths, images folder) of one crawl of every kind of picture, made once per
    test process and shared by the download and the matching tests."""
    if "result" not in _LOCAL_CRAWL:
        _LOCAL_CRAWL["result"] = _local_crawl(tmp_path_factory.mktemp("crawl"))
    return _LOCAL_CRAWL["result"]


def _local_crawl(tmp: Path) -> tuple:
    with PictureServer() as server:
        items = [
            {"listing_id": "1-copy", "image_urls": [server.url("/copy.jpg"), server.url("/second.jpg")]},
            {"listing_id": "2-truncated", "image_urls": [server.url("/truncated.jpg")]},
            {"listing_id": "3-html", "image_urls": [server.url("/punish.jpg")]},
            {"listing_id": "4-foreign", "image_urls": ["http://evil.example.com/x.jpg"]},
            {"listing_id": "5-unrelated", "image_urls": [server.url("/unrelated.jpg")]},
            {"listing_id": "6-same-bytes", "image_urls": [server.url("/copy-again.jpg")]},
        ]
        settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}
        rows, stats = crawl_images(tmp, items, settings)
        return rows, stats, list(server.requested), tmp / "store"


