"""The names of the crawl stats the run report, the progress display and the workers read. Per-platform keys
are built here and nowhere else."""

from __future__ import annotations

REPLAY_MISS = "replay/miss"
STORE_SAVED = "store/saved"
STORE_FAILED = "store/failed"
SEARCH_PAGES = "search/pages"
SEARCH_LISTINGS = "search/listings"
SEARCH_NO_RESULTS = "search/no_results"
SEARCH_FAILED = "search/failed"
SEARCH_BLOCKED = "search/blocked"
ITEM_SELLER_UNKNOWN = "item/seller_unknown"
ITEM_INVALID = "item/invalid"
ITEM_DUPLICATE = "item/duplicate"
FORMAT_UNRECOGNIZED = "format/unrecognized"


def blocked(platform: str, kind: str | None = None) -> str:
    """``blocked/<platform>``, or ``blocked/<platform>/<kind>`` (login, slider, punish, rate_limited, gave_up…)."""
    return f"blocked/{platform}/{kind}" if kind else f"blocked/{platform}"


def session(event: str, platform: str) -> str:
    """``session/<event>/<platform>``: missing, expired, stopped, renew, state, profile, requests, at."""
    return f"session/{event}/{platform}"


def pace(event: str, platform: str) -> str:
    """``pace/<event>/<platform>``: paused, budget."""
    return f"pace/{event}/{platform}"


def score(verdict: str) -> str:
    return f"score/{verdict}"


def check_removed(outcome: str) -> str:
    return f"check_removed/{outcome}"
