"""The session in the rendering browser: its saved state and the platform's proxy in the render context, and
render mode switched on where signed API calls are refused from outside a browser.

``SESSION_IN_PAGE_PLATFORMS`` (default ``["1688"]``): on those platforms a live crawl with a session loads
the signed-in search page and reads what the page's own scripts fetched, instead of signing mtop calls
itself (1688 answers those ``RGV587_ERROR`` from outside a browser). ``PLAYWRIGHT_CDP_URL`` (scrapy-playwright's
own setting) drives the analyst's running Chrome instead of a new chromium.
"""

from __future__ import annotations

import logging

from scrapy.settings import SETTINGS_PRIORITIES

from crawlers.sessions.middleware import live_crawl
from crawlers.sessions.proxy import playwright_proxy, proxy_url
from crawlers.sessions.state import sessions_for
from crawlers.sessions.store import SessionStore

logger = logging.getLogger(__name__)


def _first_session(settings, platform: str):
    profiles = settings.getdict("SESSION_PROFILES").get(platform) or None
    found = sessions_for(SessionStore.from_settings(settings), platform, profiles)
    return found[0] if found else None


def in_page(settings, platform: str) -> bool:
    """True when this live crawl should make the platform's API calls from inside the signed-in page."""
    if not live_crawl(settings) or platform not in settings.getlist("SESSION_IN_PAGE_PLATFORMS"):
        return False
    return _first_session(settings, platform) is not None


def render_context_options(settings, platform: str) -> dict:
    """Playwright context options for a live render: the session's storage state and the proxy."""
    if not live_crawl(settings):
        return {}
    options = {}
    session = _first_session(settings, platform)
    if session is not None:
        options["storage_state"] = session.storage_state()
    proxy, _source = proxy_url(settings, platform)
    if proxy:
        options["proxy"] = playwright_proxy(proxy, settings)
    return options


def apply_to_render_context(settings, platform: str, context_name: str) -> None:
    """Merge :func:`render_context_options` into ``PLAYWRIGHT_CONTEXTS[context_name]``."""
    options = render_context_options(settings, platform)
    if not options or settings.frozen:
        return
    contexts = {name: dict(value) for name, value in settings.getdict("PLAYWRIGHT_CONTEXTS").items()}
    contexts.setdefault(context_name, {}).update(options)
    priority = max(settings.getpriority("PLAYWRIGHT_CONTEXTS") or 0, SETTINGS_PRIORITIES["spider"])
    settings.set("PLAYWRIGHT_CONTEXTS", contexts, priority=priority)
