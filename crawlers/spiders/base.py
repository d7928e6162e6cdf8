"""Spider bases, one per data shape. A platform's spider only says what to fetch and which page
object reads it; the bookkeeping every platform needs lives here:

- queries from ``-a query=a|b`` or from a registry's watch list (``-a registry=PATH`` or the
  ``REGISTRY_PATH`` setting), and ``-a pages=N`` (default: the registry's ``watch.pages``, else 1);
- pagination bounded by ``pages`` and by the platform's own total;
- stats: ``search/pages``, ``search/listings``, ``search/no_results``, ``search/failed``,
  ``format/unrecognized`` (the body is saved to FORMAT_DIAG_DIR), ``item/malformed``, ``ads/dropped``;
- the mtop token dance for the mtop-based platforms (``MtopSearchSpider``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import scrapy
from scrapy.exceptions import UsageError

from contract import stats as keys
from crawlers.items import Listing
from crawlers.mtop import TOKEN_ERRORS, MalformedReply, MtopClient, read_reply
from crawlers.normalize import utc_now
from crawlers.platforms.common import SearchPage

logger = logging.getLogger(__name__)

TOKEN_RETRIES = 2


def response_text(response) -> str:
    text = getattr(response, "text", None)
    if text is not None:
        return text
    return response.body.decode("utf-8", errors="replace")


class SearchSpider(scrapy.Spider):
    """Searches a platform for each query, page by page, and yields listings."""

    platform: str = ""
    default_source: str = "api"

    def __init__(self, query: str | None = None, pages: str | int | None = None, registry: str | None = None,
                 source: str | None = None, render: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.platform = self.platform or self.name
        self.registry_path = registry
        self.queries = [q.strip() for q in (query or "").split("|") if q.strip()]
        self._pages_arg = pages
        self.source = source or self.default_source
        self.render = str(render or "").lower() in ("1", "true", "yes")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        from registry import path_from_settings

        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.registry_path = path_from_settings(crawler.settings, spider)
        spider._configure()
        return spider

    def _configure(self) -> None:
        watch_pages = None
        if self.registry_path and not self.queries:
            from registry import load_registry  # RegistryError propagates: bad input, nothing crawled

            registry = load_registry(self.registry_path)
            self.queries = registry.search_queries()
            watch_pages = registry.watch.pages
        if not self.queries:
            raise UsageError(f"{self.name}: give -a query=WORDS (several separated by |) or -a registry=PATH")
        try:
            self.pages = int(self._pages_arg) if self._pages_arg is not None else (watch_pages or 1)
        except ValueError:
            raise UsageError(f"{self.name}: pages must be a whole number, not {self._pages_arg!r}") from None
        if self.pages < 1:
            raise UsageError(f"{self.name}: pages must be at least 1")

    async def start(self):
        for query in self.queries:
            yield self.search_request(query, 1, {})

    # --- what a platform says -------------------------------------------------------------
    # The two hooks every platform spider defines (a base with no platform has nothing to fetch).
    def search_request(self, query: str, page: int, state: dict) -> scrapy.Request:
        raise NotImplementedError(f"{type(self).__name__} must say how to request page {page} of a search")

    def read_page(self, response) -> SearchPage:
        raise NotImplementedError(f"{type(self).__name__} must name the page object that reads its results")

    # --- shared bookkeeping ---------------------------------------------------------------
    def search_meta(self, query: str, page: int) -> dict:
        return {"query": query, "page": page, "platform": self.platform}

    def parse_search(self, response):
        query, page_no = response.meta["query"], response.meta["page"]
        stats = self.crawler.stats
        page = self.read_page(response)
        stats.inc_value(keys.SEARCH_PAGES)
        for error in page.item_errors:  # counted on an unrecognized page too: they say what changed
            stats.inc_value("item/malformed")
            logger.warning("%s: skipped a malformed item on %s: %s", self.platform, response.url, error)
        if page.kind == "unrecognized":
            self._unrecognized(response, page)
            return
        if page.kind == "no_results":
            stats.inc_value(keys.SEARCH_NO_RESULTS)
            logger.info("%s: no results for %r page %d (%s)", self.platform, query, page_no, page.reason)
            return
        stats.inc_value(f"format/{page.format}")
        if page.ads_dropped:
            stats.inc_value("ads/dropped", page.ads_dropped)
        crawled_at = utc_now()
        for rank, listing in enumerate(page.listings, start=1):
            stats.inc_value(keys.SEARCH_LISTINGS)
            if listing.get("seller_unknown"):
                stats.inc_value(keys.ITEM_SELLER_UNKNOWN)
                logger.info("%s: listing %s does not show its seller; kept with the seller unknown",
                            self.platform, listing["url"])
            yield Listing(**listing, query=query, page=page_no, rank=rank, crawled_at=crawled_at)
        last_page = min(self.pages, page.total_pages or self.pages)
        if page_no < last_page and page.listings:
            yield self.search_request(query, page_no + 1, page.next_state)

    def search_failed(self, failure):
        """A search page that could not be had. Blocks were already logged by BlockMiddleware."""
        from crawlers.middlewares import Blocked

        request = failure.request
        stats = self.crawler.stats
        stats.inc_value(keys.SEARCH_FAILED)
        if failure.check(Blocked):
            stats.inc_value(keys.SEARCH_BLOCKED)
            return
        logger.error("%s: search page failed for query %r page %s: %s. URL: %s", self.platform,
                     request.meta.get("query"), request.meta.get("page"),
                     failure.getErrorMessage() or failure.type.__name__, request.url[:300])

    def _unrecognized(self, response, page: SearchPage) -> None:
        self.crawler.stats.inc_value(keys.FORMAT_UNRECOGNIZED)
        folder = Path(self.crawler.settings.get("FORMAT_DIAG_DIR") or "data/unrecognized")
        saved = ""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha1(response.body).hexdigest()[:10]
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = folder / f"{self.platform}-{stamp}-{digest}.txt"
            path.write_bytes(f"URL: {response.url}\nSTATUS: {response.status}\n\n".encode() + response.body)
            saved = f"; body saved to {path}"
        except OSError as exc:
            saved = f"; could not save the body: {exc}"
        logger.error("%s: unrecognized search page (%s): %s%s", self.platform, page.reason, response.url, saved)


class MtopSearchSpider(SearchSpider):
    """A search served by the mtop gateway: signs calls and does the token dance."""

    mtop_host: str = "h5api.m.taobao.com"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mtop = MtopClient(self.mtop_host)

    def parse_search(self, response):
        if "mtop" in response.meta and token_problem(response):
            yield from self._token_dance(response)
            return
        yield from super().parse_search(response)

    def _token_dance(self, response):
        stats = self.crawler.stats
        attempt = response.meta["mtop"].get("attempt", 0)
        got_token = self.mtop.take_token(response)
        if attempt >= TOKEN_RETRIES:
            stats.inc_value("mtop/token_failed")
            self._token_block(response, attempt)
            return
        stats.inc_value("mtop/token_refresh")
        logger.debug("%s: mtop token %s; signing again", self.platform, "received" if got_token else "missing")
        yield self.mtop.resign(response.request)

    def _token_block(self, response, attempt: int) -> None:
        """Still refused after every re-sign: the gateway will not let us in, which is a block."""
        stats = self.crawler.stats
        platform = response.meta.get("platform") or self.platform
        code = _reply_code(response)
        for key in (keys.blocked(platform), keys.blocked(platform, "mtop"), keys.blocked(platform, "gave_up"),
                    keys.SEARCH_FAILED, keys.SEARCH_BLOCKED):
            stats.inc_value(key)
        query = response.meta.get("query")
        where = f" (query {query!r} page {response.meta.get('page', 1)})" if query else ""
        logger.error("blocked on %s%s: mtop %s; gave up after %d re-signs with a fresh token; no listings from it. "
                     "URL: %s", platform, where, code, attempt, response.url[:300])


# Only a body that names one of these can be a token reply; it is then parsed to be sure.
_TOKEN_SIGNS = tuple(code.encode() for code in TOKEN_ERRORS)


def token_problem(response) -> bool:
    """A token or signing failure in the reply's ``ret``, wherever it sits (not only near the start)."""
    if not any(sign in response.body for sign in _TOKEN_SIGNS):
        return False
    try:
        return read_reply(response_text(response)).token_problem
    except MalformedReply:
        return False


def _reply_code(response) -> str:
    try:
        reply = read_reply(response_text(response))
    except MalformedReply:
        return "(unreadable reply)"
    return f"{reply.code}::{reply.message}" if reply.message else reply.code
