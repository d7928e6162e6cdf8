"""Replay for rendered pages: a real Chromium whose every request is answered from the cassettes.

``ReplayBrowserHandler`` is scrapy-playwright's download handler with its request routing replaced:
the page's document, scripts, XHR/fetch calls and images are all looked up in the same cassette
library as plain requests (same replay keys) and fulfilled from the recording. A browser request
with no recording is aborted, logged and counted (``replay/miss`` and ``replay/browser_aborted``,
plus ``replay/browser_aborted/<resource type>``); fulfilled ones count as ``replay/hit`` and
``replay/browser_fulfilled``. Nothing reaches the network:

- page routes (``page.route("**")``, set by scrapy-playwright before navigating) fulfil or abort
  every request of the page, frames included;
- a context route aborts anything else the context would send; service workers are blocked and
  WebSockets are refused, since routes would not see their traffic;
- Chromium itself talks to the network outside any page (navigation preconnects, and with Debian's
  build update.googleapis.com, accounts.google.com, the network-time service): no route sees that,
  so the replay browser is launched with ``--host-resolver-rules=MAP * ~NOTFOUND``: no host name
  resolves, no DNS query is sent, no connection can be made;
- a proxy, or a remote browser (``PLAYWRIGHT_CDP_URL`` / ``PLAYWRIGHT_CONNECT_URL``), is never used in replay.

The replay add-on sets ``REPLAY_BROWSER_HANDLER`` to this class when ``REPLAY_DIR`` is set;
``ReplayDownloadHandler`` builds it with its own library on the first ``meta["playwright"]`` request.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from contract.stats import REPLAY_MISS
from crawlers.replay.handler import ReplayMiss, open_library
from crawlers.replay.keys import request_key
from crawlers.spiders.render import chromium_launch_options

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawlers.replay.library import CassetteLibrary

logger = logging.getLogger(__name__)

# Nothing the browser does outside a routed page can resolve a host name, so nothing can connect.
NO_NAME_RESOLUTION = "--host-resolver-rules=MAP * ~NOTFOUND"

# The body we fulfil with is complete and decoded: these recorded headers no longer describe it.
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


def fulfil_headers(recorded_headers) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in recorded_headers:
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered in headers:
            headers[lowered] += ("\n" if lowered == "set-cookie" else ", ") + value
        else:
            headers[lowered] = value
    return headers


def replay_launch_options(settings) -> dict:
    """The live launch options, without a proxy and with host-name resolution switched off."""
    options = chromium_launch_options(settings)
    if options.pop("proxy", None):
        logger.warning("replay: PLAYWRIGHT_LAUNCH_OPTIONS proxy ignored; the replay browser never connects anywhere")
    args = [arg for arg in options.get("args", []) if not arg.startswith("--host-resolver-rules")]
    options["args"] = [*args, NO_NAME_RESOLUTION]
    return options


class ReplayBrowserHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, with every browser request served from a ``CassetteLibrary``."""

    def __init__(self, crawler: Crawler, library: CassetteLibrary):
        super().__init__(crawler)
        self.library = library
        self._recorded_keys = frozenset(library.keys())
        # replay never talks to a remote browser, and launches Debian's chromium like live mode
        self.config.cdp_url = self.config.connect_url = None
        self.config.launch_options = replay_launch_options(crawler.settings)
        self._launch_lock = asyncio.Lock()
        self._launched = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, library: CassetteLibrary | None = None) -> ReplayBrowserHandler:
        if library is None:
            library = open_library(crawler.settings["REPLAY_DIR"],
                                   allow_repeats=crawler.settings.getbool("REPLAY_ALLOW_REPEATS", True))
        return cls(crawler, library)

    async def download_request(self, request: Request) -> Response:
        content_type = request.headers.get("Content-Type")
        key = request_key(request.method, request.url, request.body,
                          content_type.decode("latin-1") if content_type else None)
        if key not in self._recorded_keys:
            # the page itself was never recorded: fail this request only, without starting a browser
            self.stats.inc_value(REPLAY_MISS)
            logger.warning("replay miss: no recording for %s (key: %s)", request.url, key)
            raise ReplayMiss(f"replay miss: no recording for {request.url}")
        if not request.meta.get("playwright"):
            raise ReplayMiss(f"the replay browser only serves meta['playwright'] requests: {request.url}")
        await self._launch()  # built lazily by ReplayDownloadHandler, after engine_started has fired
        return await super().download_request(request)

    async def _launch(self) -> None:
        async with self._launch_lock:  # once, whether engine_started or the first request comes first
            if not self._launched:
                await super()._launch()
                self._launched = True

    async def _create_browser_context(self, name, context_kwargs, spider=None):
        context_kwargs = {**(context_kwargs or {}), "service_workers": "block"}
        wrapper = await super()._create_browser_context(name, context_kwargs, spider)
        await wrapper.context.route("**/*", self._abort_unrouted)
        await wrapper.context.route_web_socket("**/*", self._refuse_websocket)
        return wrapper

    def _miss(self, method: str, url: str, resource_type: str) -> None:
        self.stats.inc_value(REPLAY_MISS)
        self.stats.inc_value("replay/browser_aborted")
        self.stats.inc_value(f"replay/browser_aborted/{resource_type}")
        logger.warning("replay miss (browser %s): no recording for %s %s; aborted", resource_type, method, url)

    async def _abort_unrouted(self, route, playwright_request) -> None:
        self._miss(playwright_request.method, playwright_request.url, playwright_request.resource_type)
        await route.abort("blockedbyclient")

    async def _refuse_websocket(self, websocket) -> None:
        self._miss("GET", websocket.url, "websocket")
        await websocket.close(code=1008, reason="replay: WebSockets are not recorded")

    def _make_request_handler(self, context_name, method, url, headers, body, encoding, spider,
                              initial_request_done):
        async def replay_route(route, playwright_request) -> None:
            if self.abort_request:  # PLAYWRIGHT_ABORT_REQUEST is honoured as in live mode
                should_abort = self.abort_request(playwright_request)
                if inspect.isawaitable(should_abort):
                    should_abort = await should_abort
                if should_abort:
                    self.stats.inc_value("playwright/request_count/aborted")
                    await route.abort()
                    return
            initial = (playwright_request.url.rstrip("/") == url.rstrip("/")
                       and playwright_request.is_navigation_request() and not initial_request_done.is_set())
            if initial:
                # the Scrapy request decides method and body (the browser always navigates with GET)
                initial_request_done.set()
                content_type = headers.get("Content-Type")
                req_method, req_body = method, body
                req_type = content_type.decode("latin-1") if content_type else None
            else:
                req_method, req_body = playwright_request.method, playwright_request.post_data_buffer
                req_type = await playwright_request.header_value("content-type")
            recorded = self.library.lookup(req_method, playwright_request.url, req_body, req_type)
            if recorded is None:
                self._miss(req_method, playwright_request.url, playwright_request.resource_type)
                await route.abort("blockedbyclient")
                return
            self.stats.inc_value("replay/hit")
            self.stats.inc_value("replay/browser_fulfilled")
            await route.fulfill(status=recorded.status, headers=fulfil_headers(recorded.headers), body=recorded.body)

        return replay_route
