"""The browser every part of ipwatch starts: Debian's chromium unless told otherwise (docs/contract.md §1)."""

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
RESOLVER_RULES_FLAG = "--host-resolver-rules="
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    RESOLVER_RULES_FLAG + ", ".join(f"MAP {host} ~NOTFOUND" for host in BACKGROUND_HOSTS),
)


def host_resolver_rules(host_map: dict[str, str]) -> str:
    """chromium's ``--host-resolver-rules`` for a host map, Google's background names kept unresolvable.

    chromium reads one such flag only, so the rules are merged into one; ``EXCLUDE localhost`` keeps
    DevTools and local pages on the loopback name.
    """
    rules = [f"MAP {host} ~NOTFOUND" for host in BACKGROUND_HOSTS]
    rules += [f"MAP {glob} {address}" for glob, address in host_map.items()]
    if host_map:
        rules.append("EXCLUDE localhost")
    return RESOLVER_RULES_FLAG + ", ".join(rules)


def browser_args(args=BROWSER_ARGS, host_map: dict[str, str] | None = None,
                 trusted_spki: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``args`` with their resolver rule replaced by one that also applies ``host_map``, and chromium told
    to accept the certificates whose public-key hashes are in ``trusted_spki`` (a local stand-in's)."""
    merged = [arg for arg in args if not arg.startswith(RESOLVER_RULES_FLAG)
              and not arg.startswith("--ignore-certificate-errors-spki-list=")]
    merged.append(host_resolver_rules(host_map or {}))
    if trusted_spki:
        merged.append("--ignore-certificate-errors-spki-list=" + ",".join(trusted_spki))
    return merged


def chromium_executable(settings=None) -> str | None:
    """The ``PLAYWRIGHT_CHROMIUM_EXECUTABLE`` setting (or environment variable), else Debian's
    ``/usr/bin/chromium``, else None (Playwright's own browser)."""
    configured = (settings.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") if settings is not None else None) or \
        os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if configured:
        return configured
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else None
