"""Name resolution with a host map: ``HOST_MAP`` sends chosen host names to chosen addresses.

``HOST_MAP`` is a dict of host glob -> IP address (``{"*.taobao.com": "127.83.0.1"}``), given as a
setting (``-s HOST_MAP='{...}'``, JSON) or as the environment variable ``HOST_MAP`` (JSON). Its use
is pointing a live crawl at a local stand-in for the platforms without touching ``/etc/hosts``;
the same map becomes chromium's ``--host-resolver-rules`` (crawlers/browser.py), so a rendered page
resolves the same way. With no map, Scrapy's own resolver is used unchanged.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import logging
import os

from scrapy.exceptions import UsageError
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

logger = logging.getLogger(__name__)


def parse_host_map(raw, source: str = "HOST_MAP") -> dict[str, str]:
    """A host map from a dict or a JSON string; a clear UsageError naming ``source`` when malformed."""
    if raw in (None, "", {}):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"{source}: not JSON ({exc}); give a map like "
                             "'{\"*.taobao.com\": \"127.83.0.1\"}'") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: must be a map of host glob to IP address, not {type(raw).__name__}")
    host_map = {}
    for glob, address in raw.items():
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            raise UsageError(f"{source}: {glob!r} maps to {address!r}, which is not an IP address") from None
        host_map[str(glob).lower()] = str(address)
    return host_map


def host_map_from_settings(settings) -> dict[str, str]:
    """``HOST_MAP`` from the settings, else from the environment variable of that name."""
    value = settings.get("HOST_MAP") if settings is not None else None
    if value:
        return parse_host_map(value)
    return parse_host_map(os.environ.get("HOST_MAP"), "HOST_MAP (environment)")


def mapped_address(host_map: dict[str, str], host: str) -> str | None:
    """The address ``host`` is mapped to (first matching glob, in the map's order), or None."""
    host = host.lower().rstrip(".")
    for glob, address in host_map.items():
        if fnmatch.fnmatchcase(host, glob):
            return address
    return None


class HostMapResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, answering mapped names from ``HOST_MAP`` without asking DNS.

    Installed by ``TWISTED_DNS_RESOLVER``; when no map is given ``from_crawler`` hands back Scrapy's
    default resolver itself, so an ordinary crawl resolves exactly as before.
    """

    host_map: dict[str, str]

    @classmethod
    def from_crawler(cls, crawler, reactor):
        host_map = host_map_from_settings(crawler.settings)
        if not host_map:
            return CachingThreadedResolver.from_crawler(crawler, reactor)
        resolver = super().from_crawler(crawler, reactor)
        resolver.host_map = host_map
        logger.info("HOST_MAP: %s resolved locally", ", ".join(f"{g} -> {a}" for g, a in host_map.items()))
        return resolver

    def getHostByName(self, name: str, timeout=()):
        address = mapped_address(self.host_map, name)
        if address is not None:
            return defer.succeed(address)
        return super().getHostByName(name, timeout)
