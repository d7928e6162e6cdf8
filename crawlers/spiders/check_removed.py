"""Confirms that listings complained about and not found again were really taken down.

Fetches each listing's detail URL without following redirects and reads the platform's removal
signs (``crawlers/removed.yaml``): Taobao/Tmall redirect a removed item to
``error.item.taobao.com/error/noitem``. Outcomes: ``removed``, ``online`` or ``unknown`` (blocked,
failed, or no sign either way); only ``removed`` changes a complaint's status.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import scrapy
import yaml

from crawlers.blocks import classify_block


@lru_cache(maxsize=1)
def removal_signs() -> dict:
    return yaml.safe_load(Path(__file__).resolve().parents[1].joinpath("removed.yaml").read_text(encoding="utf-8"))


def removal_outcome(platform: str, status: int, url: str, location: str, body: bytes) -> str:
    signs = removal_signs().get(platform, {})
    target = f"{location} {url}"
    if any(marker in target for marker in signs.get("url_markers", [])):
        return "removed"
    if status in signs.get("statuses", []):
        return "removed"
    text = body[:200_000].decode("utf-8", errors="replace")
    if any(marker in text for marker in signs.get("body_markers", [])):
        return "removed"
    if 200 <= status < 300:
        return "online"
    return "unknown"


class CheckRemovedSpider(scrapy.Spider):
    name = "check_removed"
    custom_settings: ClassVar[dict] = {"ITEM_PIPELINES": {}}

    def __init__(self, listings: str | list | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(listings, str):
            listings = json.loads(Path(listings).read_text(encoding="utf-8"))
        self.to_check = listings or []
        self.outcomes: dict[tuple[str, str], str] = {}

    async def start(self):
        for listing in self.to_check:
            key = (listing["platform"], listing["listing_id"])
            self.outcomes[key] = "unknown"
            yield scrapy.Request(
                listing["url"], callback=self.parse_detail, errback=self.failed, dont_filter=True,
                meta={"dont_redirect": True, "handle_httpstatus_all": True, "skip_block_check": True,
                      "platform": listing["platform"], "listing_id": listing["listing_id"]})

    def parse_detail(self, response):
        platform, listing_id = response.meta["platform"], response.meta["listing_id"]
        block = classify_block(response)
        location = (response.headers.get("Location") or b"").decode("latin-1")
        if block is not None and not any(m in location for m in removal_signs().get(platform, {}).get("url_markers", [])):
            outcome = "unknown"
            self.crawler.stats.inc_value(f"blocked/{platform}")
        else:
            outcome = removal_outcome(platform, response.status, response.url, location, response.body)
        self.outcomes[(platform, listing_id)] = outcome
        self.crawler.stats.inc_value(f"check_removed/{outcome}")
        self.logger.info("%s %s: %s", platform, listing_id, outcome)

    def failed(self, failure):
        meta = failure.request.meta
        self.outcomes[(meta["platform"], meta["listing_id"])] = "unknown"
        self.crawler.stats.inc_value("check_removed/unknown")
        self.logger.warning("could not check %s: %s", failure.request.url, failure.getErrorMessage())
