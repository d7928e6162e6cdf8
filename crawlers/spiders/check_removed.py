"""Confirms that listings complained about and not found again were really taken down.

Fetches each listing's detail URL without following redirects and reads the platform's removal
signs (``contract/removed.yaml``, the one removal rule): Taobao/Tmall redirect a removed item to
``error.item.taobao.com/error/noitem``. Outcomes: ``removed``, ``online`` or ``unknown`` (blocked,
failed, or no sign either way); only ``removed`` changes a complaint's status.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import scrapy

from contract import is_removed_url, removal_outcome
from contract import stats as keys
from crawlers.blocks import classify_block


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
        if block is not None and not is_removed_url(location, platform):
            outcome = "unknown"
            self.crawler.stats.inc_value(keys.blocked(platform))
        else:
            outcome = removal_outcome(platform, response.status, response.url, location, response.body)
        self.outcomes[(platform, listing_id)] = outcome
        self.crawler.stats.inc_value(keys.check_removed(outcome))
        self.logger.info("%s %s: %s", platform, listing_id, outcome)

    def failed(self, failure):
        meta = failure.request.meta
        self.outcomes[(meta["platform"], meta["listing_id"])] = "unknown"
        self.crawler.stats.inc_value(keys.check_removed("unknown"))
        self.logger.warning("could not check %s: %s", failure.request.url, failure.getErrorMessage())
