"""Pacing per account: one signed-in account crawling at machine speed is what gets it restricted.

- ``SESSION_REQUESTS_PER_MINUTE`` (default 6) per session, each gap jittered by ``SESSION_JITTER``
  (default 0.3: ±30 %), so the requests of one account never come in a machine's even beat;
- ``SESSION_DAILY_PAGES`` (default 300) requests per account per UTC day, counted in the session's
  ``meta.json`` so that several runs on one day share the budget.

Slots are reserved before sleeping, so concurrent requests of one session still queue one behind another.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_RATE = 6.0
DEFAULT_JITTER = 0.3
DEFAULT_DAILY_PAGES = 300


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


@dataclass
class Pacer:
    """The gaps between one session's requests."""

    per_minute: float = DEFAULT_RATE
    jitter: float = DEFAULT_JITTER
    clock: Callable[[], float] = time.monotonic
    _next_slot: float = field(default=0.0, init=False)

    def interval(self) -> float:
        if self.per_minute <= 0:
            return 0.0
        base = 60.0 / self.per_minute
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reserve(self) -> float:
        """Seconds to wait before the next request may go; that slot is taken."""
        now = self.clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval()
        return slot - now

    async def wait(self) -> float:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        return delay


def spend_daily_page(meta: dict, budget: int) -> bool:
    """Count one request in ``meta`` for today; False (nothing counted) when the day's budget is spent."""
    day = today()
    if meta.get("pages_day") != day:
        meta["pages_day"], meta["pages_today"] = day, 0
    if budget > 0 and meta["pages_today"] >= budget:
        return False
    meta["pages_today"] += 1
    return True
