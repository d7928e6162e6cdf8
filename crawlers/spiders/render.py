"""Browser rendering for search pages whose result list is built by the page's own JavaScript.

1688 and Alibaba.com increasingly send a shell and hydrate the list from an XHR (PLATFORMS.md
§3.2); a plain download then reads as ``format/unrecognized``. A spider that mixes in
``RenderedSearch`` can load such pages in Chromium through scrapy-playwright instead:

- switched on per crawl with ``-a render=1``, or per platform for a deployment with the setting
  ``RENDER_PLATFORMS`` (``-s RENDER_PLATFORMS=alibaba,1688`` or the environment variable);
- only the requests built with ``render_meta()`` carry ``meta["playwright"]``; scrapy-playwright
  serves every other request (images, APIs) with Scrapy's normal handler;
- the browser is Debian's chromium unless told otherwise: ``PLAYWRIGHT_CHROMIUM_EXECUTABLE``
  (setting or environment), else ``/usr/bin/chromium``, else Playwright's own; the launch options
  (``PLAYWRIGHT_LAUNCH_OPTIONS``) pass ``executable_path`` straight through;
- in replay (``REPLAY_DIR``) the replay add-on routes rendered requests to
  ``crawlers.replay.browser.ReplayBrowserHandler``, which answers every browser request from the
  cassettes.

The spider keeps reading the response with its page object: the body is the rendered DOM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from scrapy.settings import SETTINGS_PRIORITIES

from crawlers.browser import BROWSER_ARGS, DEBIAN_CHROMIUM, browser_args, chromium_executable  # noqa: F401
from crawlers.resolver import host_map_from_settings

logger = logging.getLogger(__name__)

PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"

RENDER_CONTEXT = "render"  # one browser context for all rendered search pages


def chromium_launch_options(settings) -> dict:
    """PLAYWRIGHT_LAUNCH_OPTIONS completed with headless, our flags and the executable path."""
    options = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
    options.setdefault("headless", True)
    options.setdefault("args", list(BROWSER_ARGS))
    host_map, trusted = host_map_from_settings(settings), settings.getlist("BROWSER_TRUSTED_SPKI")
    if host_map or trusted:  # the browser resolves and trusts as the crawl's own downloader does
        options["args"] = browser_args(options["args"], host_map, trusted)
    if not options.get("executable_path"):
        executable = chromium_executable(settings)
        if executable:
            options["executable_path"] = executable
    return options


def enable_browser(settings) -> None:
    """Point http(s) at scrapy-playwright's handler and complete the launch options.

    Leaves alone a DOWNLOAD_HANDLERS entry the user gave on the command line; the replay and record
    add-on, which runs after the spider is built, still swaps in its own handler.
    """
    if settings.frozen:
        logger.warning("render is on but the settings are already frozen: set DOWNLOAD_HANDLERS http/https to %s "
                       "yourself, or rendered requests will be downloaded without a browser", PLAYWRIGHT_HANDLER)
        return
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    if (settings.getpriority("DOWNLOAD_HANDLERS") or 0) < cmdline:
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER})
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
    priority = max(settings.getpriority("PLAYWRIGHT_LAUNCH_OPTIONS") or 0, SETTINGS_PRIORITIES["spider"])
    settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", chromium_launch_options(settings), priority=priority)


async def wait_for_results(page, selector: str, timeout_ms: float = 15_000) -> bool:
    """Wait until ``selector`` (the hydrated list, or its no-results block) is in the DOM, or until
    the network has been quiet for 500 ms (a block page, a shell that never hydrates). True if the
    selector appeared. Never raises on a timeout: the page object decides what the DOM means.
    """
    cards = asyncio.ensure_future(page.wait_for_selector(selector, state="attached", timeout=timeout_ms))
    idle = asyncio.ensure_future(page.wait_for_load_state("networkidle", timeout=timeout_ms))
    done, pending = await asyncio.wait({cards, idle}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in (cards, idle):
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
    if cards in done and not cards.cancelled() and cards.exception() is None:
        return True
    # the network fell quiet first: the list may have been built in the same instant
    return await page.query_selector(selector) is not None


class RenderedSearch:
    """Mix into a ``SearchSpider`` (before it) to load search pages in a browser when render is on.

    The spider names what shows that the list is there (``render_ready``) and adds
    ``self.render_meta()`` to its search requests' meta when ``self.render`` is true.
    """

    render_ready: str = ""  # CSS selector: the result cards or the list's no-results block
    render_timeout_ms: float = 15_000

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        platforms = {name.strip() for name in crawler.settings.getlist("RENDER_PLATFORMS") if name.strip()}
        spider.render = bool(spider.render or spider.platform in platforms)
        # sessions: in-page API calls where the platform refuses them from outside a browser
        from crawlers.sessions.browser import apply_to_render_context, in_page

        spider.render = spider.render or in_page(crawler.settings, spider.platform)
        if spider.render:
            enable_browser(crawler.settings)
            apply_to_render_context(crawler.settings, spider.platform, RENDER_CONTEXT)  # storage state, proxy
        return spider

    def render_meta(self) -> dict:
        """What a request needs to be loaded in the browser. Picklable (no live objects)."""
        from scrapy_playwright.page import PageMethod

        return {
            "playwright": True,
            "playwright_include_page": False,
            "playwright_context": RENDER_CONTEXT,
            "playwright_page_methods": [
                PageMethod(wait_for_results, self.render_ready, timeout_ms=self.render_timeout_ms),
            ],
        }
