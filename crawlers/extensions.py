"""Extensions."""

from __future__ import annotations

import json
import logging
import re
from functools import cache
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
    # the rest of a signed-in Taobao/Tmall, 1688 and Alibaba.com cookie set (crawlers/sessions/signins.yaml).
    # Not the cookie ``t``: as a query parameter it is mtop's timestamp; its cookie value is redacted by value
    # (register_secret_values, done for every loaded session).
    *("dnk", "_nk_", "uc1", "cna", "enc", "cookie1", "__cn_logon__", "__cn_logon_id__", "__last_loginid__",
      "__last_memberid__", "xman_us_t", "xman_us_f", "xman_t", "xman_f", "intl_common_forever", "ali_apache_id"),
)
_SECRET_VALUE = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(name) for name in sorted(SECRET_NAMES, key=len, reverse=True))
    + r")(=|%3D)[^&;\s'\"<>,)]+"
)
# user:password@ in any URL (proxies, stores)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
# Values known to be secret in this process: the loaded sessions' cookies, proxy passwords.
_SECRET_VALUES: set[str] = set()


def register_secret_values(values) -> None:
    """Redact these exact values from every later log line, whatever name they appear under."""
    _SECRET_VALUES.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    """``x5secdata=abc&q=1`` -> ``x5secdata=<redacted>&q=1``, for every name in :data:`SECRET_NAMES`; proxy
    and store passwords in URLs; and every value given to :func:`register_secret_values`."""
    text = _URL_PASSWORD.sub(r"\1<redacted>@", _SECRET_VALUE.sub(r"\1\2<redacted>", text))
    for value in sorted(_SECRET_VALUES, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "<redacted>")
    return text


@cache
def _redacted_kind(kind: type[logging.LogRecord]) -> type[logging.LogRecord]:
    """``kind`` of log record, its message redacted (:func:`redact`) whenever a handler or formatter reads it."""

    def getMessage(self) -> str:  # logging's name
        return redact(kind.getMessage(self))

    return type(f"Redacted{kind.__name__}", (kind,), {"getMessage": getMessage, "redacted": True})


def _redacting_factory(make_record):
    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if not getattr(record, "redacted", False):
            record.__class__ = _redacted_kind(type(record))
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    return factory


def install_log_redaction() -> None:
    """Every log record of this process has its message redacted (:func:`redact`) when it is read, whatever
    handler writes it: Scrapy replaces its root handler when a crawl starts, so a handler filter would be lost.

    Redacted when read, not when made: Scrapy makes a DEBUG record with the whole item for every listing scraped,
    which no handler writes at the INFO level, and formatting each one cost 0.6 ms (12 s of CPU in a 20,000-listing
    run).
    """
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
