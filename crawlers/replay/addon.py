"""Switches replay or recording on from settings given at run time (``-s REPLAY_DIR=…``).

An add-on runs after every settings source is merged, command-line ``-s`` included, which is why
it and not settings.py decides which download handler serves http(s).
"""

from __future__ import annotations

from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

REPLAY_HANDLER = "crawlers.replay.handler.ReplayDownloadHandler"
RECORD_HANDLER = "crawlers.replay.handler.RecordingDownloadHandler"
# Rendered requests (meta["playwright"]) in replay: a real browser fed from the same cassettes.
REPLAY_BROWSER_HANDLER = "crawlers.replay.browser.ReplayBrowserHandler"

# In replay nothing is slow on the other side: no politeness delays, no back-off sleeps.
REPLAY_OVERRIDES = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "BLOCK_BACKOFF_BASE": 0,
    "MTOP_TOKEN_WAIT": 0,
}


def _set_unless_user_chose(settings, name, value) -> None:
    if (settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
        settings.set(name, value, priority="spider")


class ReplayAddon:
    def update_settings(self, settings) -> None:
        replay, record = settings.get("REPLAY_DIR"), settings.get("RECORD_DIR")
        if replay and record:
            raise UsageError("REPLAY_DIR and RECORD_DIR are exclusive: replay serves from cassettes, "
                             "record writes them from a live crawl")
        handler = REPLAY_HANDLER if replay else RECORD_HANDLER if record else None
        if handler is None:
            return
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        if record and handlers.get("https"):
            # record through whatever handler the project uses for https (e.g. scrapy-playwright's)
            settings.set("RECORD_REAL_HANDLER", handlers["https"], priority="spider")
        handlers.update({"http": handler, "https": handler})
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
        if replay:
            for name, value in REPLAY_OVERRIDES.items():
                _set_unless_user_chose(settings, name, value)
            _set_unless_user_chose(settings, "REPLAY_BROWSER_HANDLER", REPLAY_BROWSER_HANDLER)
