"""Downloader middlewares.

Order (process_response runs from the highest number down):
  620 HttpCompressionMiddleware  (moved up from 590 so that the block check sees decoded bodies)
  610 BlockMiddleware            (sees raw 302s before RedirectMiddleware follows them to a login page)
  600 RedirectMiddleware
  550 RetryMiddleware
"""

from __future__ import annotations

import asyncio
import logging
import random
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest

from crawlers.blocks import classify_block

logger = logging.getLogger(__name__)


class Blocked(IgnoreRequest):
    """The platform refused this request and retries did not help; it yields no listings."""


class BlockMiddleware:
    """Detects blocks, counts them as ``blocked/<platform>``, retries with back-off, then gives up.

    Back-off before retry *n* is ``BLOCK_BACKOFF_BASE * 2**n`` seconds (jittered, capped by
    ``BLOCK_BACKOFF_MAX``); ``BLOCK_RETRY_TIMES`` retries at most. A ``deny`` block (no slider) is
    final at once. Giving up is one clear log line; the request then fails with ``Blocked`` so a
    block can never be parsed as "no results".
    """

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.retry_times = settings.getint("BLOCK_RETRY_TIMES", 2)
        self.backoff_base = settings.getfloat("BLOCK_BACKOFF_BASE", 20.0)
        self.backoff_max = settings.getfloat("BLOCK_BACKOFF_MAX", 600.0)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _platform(self, request) -> str:
        spider = self.crawler.spider
        return request.meta.get("platform") or getattr(spider, "platform", None) or spider.name

    async def process_response(self, request, response):
        if request.meta.get("skip_block_check"):
            return response
        block = classify_block(response)
        if block is None:
            self._refuse_redirect_loop(request, response)
            return response
        platform = self._platform(request)
        self.stats.inc_value(f"blocked/{platform}")
        self.stats.inc_value(f"blocked/{platform}/{block.kind}")
        attempt = request.meta.get("block_retry_times", 0)
        where = _where(request)
        if block.final or attempt >= self.retry_times:
            self.stats.inc_value(f"blocked/{platform}/gave_up")
            logger.error("blocked on %s%s: %s; gave up after %d retries; no listings from it. URL: %s",
                         platform, where, block, attempt, request.url[:300])
            raise Blocked(f"blocked ({block}): {request.url}")
        delay = min(self.backoff_max, self.backoff_base * (2 ** attempt)) * random.uniform(0.8, 1.2)
        logger.warning("blocked on %s%s: %s; retry %d/%d in %.0f s", platform, where, block, attempt + 1,
                       self.retry_times, delay)
        if delay > 0:
            await asyncio.sleep(delay)
        original = request
        if request.meta.get("redirect_urls"):
            # blocked after a redirect (e.g. to the homepage): ask for what we wanted, not where we landed
            meta = {k: v for k, v in request.meta.items()
                    if k not in ("redirect_urls", "redirect_reasons", "redirect_times", "redirect_ttl")}
            original = request.replace(url=request.meta["redirect_urls"][0], meta=meta)
        retry = get_retry_request(original, spider=self.crawler.spider, reason=f"blocked:{block.kind}",
                                  max_retry_times=self.retry_times + 1, stats_base_key="blocked_retry")
        if retry is None:
            raise Blocked(f"blocked ({block}): {request.url}")
        retry.meta["block_retry_times"] = attempt + 1
        return retry

    def _refuse_redirect_loop(self, request, response) -> None:
        """A redirect back to a URL this request already visited: the dupe filter would drop it silently."""
        location = _header_text(response, "Location") if 300 <= response.status < 400 else ""
        if not location or request.dont_filter:
            return
        target = urljoin(request.url, location)
        if target == request.url or target in request.meta.get("redirect_urls", ()):
            self.stats.inc_value("redirect/loop")
            logger.error("redirect loop%s: %s leads back to %s; no listings from it", _where(request),
                         request.url[:300], target[:300])
            raise IgnoreRequest(f"redirect loop: {request.url[:300]} leads back to {target[:300]}")


def _header_text(response, name: str) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else ""


def _where(request) -> str:
    query = request.meta.get("query")
    return f" (query {query!r} page {request.meta.get('page', 1)})" if query else ""
