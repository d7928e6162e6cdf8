"""A worker crawl that records, at each acknowledgement, what was finished for that request.

    python -m tests.completion_probe REDIS_URL OUT.json [--without-middleware]

Run by tests/test_distributed_completion.py in its own process (one Twisted reactor per process). It
serves pages from a loopback HTTP server, seeds one request per way a response can end into a real
leased queue in Redis, and crawls them with the real worker scheduler, completion middleware and
worker store pipeline (no store). A slow asynchronous pipeline records when each item has left it;
a ``store_flush`` receiver (sent just before each ack) records, for the request being acked, how many
of its items had left the pipelines and whether the request it yielded was already in Redis.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import DropItem

from crawlers.distributed import LeasedQueue, WorkerSpiderMixin, queue_key, store_flush, worker_settings
from tests.services import HOST, free_port

RUN_ID = "completion-probe"
FINISHED: dict[str, int] = defaultdict(int)  # page url -> items of it that left the pipelines
ACKS: list[dict] = []


class Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 404 if self.path.startswith("/missing") else 200
        body = f"<html><body>{self.path}</body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class ProbeSpider(WorkerSpiderMixin, scrapy.Spider):
    name = "probe"

    def parse_page(self, response):
        for n in range(3):  # one kept, one dropped, one failing in the pipeline
            yield {"page": response.url, "n": n}
        yield response.follow("/leaf", callback=self.parse_leaf, meta=dict(response.meta))  # meta copied in

    def parse_leaf(self, response):
        yield {"page": response.url, "n": 0}

    def parse_unqueueable(self, response):
        yield {"page": response.url, "n": 0}
        yield scrapy.Request(response.urljoin("/never"), callback=lambda r: None)  # cannot be serialised

    def parse_raises_first(self, response):
        raise ValueError("callback fails before yielding anything")

    def parse_raises_midway(self, response):
        yield {"page": response.url, "n": 0}
        raise ValueError("callback fails after one item")

    def failed(self, failure):
        yield {"page": failure.request.url, "n": 0, "failure": failure.type.__name__}


class SlowPipeline:
    """Asynchronous and slow: an ack that does not wait for the pipelines is caught out."""

    async def process_item(self, item, spider=None):
        await asyncio.sleep(0.3)
        FINISHED[item["page"]] += 1
        if item["n"] == 1:
            raise DropItem("dropped on purpose")
        if item["n"] == 2:
            raise RuntimeError("pipeline fails on purpose")
        return item


def seeds(spider: ProbeSpider, base: str, refused: str) -> list[scrapy.Request]:
    return [
        scrapy.Request(f"{base}/page", callback=spider.parse_page),
        scrapy.Request(f"{base}/first", callback=spider.parse_raises_first),
        scrapy.Request(f"{base}/unqueueable", callback=spider.parse_unqueueable),
        scrapy.Request(f"{base}/midway", callback=spider.parse_raises_midway),
        scrapy.Request(f"{base}/missing-errback", callback=spider.parse_leaf, errback=spider.failed),
        scrapy.Request(f"{base}/missing-bare", callback=spider.parse_leaf),
        scrapy.Request(f"{refused}/refused-errback", callback=spider.parse_leaf, errback=spider.failed),
        scrapy.Request(f"{refused}/refused-bare", callback=spider.parse_leaf),
    ]


def main(argv: list[str]) -> int:
    redis_url, out = argv[0], Path(argv[1])
    server = ThreadingHTTPServer((HOST, 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base, refused = f"http://{HOST}:{server.server_address[1]}", f"http://{HOST}:{free_port()}"
    connection = redis.Redis.from_url(redis_url)
    queue = LeasedQueue(connection, ProbeSpider(), queue_key(RUN_ID, ProbeSpider.name), worker="seeder")
    for request in seeds(ProbeSpider(), base, refused):
        queue.push(request)
    settings = worker_settings(RUN_ID, redis_url, {"tests.completion_probe.SlowPipeline": 100},
                               {"scrapy.spidermiddlewares.referer.RefererMiddleware": 700})
    if "--without-middleware" in argv:
        settings["SPIDER_MIDDLEWARES"] = {}
    settings.update({"STORE_URL": "", "MAX_IDLE_TIME_BEFORE_CLOSE": 1, "RETRY_ENABLED": False,
                     "CLOSESPIDER_TIMEOUT": 60, "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
                     "LOG_LEVEL": "INFO",
                     "CONCURRENT_ITEMS": 4})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ProbeSpider)

    def on_flush(work_id: str, url: str) -> None:
        queued = [pickle.loads(data)["url"] for data in connection.hvals(queue.keys[1])]
        ACKS.append({"url": url, "items_finished": FINISHED[url], "queued": queued})

    crawler.signals.connect(on_flush, signal=store_flush, weak=False)
    process.crawl(crawler)
    process.start()
    out.write_text(json.dumps({"acks": ACKS, "stats": {k: v for k, v in crawler.stats.get_stats().items()
                                                        if isinstance(v, int)},
                               "finish_reason": crawler.stats.get_value("finish_reason"),
                               "outstanding": queue.outstanding(), "base": base, "refused": refused}))
    server.shutdown()
    return 0


if __name__ == "__main__":
    # run the module Scrapy loads the pipeline from, not a second copy of it named __main__
    from tests.completion_probe import main as probe_main

    sys.exit(probe_main(sys.argv[1:]))
