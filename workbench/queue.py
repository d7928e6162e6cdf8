"""The validation queue: one card per flagged listing of a run, highest score first, with filters and counts.

The run's listings are read once from the store and annotated as the monitor's reports are (status new,
seen, re-listed, complained, removed: ``exports.incremental.annotate``). Decisions are read fresh on every
request, so the browser, a bulk action and an imported ``review.csv`` always agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from contract import FLAGGED, ListingStatus
from exports.incremental import annotate, fingerprint
from exports.review_csv import format_price

FILTERS = ("platform", "verdict", "reason", "status", "seller", "decision")
DECISION_STATES = ("undecided", "approve", "reject", "changed")
# The default view: what still needs a person, i.e. never decided, or decided about a title, price or
# image that has changed since (the same rule review.csv follows: asked again).
OPEN = "open"
OPEN_STATES = ("undecided", "changed")


@dataclass
class Filters:
    platform: str = ""
    verdict: str = ""
    reason: str = ""
    status: str = ""
    seller: str = ""
    decision: str = OPEN  # open (undecided or changed) | undecided | approve | reject | changed | all
    score_min: float | None = None
    score_max: float | None = None

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        def number(name: str) -> float | None:
            try:
                return float(query.get(name)) if query.get(name) not in (None, "") else None
            except ValueError:
                return None
        return cls(**{name: str(query.get(name) or "") for name in FILTERS[:-1]},
                   decision=str(query.get("decision") or OPEN),
                   score_min=number("score_min"), score_max=number("score_max"))

    def query_string(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        values = {**self.__dict__, **changes}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass
class Queue:
    run_id: str
    cards: list[dict] = field(default_factory=list)  # flagged listings, highest score first
    by_key: dict[tuple[str, str], dict] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Any, registry: Any, run_id: str) -> Queue:
        listings = annotate(store.run_listings(run_id), run_id=run_id, complained=store.complaints_on_file(registry),
                            decisions={})
        cards = [item for item in listings if item.get("verdict") in FLAGGED or item.get("status") == ListingStatus.REMOVED]
        cards.sort(key=lambda item: (-(float(item.get("score") or 0)), item["platform"], item["listing_id"]))
        return cls(run_id, cards, {(c["platform"], c["listing_id"]): c for c in cards})

    def decision_state(self, card: dict, decisions: dict) -> str:
        decided = decisions.get((card["platform"], card["listing_id"]))
        if not decided:
            return "undecided"
        if decided["fingerprint"] != fingerprint(card):
            return "changed"  # title, price or image changed since: asked again
        return decided["decision"]

    def select(self, filters: Filters, decisions: dict) -> list[dict]:
        return [card for card in self.cards if self._matches(card, filters, decisions)]

    def counts(self, filters: Filters, decisions: dict) -> dict[str, Counter]:
        """For each filter, how many cards each value would show with the other filters as they are."""
        counts: dict[str, Counter] = {}
        for name in FILTERS:
            others = Filters(**{**filters.__dict__, name: "" if name != "decision" else "all"})
            counts[name] = Counter(self._value(card, name, decisions) for card in self.select(others, decisions))
        return counts

    def _matches(self, card: dict, filters: Filters, decisions: dict) -> bool:
        for name in FILTERS:
            wanted = getattr(filters, name)
            if name == "decision" and wanted in ("", "all"):
                continue
            if name == "decision" and wanted == OPEN:
                if self.decision_state(card, decisions) not in OPEN_STATES:
                    return False
                continue
            if wanted and self._value(card, name, decisions) != wanted:
                return False
        score = float(card.get("score") or 0)
        if filters.score_min is not None and score < filters.score_min:
            return False
        return not (filters.score_max is not None and score > filters.score_max)

    def _value(self, card: dict, name: str, decisions: dict) -> str:
        if name == "decision":
            return self.decision_state(card, decisions)
        if name == "seller":
            return str(card.get("seller_name") or "")
        return str(card.get(name) or "")


def highlighted_title(card: dict) -> Markup:
    """The title with the matched mark wrapped in <mark>, everything escaped."""
    title = str(card.get("title") or "")
    brand = (card.get("signals") or {}).get("brand") or {}
    start, end = brand.get("start"), brand.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(title):
        return escape(title)
    return escape(title[:start]) + Markup("<mark>") + escape(title[start:end]) + Markup("</mark>") + escape(title[end:])


def card_view(card: dict, state: str) -> dict:
    signals = card.get("signals") or {}
    image = signals.get("image") or {}
    price = signals.get("price") or {}
    return {
        "key": f"{card['platform']}:{card['listing_id']}", "platform": card["platform"],
        "listing_id": card["listing_id"], "url": card.get("url") or "", "title": highlighted_title(card),
        "score": card.get("score"), "verdict": card.get("verdict"), "reason": card.get("reason") or "",
        "status": card.get("status") or "", "seller": card.get("seller_name") or "(seller hidden)",
        "seller_name": card.get("seller_name") or "",
        "price": format_price(card.get("price_min"), card.get("price_max")), "currency": card.get("currency") or "",
        "reference": (price.get("reference") or {}), "price_ratio": price.get("ratio"),
        "explanation": card.get("explanation") or "", "ipr_id": card.get("ipr_id") or "",
        "registered_image": image.get("registered_image") or "", "has_listing_image": bool(card.get("images")),
        "decision": state, "signals": signals,
    }
