"""Review decisions, from the browser and from ``review.csv`` alike, into the one table the monitor reads.

A decision is kept with the fingerprint of what the reviewer saw (title, price, main image:
``exports.incremental.fingerprint``), so a listing whose title, price or image changes is asked about again:
the same rule ``review.csv`` follows. Every change — a decision, a bulk decision, a CSV import, an undo — is
appended to ``review_audit`` with the reviewer and the time; nothing there is ever rewritten except the
``undone`` mark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from exports.incremental import fingerprint
from pipelines.store import Store, rights_holder_key, utc_now
from workbench.schema import review_audit

DECISIONS = ("approve", "reject")


class DecisionError(ValueError):
    """A decision that cannot be taken; the message says why."""


@dataclass(frozen=True)
class Decided:
    platform: str
    listing_id: str
    decision: str | None
    previous: str | None


class DecisionBook:
    """The decisions of one rights holder, made by one reviewer."""

    def __init__(self, store: Store, registry: Any, reviewer: str):
        self.store = store
        self.registry = registry
        self.owner = rights_holder_key(registry)
        self.reviewer = reviewer or "reviewer"

    def current(self) -> dict[tuple[str, str], dict]:
        return self.store.review_decisions(self.registry)

    def decide(self, listings: Iterable[dict], decision: str, *, source: str = "web", note: str = "") -> list[Decided]:
        """Record ``decision`` for every listing given (each a listing dict as the queue holds it)."""
        if decision not in DECISIONS:
            raise DecisionError(f"decision {decision!r}: choose approve or reject")
        listings = list(listings)
        before = self.current()
        rows = [{"platform": str(item["platform"]), "listing_id": str(item["listing_id"]), "decision": decision,
                 "fingerprint": fingerprint(item), "reviewer": self.reviewer} for item in listings]
        self.store.record_reviews(rows, registry=self.registry)
        now = utc_now()
        done = [Decided(r["platform"], r["listing_id"], decision,
                        (before.get((r["platform"], r["listing_id"])) or {}).get("decision")) for r in rows]
        with self.store.engine.begin() as connection:
            if rows:
                connection.execute(review_audit.insert(), [
                    {"registry": self.owner, "platform": d.platform, "listing_id": d.listing_id, "decision": decision,
                     "previous": d.previous, "fingerprint": r["fingerprint"], "reviewer": self.reviewer,
                     "source": source, "at": now, "undone": 0, "note": note or None}
                    for d, r in zip(done, rows, strict=True)])
        return done

    def undo(self) -> list[Decided]:
        """Take back this reviewer's latest decision (or the whole latest bulk decision)."""
        with self.store.engine.connect() as connection:
            latest = connection.execute(
                select(review_audit).where((review_audit.c.registry == self.owner)
                                           & (review_audit.c.reviewer == self.reviewer)
                                           & (review_audit.c.undone == 0) & (review_audit.c.source != "undo"))
                .order_by(review_audit.c.id.desc()).limit(1)).mappings().first()
            if latest is None:
                return []
            group = connection.execute(
                select(review_audit).where((review_audit.c.registry == self.owner)
                                           & (review_audit.c.reviewer == self.reviewer)
                                           & (review_audit.c.at == latest["at"])
                                           & (review_audit.c.source == latest["source"])
                                           & (review_audit.c.undone == 0))).mappings().all()
        reverted = []
        for row in group:
            self._restore(row["platform"], row["listing_id"], row["previous"], row["fingerprint"])
            reverted.append(Decided(row["platform"], row["listing_id"], row["previous"], row["decision"]))
        now = utc_now()
        with self.store.engine.begin() as connection:
            connection.execute(update(review_audit).where(review_audit.c.id.in_([r["id"] for r in group]))
                               .values(undone=1))
            connection.execute(review_audit.insert(), [
                {"registry": self.owner, "platform": d.platform, "listing_id": d.listing_id, "decision": d.decision,
                 "previous": d.previous, "fingerprint": None, "reviewer": self.reviewer, "source": "undo",
                 "at": now, "undone": 0, "note": None} for d in reverted])
        return reverted

    def _restore(self, platform: str, listing_id: str, previous: str | None, fingerprint_: str | None) -> None:
        if previous:
            self.store.record_reviews([{"platform": platform, "listing_id": listing_id, "decision": previous,
                                        "fingerprint": fingerprint_ or "", "reviewer": self.reviewer}],
                                      registry=self.registry)
        else:
            self.store.forget_review(platform, listing_id, registry=self.registry)

    def audit(self, limit: int = 200) -> list[dict]:
        with self.store.engine.connect() as connection:
            return [dict(r) for r in connection.execute(
                select(review_audit).where(review_audit.c.registry == self.owner)
                .order_by(review_audit.c.id.desc()).limit(limit)).mappings()]


def import_review_csv(book: DecisionBook, path: str, listings_by_key: dict[tuple[str, str], dict]) -> dict:
    """A ``review.csv`` edited in Excel into the store: the same table the browser writes.
    Rows whose listing is not in the run are counted, not guessed."""
    from exports.review_csv import read_decisions

    decisions = read_decisions(path)
    counts = {"approve": 0, "reject": 0, "unknown": 0}
    for decision in DECISIONS:
        chosen = [listings_by_key[key] for key, row in decisions.items()
                  if row.get("decision") == decision and key in listings_by_key]
        book.decide(chosen, decision, source="csv", note=str(path))
        counts[decision] = len(chosen)
    counts["unknown"] = sum(1 for key, row in decisions.items()
                            if row.get("decision") in DECISIONS and key not in listings_by_key)
    return counts
