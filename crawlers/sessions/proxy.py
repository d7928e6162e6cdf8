"""Proxies: ``PROXY_URL`` for every platform, or one per platform (``PROXY_URL_TAOBAO``, ``PROXY_URL_1688``…,
as a setting or an environment variable, or the ``PROXY_URLS`` dict setting). http, https and socks5,
with credentials in the URL (``http://user:password@host:port``).

Scrapy's requests take it as ``meta["proxy"]`` (its HttpProxyMiddleware turns the credentials into a
``Proxy-Authorization`` header; a socks5 proxy through the local bridge of ``socks_bridge``); chromium takes
it as Playwright's ``proxy`` option (a socks5 proxy with credentials through the same bridge). The password is
registered for log redaction as soon as it is read.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from crawlers.extensions import register_secret_values

SCHEMES = ("http", "https", "socks5")


class ProxyError(ValueError):
    """A proxy URL that cannot be used; the message names the setting (never the password)."""


def proxy_url(settings, platform: str) -> tuple[str | None, str]:
    """The proxy for ``platform`` and the name of the setting it came from."""
    specific = f"PROXY_URL_{platform.upper()}"
    candidates = [
        (specific, settings.get(specific) if settings is not None and platform else None),
        ("PROXY_URLS", (settings.getdict("PROXY_URLS") if settings is not None else {}).get(platform)),
        (specific, os.environ.get(specific) if platform else None),
        ("PROXY_URL", settings.get("PROXY_URL") if settings is not None else None),
        ("PROXY_URL", os.environ.get("PROXY_URL")),
    ]
    for name, value in candidates:
        if value:
            check(value, name)
            return value, name
    return None, ""


def check(url: str, setting: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.port:
        raise ProxyError(f"{setting}: a proxy is {' | '.join(SCHEMES)}://[user:password@]host:port, "
                         f"not {redact_url(url)!r}")
    if parts.password:
        register_secret_values({parts.password, unquote(parts.password)})


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":<redacted>@", 1)


def playwright_proxy(url: str, settings=None) -> dict:
    """Playwright's ``proxy`` option: server without credentials, then username and password apart.

    chromium cannot give a socks5 proxy a username and password ("Browser does not support socks5 proxy
    authentication"): such a proxy is reached through the process's local bridge, an http proxy to chromium.
    The bridge is then kept until the process exits, as the browser may outlive any one crawl."""
    parts = urlsplit(url)
    if parts.scheme == "socks5" and parts.username:
        from crawlers.sessions.socks_bridge import BRIDGE, DEFAULT_CONNECT_TIMEOUT

        timeout = settings.getfloat("SOCKS_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT) if settings is not None \
            else DEFAULT_CONNECT_TIMEOUT
        parts = urlsplit(BRIDGE.acquire(url, timeout))
    option = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}"}
    if parts.username:
        option["username"] = unquote(parts.username)
        option["password"] = unquote(parts.password or "")
    return option
