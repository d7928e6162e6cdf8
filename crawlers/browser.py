"""The browser every part of ipwatch starts: Debian's chromium unless told otherwise (CONTRACT §1)."""

from __future__ import annotations

import os
from pathlib import Path

DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Headless in a container as root, and no traffic of the browser's own (updates, sync, metrics):
# without the background-networking flags Chromium keeps calling out on its own.
# Debian's chromium still calls these by itself with the flags below (seen in a net log within seconds of
# start: accounts.google.com, update.googleapis.com); their names are made unresolvable, so nothing of
# the analyst's goes to Google. Replayed browsers resolve no name at all (crawlers/replay/browser.py).
BACKGROUND_HOSTS = (
    "accounts.google.com",
    "update.googleapis.com",
    "clients1.google.com",
    "clients2.google.com",
    "clientservices.googleapis.com",
    "safebrowsing.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "*.gvt1.com",
    "*.gvt2.com",
)
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=" + ", ".join(f"MAP {host} ~NOTFOUND" for host in BACKGROUND_HOSTS),
)


def chromium_executable(settings=None) -> str | None:
    """The ``PLAYWRIGHT_CHROMIUM_EXECUTABLE`` setting (or environment variable), else Debian's
    ``/usr/bin/chromium``, else None (Playwright's own browser)."""
    configured = (settings.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") if settings is not None else None) or \
        os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if configured:
        return configured
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else None
