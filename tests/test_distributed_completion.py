"""A worker acknowledges a request only once Scrapy is completely done with it, learnt through public seams
(crawlers/distributed/completion.py). Each way a response can end is crawled for real (loopback HTTP server,
real redis-server, the real worker scheduler) by tests/completion_probe.py in its own process.

These tests are also the check on Scrapy itself: if a Scrapy version routes callback output, errbacks or
item signals differently, a request is acked too early (caught below) or never (the worker does not drain
and the probe ends on its CLOSESPIDER_TIMEOUT), and these tests fail loudly.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import PYTHON, ROOT, scrapy_env
from tests.services import redis_server, redis_url  # noqa: F401  (fixtures)

# page -> (items that must have left the pipelines at its ack, the request it yields)
EXPECTED = {
    "/page": (3, "/leaf"),  # kept, dropped (item_dropped) and failing (item_error) items; a child request
    "/leaf": (1, None),  # the child, yielded with its parent's meta (so its work id) copied in
    "/first": (0, None),  # the callback raises before yielding
    "/unqueueable": (1, None),  # yields a request Redis cannot take (not serialisable): dropped, not redone
    "/midway": (1, None),  # the callback raises after one item
    "/missing-errback": (1, None),  # 404: HttpError, the errback runs inside the spider middlewares
    "/missing-bare": (0, None),  # 404 and no errback
    "/refused-errback": (1, None),  # download failure: the errback runs outside the spider middlewares
    "/refused-bare": (0, None),  # download failure and no errback
}


def _probe(tmp_path, redis_url: str, *flags: str) -> dict:  # noqa: F811
    out = tmp_path / "probe.json"
    done = subprocess.run([PYTHON, "-m", "tests.completion_probe", redis_url, str(out), *flags], cwd=ROOT,
                          env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.is_file(), done.stderr[-3000:]
    result = json.loads(out.read_text())
    result["log"] = done.stderr
    return result


def _path(url: str, result: dict) -> str:
    return url.removeprefix(result["base"]).removeprefix(result["refused"])


@pytest.mark.services
def test_every_request_is_acked_once_after_its_items_left_the_pipelines_and_its_requests_were_queued(
        tmp_path, redis_url):  # noqa: F811
    result = _probe(tmp_path, redis_url)
    assert result["finish_reason"] == "finished", result["log"][-3000:]  # not the probe's timeout: all acked
    assert result["outstanding"] == 0
    acked = {_path(ack["url"], result): ack for ack in result["acks"]}
    assert len(result["acks"]) == len(acked) == len(EXPECTED)
    assert set(acked) == set(EXPECTED)
    assert result["stats"].get("work/unqueueable") == 1 and "/never cannot be queued" in result["log"]
    for path, (items, child) in EXPECTED.items():
        ack = acked[path]
        assert ack["items_finished"] == items, (path, ack)
        if child:
            assert child in [_path(url, result) for url in ack["queued"]], (path, ack)  # pushed before the ack


@pytest.mark.services
def test_a_worker_without_the_completion_middleware_refuses_to_take_work(tmp_path, redis_url):  # noqa: F811
    result = _probe(tmp_path, redis_url, "--without-middleware")
    assert result["finish_reason"] == "unsupported_setup"
    assert result["acks"] == [] and result["outstanding"] == len(EXPECTED) - 1  # the child was never yielded
    assert "CompletionMiddleware is not in SPIDER_MIDDLEWARES" in result["log"]
