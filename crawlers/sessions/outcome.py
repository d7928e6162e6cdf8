"""What a crawl its session stopped exits with: `scrapy crawl` must not say 0 when a platform was skipped
for want of a sign-in, stopped by an expired session or a refused proxy, or paused at a slider.

Scrapy's own `crawl` command sets a non-zero exit code only when a crawler fails to start; a crawl that its
session middleware closed (finish reason ``session_<state>``) has started and finished normally. So the
middleware notes each crawl's outcome here when its spider closes, and ipwatch's `crawl` command asks
:func:`crawl_exit_code` after the run, with the monitor's meaning of the codes:

- 3: the platform could not crawl at all (stopped with no listing): "no platform could crawl";
- 1: it stopped part-way, after some listings (what came before is kept, and the log says why it stopped);
- 0: no session stopped it.
"""

from __future__ import annotations

import logging

from contract import stats as stats_keys

logger = logging.getLogger(__name__)

STOPPED_STATES = ("missing", "expired", "paused", "budget", "invalid", "proxy")
NOTHING_CRAWLED, STOPPED_PART_WAY = 3, 1

# one entry per crawl of this process that its session stopped: (platform, state, exit code)
_STOPPED: list[tuple[str, str, int]] = []


def stopped_reason(stats: dict, platform: str) -> str:
    """``missing``/``expired``/``paused``/``budget``/``invalid``/``proxy`` when the session middleware stopped
    the platform, else ``""``."""
    return str(stats.get(stats_keys.session("stopped", platform)) or "")


def exit_code_for(stats: dict, platform: str) -> int:
    """The exit code one crawl of ``platform`` deserves, from its final stats."""
    if stopped_reason(stats, platform) not in STOPPED_STATES:
        return 0
    return STOPPED_PART_WAY if stats.get(stats_keys.SEARCH_LISTINGS) else NOTHING_CRAWLED


def note_crawl_end(stats: dict, platform: str) -> None:
    """Called as the spider closes: remember a crawl its session stopped."""
    code = exit_code_for(stats, platform)
    if code:
        _STOPPED.append((platform, stopped_reason(stats, platform), code))


def crawl_exit_code() -> int:
    """The worst exit code of the crawls this process ran (0 when no session stopped any), said on stderr."""
    if not _STOPPED:
        return 0
    for platform, state, code in _STOPPED:
        what = "nothing was crawled" if code == NOTHING_CRAWLED else "it stopped part-way"
        logger.error("%s: stopped by its session (%s); %s: exit code %d", platform or "crawl", state, what, code)
    return max(code for _platform, _state, code in _STOPPED)
