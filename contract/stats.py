"""The names of the crawl stats the run report, the progress display and the workers read. Per-platform keys
are built here and nowhere else."""

from __future__ import annotations

from functools import partial

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


def _event_of(prefix: str, event: str, platform: str) -> str:
    return f"{prefix}/{event}/{platform}"


def _under(prefix: str, name: str) -> str:
    return f"{prefix}/{name}"


# session(event, platform): ``session/<event>/<platform>`` for missing, expired, stopped, renew, state,
# profile, requests, at; pace(event, platform): ``pace/<event>/<platform>`` for paused, budget
session = partial(_event_of, "session")
pace = partial(_event_of, "pace")
score = partial(_under, "score")  # score(verdict)
check_removed = partial(_under, "check_removed")  # check_removed(outcome)
