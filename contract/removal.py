"""When a listing has been taken down, one rule for the whole tool: the removal check, the evidence capture
and the counter-notice capture read the platform's signs from ``removed.yaml`` beside this file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from contract.data import read_yaml


class RemovalOutcome(StrEnum):
    REMOVED = "removed"
    ONLINE = "online"
    UNKNOWN = "unknown"  # blocked, failed, or no sign either way


@lru_cache(maxsize=1)
def removal_signs() -> dict[str, dict]:
    path = Path(__file__).with_name("removed.yaml")
    return read_yaml(path)


def is_removed_url(url: str, platform: str | None = None) -> bool:
    """``url`` (a final URL or a redirect's Location) is where ``platform`` sends a removed listing; with no
    platform, any platform's removal page counts."""
    if not url:
        return False
    signs = removal_signs()
    wanted = [signs.get(platform, {})] if platform else list(signs.values())
    parts = urlsplit(url)
    where = f"{(parts.hostname or '').lower()}{parts.path}"
    return any(marker in where for sign in wanted for marker in sign.get("url_markers", []))


def removal_outcome(platform: str, status: int, url: str, location: str, body: bytes) -> RemovalOutcome:
    """What a detail page fetched without following redirects says about the listing."""
    signs = removal_signs().get(platform, {})
    if is_removed_url(location, platform) or is_removed_url(url, platform):
        return RemovalOutcome.REMOVED
    if status in signs.get("statuses", []):
        return RemovalOutcome.REMOVED
    text = body[:200_000].decode("utf-8", errors="replace")
    if any(marker in text for marker in signs.get("body_markers", [])):
        return RemovalOutcome.REMOVED
    if 200 <= status < 300:
        return RemovalOutcome.ONLINE
    return RemovalOutcome.UNKNOWN
