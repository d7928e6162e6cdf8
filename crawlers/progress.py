"""What a monitor run shows while it crawls.

On a terminal: a live table per platform and nothing else — Scrapy's log goes to the run's ``monitor.log``
(see :func:`log_to_file`), and each warning or error appears above the table as one short line, its URLs cut
to host and path. Off a terminal (cron): the log as Scrapy writes it, plus one progress line per platform
every 30 s (``PROGRESS_INTERVAL``).

The stats of a crawler exist only once its crawl has started (Scrapy 2.13+ raises before that), so they are
picked up from the ``spider_opened`` signal, and kept as they were at ``spider_closed``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals

from contract import FLAGGED
from contract import stats as keys

logger = logging.getLogger(__name__)

NOT_STARTED = "not_started"  # finish_reason of a crawler whose spider never opened
URL_LENGTH = 56  # host + path shown of a URL in a terminal line
TOKEN_LENGTH = 40  # any other unbroken run of characters longer than this is cut

_URL = re.compile(r"https?://[^\s'\"<>()\[\]]+")
_LONG_TOKEN = re.compile(r"[^\s'\"]{" + str(TOKEN_LENGTH + 20) + ",}")


def shorten_url(url: str, limit: int = URL_LENGTH) -> str:
    """``https://h5api.m.taobao.com/h5/mtop.x/2.0/?data=…3 kB…`` -> ``h5api.m.taobao.com/h5/mtop.x/2.0/?…``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[: limit - 1] + "…" if len(url) > limit else url
    shown = parts.netloc + parts.path
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    elif parts.query or parts.fragment:
        shown += "?…"
    return shown


def one_line(message: str) -> str:
    """A log message as one readable line: its first line, URLs shortened, other long runs cut."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = _URL.sub(lambda match: shorten_url(match.group(0)), first)
    return _LONG_TOKEN.sub(lambda match: match.group(0)[:TOKEN_LENGTH] + "…", first)


class PlatformStats:
    """Each platform's crawl stats, live while it crawls and final once it closed."""

    def __init__(self, crawlers: dict) -> None:
        self._live: dict[str, object] = {}
        self._final: dict[str, dict] = {}
        self.platforms = list(crawlers)
        for platform, crawler in crawlers.items():
            crawler.signals.connect(self._opened_handler(platform, crawler), signal=signals.spider_opened,
                                    weak=False)
            crawler.signals.connect(self._closed_handler(platform, crawler), signal=signals.spider_closed,
                                    weak=False)

    def _opened_handler(self, platform: str, crawler):
        def opened(spider=None) -> None:
            self._live[platform] = crawler.stats

        return opened

    def _closed_handler(self, platform: str, crawler):
        def closed(spider=None, reason: str = "finished") -> None:
            self._final[platform] = {**crawler.stats.get_stats(), "finish_reason": reason}

        return closed

    def current(self, platform: str) -> dict:
        if platform in self._final:
            return self._final[platform]
        collector = self._live.get(platform)
        return dict(collector.get_stats()) if collector is not None else {}

    def final(self) -> dict[str, dict]:
        """Every platform's stats at the end; a crawler that never opened has ``finish_reason: not_started``."""
        return {platform: self._final.get(platform) or {**self.current(platform), "finish_reason": NOT_STARTED}
                for platform in self.platforms}


def progress_row(platform: str, stats: dict) -> dict[str, int]:
    return {
        "pages": stats.get(keys.SEARCH_PAGES, 0),
        "listings": stats.get(keys.SEARCH_LISTINGS, 0),
        "flagged": sum(stats.get(keys.score(verdict), 0) for verdict in FLAGGED),
        "blocked": stats.get(keys.blocked(platform), 0),
        "misses": stats.get(keys.REPLAY_MISS, 0),
        "failed": stats.get(keys.SEARCH_FAILED, 0) - stats.get(keys.SEARCH_BLOCKED, 0),
    }


class TerminalLines(logging.Handler):
    """Each warning or error as one short line above the live table (the full record is in the log file)."""

    def __init__(self, console) -> None:
        super().__init__(level=logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        from rich.text import Text

        try:
            line = Text(f"{record.levelname.lower()} {one_line(record.getMessage())}", no_wrap=True)
            line.truncate(max(self.console.width - 1, 20), overflow="ellipsis")
            self.console.print(line, soft_wrap=False, crop=True)
        except Exception:
            self.handleError(record)


class Progress:
    """A live table on ``console`` (a terminal), else (None) a log line per platform every ``interval`` s.

    Log lines printed on the same console (:class:`TerminalLines`) appear above the table.
    """

    def __init__(self, stats: PlatformStats, console=None, interval: float = 30.0) -> None:
        self.stats = stats
        self.console = console
        self.interval = interval
        self._loop = None
        self._live = None

    def render(self):
        from rich.table import Table

        # a row per platform's search: a Taobao search also finds Tmall listings, which the run's summary then
        # counts under tmall, so the caption says whose listings these are
        table = Table(title="ipwatch monitor", caption="listings found by each platform's search so far")
        for column in ("search", "pages", "listings", "flagged", "blocked", "replay misses", "failed"):
            table.add_column(column, justify="right" if column != "search" else "left")
        for platform in self.stats.platforms:
            row = progress_row(platform, self.stats.current(platform))
            table.add_row(platform, *(str(value) for value in row.values()))
        return table

    def log_progress(self) -> None:
        for platform in self.stats.platforms:
            row = progress_row(platform, self.stats.current(platform))
            logger.info("progress %s: %s", platform, ", ".join(f"{k} {v}" for k, v in row.items()))

    def start(self) -> None:
        if self.console is not None:
            from rich.live import Live

            self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=2,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
            return
        from twisted.internet import task

        self._loop = task.LoopingCall(self.log_progress)
        self._loop.start(self.interval, now=False)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._live is not None:
            self._live.refresh()
            self._live.stop()


def log_to_file(path: Path, settings) -> logging.Handler:
    """While the live table is up, Scrapy's log (its start-up banner included) goes to ``path``."""
    from scrapy.utils.log import log_scrapy_info

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding=settings.get("LOG_ENCODING") or "utf-8")
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    handler.setLevel(settings.get("LOG_LEVEL") or "INFO")
    logging.root.addHandler(handler)
    log_scrapy_info(settings)
    return handler
