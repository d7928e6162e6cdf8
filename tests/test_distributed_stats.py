"""A worker's counters (pages, blocks, errors) reach the coordinator as the worker goes, so a worker killed with
SIGKILL still counts in the run's stats and summary.json (RELIABILITY.md, "Workers' stats"). Here, how the
published counters add up, on a real Redis (tests/services.py). The SIGKILL itself, with real `scrapy monitor`
and `scrapy worker` processes, is in the one distributed run of tests/test_distributed.py
(``test_two_workers_one_killed_midway_store_every_listing_once_with_single_process_scores``), which also
checks that the killed worker's pages are in summary.json."""

from __future__ import annotations

import pytest

from crawlers.distributed import Coordinator, publish_stats
from tests.services import redis_server, redis_url  # noqa: F401  (fixtures)


@pytest.mark.services
def test_stats_published_again_and_again_add_up_to_the_workers_totals_once(redis_url):  # noqa: F811
    import redis

    server = redis.Redis.from_url(redis_url)
    published: dict = {}
    published = publish_stats(server, "r1", "taobao", {"search/pages": 2, "finish_reason": "x"}, published,
                              worker="w1")
    published = publish_stats(server, "r1", "taobao", {"search/pages": 5, "blocked/taobao": 1}, published,
                              worker="w1")
    publish_stats(server, "r1", "taobao", {"search/pages": 3}, {}, worker="w2")  # another worker
    coordinator = Coordinator(redis_url, "r1")
    coordinator.spiders = ["taobao"]
    stats = coordinator.stats()["taobao"]
    assert (stats["search/pages"], stats["blocked/taobao"]) == (8, 1)
    assert stats["workers/unfinished"] == 2  # published, never closed: killed, or still running
    publish_stats(server, "r1", "taobao", {"search/pages": 5, "blocked/taobao": 1}, published, worker="w1",
                  reason="finished")
    stats = coordinator.stats()["taobao"]
    assert (stats["search/pages"], stats["workers/finished"], stats["workers/unfinished"]) == (8, 1, 1)
