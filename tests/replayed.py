"""Recorded search pages read in-process, the way a replayed crawl reads them.

The field tests run here instead of one `scrapy crawl` subprocess each: every body comes from
`fixtures/cassettes/` through the replay library's own loader, is answered as the replay download
handler answers it (status, headers, so the charset is detected the same way), and is read by the
spider's own page object (``read_page``) or its own ``parse_search``. A handful of real crawls stay as
integration tests (``run_crawl`` in conftest) and check that a crawl gives the same listings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.items import Listing
from crawlers.platforms.common import SearchPage
from crawlers.replay.handler import cassette_response
from crawlers.replay.library import load_cassette
from crawlers.spiders.alibaba import AlibabaSpider
from crawlers.spiders.alibaba1688 import Alibaba1688Spider
from crawlers.spiders.base import SearchSpider, token_problem
from crawlers.spiders.taobao import TaobaoSpider
from crawlers.spiders.tmall import TmallSpider
from tests.conftest import CASSETTES, EXPECTED

SPIDERS: dict[str, type[SearchSpider]] = {"taobao": TaobaoSpider, "tmall": TmallSpider, "1688": Alibaba1688Spider,
                                          "alibaba": AlibabaSpider}


def expectations(platform: str, name: str) -> list[tuple[str, str, object]]:
    """(listing id, field, value) for every field `fixtures/expected/<platform>/<name>.json` names."""
    data = json.loads((EXPECTED / platform / f"{name}.json").read_text(encoding="utf-8"))
    return [(listing_id, name, value) for listing_id, fields in data["listings"].items() for name, value in fields.items()]


def expected_query(platform: str, name: str) -> str | None:
    return json.loads((EXPECTED / platform / f"{name}.json").read_text(encoding="utf-8")).get("query")


@lru_cache(maxsize=64)
def _uris(path: Path) -> tuple[str, ...]:
    data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return tuple(interaction["request"]["uri"] for interaction in data["interactions"])


def recorded_responses(platform: str, cassette: str) -> list[Response]:
    """Every response of one cassette, in recorded order, as the replay handler builds it."""
    path = CASSETTES / platform / cassette
    return [cassette_response(Request(uri), recorded)
            for uri, (_, recorded) in zip(_uris(path), load_cassette(path), strict=True)]


@lru_cache(maxsize=64)
def search_pages(platform: str, cassette: str, query: str | None = None) -> tuple[SearchPage, ...]:
    """The result pages of one recorded search, page 1 first, each read by the platform spider's page object.

    A token reply is no page: the spider signs the same call again and reads the answer to that. Read once per
    process (the field tests ask for the same search hundreds of times); callers only read what they get.
    """
    spider = SPIDERS[platform](query=query or "x")
    pages = []
    for response in recorded_responses(platform, cassette):
        if token_problem(response):
            continue
        response.meta.update(spider.search_meta(query, len(pages) + 1))
        pages.append(spider.read_page(response))
    return tuple(pages)


@lru_cache(maxsize=64)
def page_listings(platform: str, cassette: str, query: str | None = None) -> dict[str, dict]:
    """{listing id: listing} of one recorded search with ``query``, ``page`` and ``rank`` as the spider adds them.

    A listing seen twice keeps its first sighting, as the dedupe pipeline does. Read once per process, like
    ``search_pages``.
    """
    by_id: dict[str, dict] = {}
    for number, page in enumerate(search_pages(platform, cassette, query), start=1):
        for rank, listing in enumerate(page.listings, start=1):
            by_id.setdefault(listing["listing_id"], {**listing, "query": query, "page": number, "rank": rank})
    return by_id


@dataclass
class Parsed:
    """What one ``parse_search`` call gave: listings, follow-up requests and the stats it counted."""

    items: list[dict] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def make_spider(platform: str, settings: dict | None = None, **arguments) -> SearchSpider:
    """The platform spider built by a real crawler (stats, settings), as `scrapy crawl` builds it."""
    crawler = get_crawler(SPIDERS[platform], settings)
    crawler.stats.open_spider()
    spider = SPIDERS[platform].from_crawler(crawler, **arguments)
    crawler.spider = spider
    return spider


def parse_recorded(platform: str, cassette: str, query: str, *, index: int = 0, page: int = 1,
                   settings: dict | None = None, **arguments) -> Parsed:
    """The spider's own ``parse_search`` on interaction ``index`` of a cassette, answered for ``query`` page ``page``."""
    spider = make_spider(platform, settings, query=query, **arguments)
    response = recorded_responses(platform, cassette)[index]
    response.meta.update(spider.search_meta(query, page))
    parsed = Parsed()
    for output in spider.parse_search(response):
        if isinstance(output, Listing):
            parsed.items.append(dict(output))
        else:
            parsed.requests.append(output)
    parsed.stats = spider.crawler.stats.get_stats()
    return parsed
