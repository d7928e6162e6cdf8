"""Replay and record at the download-handler seam.

Why a download handler and not a downloader middleware: a handler replaces exactly the network.
Every middleware still runs on replayed responses as it does live — redirects are followed by
RedirectMiddleware from the recorded 302, cookies are set by CookiesMiddleware from recorded
``Set-Cookie``, blocks are retried by our block middleware, compression, stats and DOWNLOAD_MAXSIZE
behave the same. A middleware answering in ``process_request`` would skip every middleware below
it, so a replayed crawl would not be the production crawl. For the same reason recording also
happens here: it captures the raw response (including 302s) before any middleware has touched it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.utils.misc import build_from_crawler, load_object

from contract.stats import REPLAY_MISS
from crawlers.replay.keys import request_key
from crawlers.replay.library import CassetteLibrary
from crawlers.replay.recorder import CassetteWriter

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# One library per folder per process: several crawlers of one `scrapy monitor` share the parsed
# cassettes, but each handler keeps its own playback position (see ReplayDownloadHandler).
_LIBRARIES: dict[tuple[str, bool], CassetteLibrary] = {}


class ReplayMiss(IgnoreRequest):
    """No recording for this request; it was not sent anywhere."""


class ResponseTooLarge(IgnoreRequest):
    """The recorded body is over DOWNLOAD_MAXSIZE, as a live download would have been cancelled."""


def _required_folder(crawler: Crawler, setting: str) -> str:
    """The folder a replay or record handler works in; without it the handler is not used at all."""
    folder = crawler.settings.get(setting)
    if not folder:
        raise NotConfigured(f"{setting} is not set")
    return folder


def open_library(folder: str, *, allow_repeats: bool = True, shared: bool = True) -> CassetteLibrary:
    if not shared:
        return CassetteLibrary(folder, allow_repeats=allow_repeats)
    cache_key = (str(folder), allow_repeats)
    if cache_key not in _LIBRARIES:
        _LIBRARIES[cache_key] = CassetteLibrary(folder, allow_repeats=allow_repeats)
    return _LIBRARIES[cache_key].fresh_copy()


def cassette_response(request: Request, recorded) -> Response:
    headers = Headers()
    for name, value in recorded.headers:
        if name.lower() in ("content-length", "transfer-encoding"):
            continue  # the stored body is complete and unchunked
        headers.appendlist(name, value)
    respcls = responsetypes.from_args(headers=headers, url=request.url, body=recorded.body)
    return respcls(url=request.url, status=recorded.status, headers=headers, body=recorded.body,
                   request=request, protocol="HTTP/1.1")


class ReplayDownloadHandler(BaseDownloadHandler):
    """Answers every http(s) request from the cassettes under ``REPLAY_DIR``; nothing is sent.

    A request with no recording is logged with its key, counted as ``replay/miss`` and fails
    (``ReplayMiss``); the rest of the crawl goes on. Requests that ask for a browser
    (``meta["playwright"]``) go to the browser handler (``REPLAY_BROWSER_HANDLER``), whose pages are
    fulfilled from the same library.
    """

    lazy = False

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.library = open_library(_required_folder(crawler, "REPLAY_DIR"),
                                    allow_repeats=settings.getbool("REPLAY_ALLOW_REPEATS", True))
        self.maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.stats = crawler.stats
        self._browser_handler_path = settings.get("REPLAY_BROWSER_HANDLER")
        self._browser_handler = None
        for error in self.library.errors:
            self.stats.inc_value("replay/bad_cassette")
            logger.error("replay: %s", error)

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright") and self._browser_handler_path:
            return await self._browser(request)
        content_type = request.headers.get("Content-Type")
        key = request_key(request.method, request.url, request.body,
                          content_type.decode("latin-1") if content_type else None)
        recorded = self.library.lookup_key(key)
        if recorded is None:
            self.stats.inc_value(REPLAY_MISS)
            logger.warning("replay miss: no recording for %s (key: %s)", request.url, key)
            raise ReplayMiss(f"replay miss: no recording for {request.url}")
        maxsize = request.meta.get("download_maxsize", self.maxsize)
        if maxsize and len(recorded.body) > maxsize:
            self.stats.inc_value("replay/too_large")
            logger.error("Cancelling download of %s: body of %d bytes is over DOWNLOAD_MAXSIZE (%d) [%s]",
                         request.url, len(recorded.body), maxsize, recorded.source)
            raise ResponseTooLarge(f"{request.url}: body over DOWNLOAD_MAXSIZE")
        self.stats.inc_value("replay/hit")
        return cassette_response(request, recorded)

    async def _browser(self, request: Request) -> Response:
        if self._browser_handler is None:
            handler_cls = load_object(self._browser_handler_path)
            self._browser_handler = build_from_crawler(handler_cls, self.crawler, library=self.library)
        return await self._browser_handler.download_request(request)

    async def close(self) -> None:
        if self._browser_handler is not None:
            await self._browser_handler.close()


class RecordingDownloadHandler(BaseDownloadHandler):
    """Sends requests with the real handler and writes what came back as vcrpy cassettes in ``RECORD_DIR``.

    Cookies, ``Set-Cookie`` and session tokens are scrubbed before anything is written
    (crawlers/replay/recorder.py says how).
    """

    lazy = False

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        folder = _required_folder(crawler, "RECORD_DIR")
        real = load_object(settings.get("RECORD_REAL_HANDLER",
                                        "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"))
        self.real = build_from_crawler(real, crawler)
        self.writer = CassetteWriter.for_crawler(folder, crawler)

    async def download_request(self, request: Request) -> Response:
        response = await self.real.download_request(request)
        self.writer.add(request, response)
        return response

    async def close(self) -> None:
        self.writer.close()
        await self.real.close()


__all__ = ["RecordingDownloadHandler", "ReplayDownloadHandler", "ReplayMiss", "request_key"]
