"""Extensions."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawlers.replay.recorder import SECRET_PARAMS


class StatsFile:
    """Writes the crawl's final stats as JSON to ``STATS_FILE`` (for scripts, tests and the monitor)."""

    def __init__(self, crawler, path: str):
        self.crawler = crawler
        self.path = Path(path)

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("STATS_FILE")
        if not path:
            raise NotConfigured
        extension = cls(crawler, path)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason):
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(stats, default=str, indent=1, sort_keys=True), encoding="utf-8")


# Session cookies and slider/mtop tokens by name: a log line may carry them in a URL (a slider redirect's
# x5secdata) or in text a page echoed back. The recorder scrubs the same names from cassettes.
SECRET_NAMES = (
    *SECRET_PARAMS,
    *("x5step", "cookie17", "sgcookie", "unb", "_tb_token_", "lgc", "tracknick"),  # login cookies too
)
_SECRET_VALUE = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(name) for name in sorted(SECRET_NAMES, key=len, reverse=True))
    + r")(=|%3D)[^&;\s'\"<>,)]+"
)


def redact(text: str) -> str:
    """``x5secdata=abc&q=1`` -> ``x5secdata=<redacted>&q=1``, for every name in :data:`SECRET_NAMES`."""
    return _SECRET_VALUE.sub(r"\1\2<redacted>", text)


def _redacting_factory(make_record):
    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    return factory


def install_log_redaction() -> None:
    """Every log record of this process is redacted (:func:`redact`) as it is made, whatever handler
    writes it: Scrapy replaces its root handler when a crawl starts, so a handler filter would be lost."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(current))


class LogRedaction:
    """Switches :func:`install_log_redaction` on for every crawl (no log line at any level shows a
    session cookie or a slider token)."""

    def __init__(self):
        install_log_redaction()

    @classmethod
    def from_crawler(cls, crawler):
        return cls()
