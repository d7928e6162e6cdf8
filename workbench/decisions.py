"""Review decisions, from the browser and from ``review.csv`` alike, into the one table the monitor reads.

A decision is kept with the fingerprint of what the reviewer saw (title, price, main image:
``exports.incremental.fingerprint``), so a listing whose title, price or image changes is asked about again:
the same rule ``review.csv`` follows. Every change — a decision, a bulk decision, a CSV import, an undo — is
appended to ``review_audit`` with the reviewer and the time; nothing there is ever rewritten except the
``undone`` mark.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from exports.incremental import changes, fingerprint
from store import Store, rights_holder_key, utc_now
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

    def decide(self, listings: Iterable[dict], decision: str, *, source: str = "web", note: str = "",
               batch: str | None = None) -> list[Decided]:
        """Record ``decision`` for every listing given (each a listing dict as the queue holds it), as one
        batch: a single undo takes the whole batch back."""
        if decision not in DECISIONS:
            raise DecisionError(f"decision {decision!r}: choose approve or reject")
        listings = list(listings)
        before = self.current()
        rows = [{"platform": str(item["platform"]), "listing_id": str(item["listing_id"]), "decision": decision,
                 "fingerprint": fingerprint(item), "reviewer": self.reviewer} for item in listings]
        if not rows:
            return []
        self.store.record_reviews(rows, registry=self.registry)
        now, batch = utc_now(), batch or secrets.token_hex(8)
        done, audit = [], []
        for row in rows:
            earlier = before.get((row["platform"], row["listing_id"])) or {}
            done.append(Decided(row["platform"], row["listing_id"], decision, earlier.get("decision")))
            audit.append({"registry": self.owner, "platform": row["platform"], "listing_id": row["listing_id"],
                          "decision": decision, "previous": earlier.get("decision"),
                          "fingerprint": row["fingerprint"], "previous_fingerprint": earlier.get("fingerprint"),
                          "reviewer": self.reviewer, "source": source, "at": now, "batch": batch, "undone": 0,
                          "note": note or None})
        with self.store.engine.begin() as connection:
            connection.execute(review_audit.insert(), audit)
        return done

    def undo(self) -> list[Decided]:
        """Take back this reviewer's latest decision (or the whole latest bulk decision or import)."""
        mine = (review_audit.c.registry == self.owner) & (review_audit.c.reviewer == self.reviewer) \
            & (review_audit.c.undone == 0)
        with self.store.engine.connect() as connection:
            latest = connection.execute(select(review_audit.c.batch).where(mine & (review_audit.c.source != "undo"))
                                        .order_by(review_audit.c.id.desc()).limit(1)).scalar()
            if latest is None:
                return []
            group = connection.execute(select(review_audit).where(mine & (review_audit.c.batch == latest))
                                       .order_by(review_audit.c.id)).mappings().all()
        reverted = []
        for row in group:
            self._restore(row["platform"], row["listing_id"], row["previous"], row["previous_fingerprint"])
            reverted.append(Decided(row["platform"], row["listing_id"], row["previous"], row["decision"]))
        now, batch = utc_now(), secrets.token_hex(8)
        with self.store.engine.begin() as connection:
            connection.execute(update(review_audit).where(review_audit.c.id.in_([r["id"] for r in group]))
                               .values(undone=1))
            connection.execute(review_audit.insert(), [
                {"registry": self.owner, "platform": d.platform, "listing_id": d.listing_id, "decision": d.decision,
                 "previous": d.previous, "fingerprint": row["previous_fingerprint"],
                 "previous_fingerprint": row["fingerprint"], "reviewer": self.reviewer, "source": "undo",
                 "at": now, "batch": batch, "undone": 0, "note": None}
                for d, row in zip(reverted, group, strict=True)])
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

    A row is a decision about the listing as the row shows it: when the listing's title or price has
    changed since (the fingerprint rule), the decision is not taken for the listing as it is now, and the
    row is counted as ``changed`` (asked again). Rows whose listing is not in the run are counted, not
    guessed; a row repeating the decision already in the store is not recorded twice."""
    from exports.review_csv import read_decisions

    decisions = read_decisions(path)
    current = book.current()
    counts = {"approve": 0, "reject": 0, "unchanged": 0, "changed": 0, "unknown": 0}
    chosen: dict[str, list[dict]] = {decision: [] for decision in DECISIONS}
    for key, row in decisions.items():
        if row.get("decision") not in DECISIONS:
            continue
        listing = listings_by_key.get(key)
        if listing is None:
            counts["unknown"] += 1
        elif changes(_as_seen(row, listing), listing):
            counts["changed"] += 1
        elif (current.get(key) or {}).get("decision") == row["decision"] \
                and current[key].get("fingerprint") == fingerprint(listing):
            counts["unchanged"] += 1
        else:
            chosen[row["decision"]].append(listing)
    batch = secrets.token_hex(8)  # one import, one undo
    for decision, listings in chosen.items():
        book.decide(listings, decision, source="csv", note=str(path), batch=batch)
        counts[decision] = len(listings)
    return counts


def _as_seen(row: dict, listing: dict) -> dict:
    """What the reviewer saw, from the row; a column the file no longer has is taken as unchanged."""
    seen = {"title": row["title"] if "title" in row else listing.get("title")}
    if "price" in row:
        seen["price"] = row["price"]
    else:
        seen.update(price_min=listing.get("price_min"), price_max=listing.get("price_max"))
    return seen
