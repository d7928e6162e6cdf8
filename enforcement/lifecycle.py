"""What can happen to a complaint after it is filed on IPP, as a state machine.

A *case* is one complaint on IPP: one platform, one IPR, one reason, up to 300 listing URLs (one batch of
``scrapy complaints``). The case itself is ``prepared`` (the batch was written) and then ``filed`` (the
rights holder submitted it, and IPP gave it a complaint number). Each listing in it then has its own path:

    pending ──result──▶ supported ──removed──▶ removed
       │                   │                     │
       └──result──▶ rejected    └──counter-notice──┴──▶ counter_noticed ──reply──▶ replied ──outcome──▶ upheld
                                                            │                 │                    └─▶ reinstated
                                                            └────withdraw─────┴──▶ withdrawn

``withdrawn`` and ``reinstated`` are counter-notices that succeeded: the listing went back up. IPP's
Good-Faith figures (``enforcement.standing``) are counted from these states.

The transitions are data (``TRANSITIONS``): every event names the states it may start from and where it
leads, so a wrong step is refused with a sentence saying why, and the same table documents the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class CaseState(StrEnum):
    PREPARED = "prepared"
    FILED = "filed"


class ListingState(StrEnum):
    PENDING = "pending"
    SUPPORTED = "supported"
    REJECTED = "rejected"
    REMOVED = "removed"
    COUNTER_NOTICED = "counter_noticed"
    REPLIED = "replied"
    WITHDRAWN = "withdrawn"
    UPHELD = "upheld"
    REINSTATED = "reinstated"


class Event(StrEnum):
    RESULT = "result"
    REMOVED = "removed"
    COUNTER_NOTICE = "counter-notice"
    REPLY = "reply"
    WITHDRAW = "withdraw"
    OUTCOME = "outcome"


class CounterNoticeKind(StrEnum):
    INVOICE = "invoice"
    AUTHORIZATION = "authorization"
    OTHER = "other"


S = ListingState

# event -> (states it may start from, {outcome: new state}); outcome "" when the event has none.
TRANSITIONS: dict[Event, tuple[frozenset[ListingState], dict[str, ListingState]]] = {
    Event.RESULT: (frozenset({S.PENDING}), {"supported": S.SUPPORTED, "rejected": S.REJECTED}),
    Event.REMOVED: (frozenset({S.SUPPORTED}), {"": S.REMOVED}),
    Event.COUNTER_NOTICE: (frozenset({S.SUPPORTED, S.REMOVED}), {"": S.COUNTER_NOTICED}),
    Event.REPLY: (frozenset({S.COUNTER_NOTICED}), {"": S.REPLIED}),
    Event.WITHDRAW: (frozenset({S.COUNTER_NOTICED, S.REPLIED}), {"": S.WITHDRAWN}),
    Event.OUTCOME: (frozenset({S.REPLIED}), {"upheld": S.UPHELD, "reinstated": S.REINSTATED}),
}

# What a listing must have had before an event, said to the user when the event comes too early.
NEEDS: dict[Event, str] = {
    Event.RESULT: "a result is recorded once per listing, after the case is filed",
    Event.REMOVED: "a removal follows a supported result",
    Event.COUNTER_NOTICE: "a counter-notice follows a supported result",
    Event.REPLY: "a reply answers an open counter-notice",
    Event.WITHDRAW: "a withdrawal answers an open counter-notice",
    Event.OUTCOME: "IPP's outcome follows a reply to a counter-notice",
}

# The states whose result was "supported": IPP took the listing down.
TAKEN_DOWN = frozenset({S.SUPPORTED, S.REMOVED, S.COUNTER_NOTICED, S.REPLIED, S.WITHDRAWN, S.UPHELD,
                        S.REINSTATED})
DECIDED = TAKEN_DOWN | {S.REJECTED}
COUNTER_NOTICED = frozenset({S.COUNTER_NOTICED, S.REPLIED, S.WITHDRAWN, S.UPHELD, S.REINSTATED})
COUNTER_NOTICE_SUCCEEDED = frozenset({S.WITHDRAWN, S.REINSTATED})
AWAITING_REPLY = frozenset({S.COUNTER_NOTICED})


class TransitionError(ValueError):
    """A step that cannot happen from the listing's present state; the message says why."""


@dataclass(frozen=True)
class Step:
    event: Event
    outcome: str = ""


def next_state(state: ListingState | str, step: Step, *, where: str = "") -> ListingState:
    """The state after ``step``, or :class:`TransitionError` naming the listing (``where``) and the rule."""
    state = ListingState(state)
    allowed_from, outcomes = TRANSITIONS[step.event]
    outcome = step.outcome or ""
    if outcome not in outcomes:
        choices = ", ".join(sorted(o for o in outcomes if o)) or "none"
        raise TransitionError(f"{where}: {step.event} takes the outcome {choices}, not {outcome!r}")
    if state not in allowed_from:
        raise TransitionError(f"{where}: cannot record {step.event} while the listing is {state}: "
                              f"{NEEDS[step.event]}")
    return outcomes[outcome]


def add_business_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start``; IPP counts reply windows in them."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
