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

# The image pipelines (download and hashing, then matching) and the scorer's second looks at the main picture
IMAGES_REQUESTED = "images/requested"
IMAGES_REFUSED_HOST = "images/refused_host"  # not an http(s) URL of an allowed image host
IMAGES_REFUSED_PRIVATE = "images/refused_private_address"  # the host resolves to a private address
IMAGES_CORRUPT = "images/corrupt"
IMAGES_HASHED = "images/hashed"
IMAGES_HASHES_REUSED = "images/hashes/reused"  # of those hashed, read from the memo (the same bytes, an earlier run)
IMAGES_HASH_CACHE_HIT = "images/hash_cache_hit"
IMAGES_CACHE_UNDECODABLE = "images/cache_undecodable"
IMAGES_DOWNLOAD_FAILED = "images/download_failed"
IMAGES_FAILED = "images/failed"  # one image a listing is without, whatever the reason ...
image_failed = partial(_under, IMAGES_FAILED)  # ... and image_failed(reason): ``images/failed/<reason>``
IMAGES_MATCHED = "images/matched"
IMAGES_NEAR = "images/near"
IMAGES_REGISTRY_ERRORS = "images/registry_errors"
IMAGES_MATCH_REUSED = "images/match/reused"  # the match of these pictures, kept from an earlier run (memo)
IMAGES_LOCAL_CHECKED = "images/local/checked"
IMAGES_LOCAL_MATCHED = "images/local/matched"
IMAGES_LOCAL_SECONDS = "images/local/seconds"
IMAGES_LOCAL_REUSED = "images/local/reused"  # looked inside before, with the same pictures and code (memo)
OCR_READ = "ocr/read"
OCR_CACHED = "ocr/cached"
OCR_SKIPPED_BUDGET = "ocr/skipped_budget"
OCR_OFF = "ocr/off"
OCR_ERRORS = "ocr/errors"
OCR_SECONDS = "ocr/seconds"
