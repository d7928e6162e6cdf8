"""Complaint cases in the store: open them from batches, record what IPP did, and read them back.

Every step goes through ``enforcement.lifecycle.next_state``, so a wrong step (a reply before any
counter-notice, a result for a case never filed) is refused with a message and nothing is written. Every
step that is taken is kept in ``case_events`` with the day it happened and when it was recorded: the
history is an audit log, and the standing figures are computed from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection, Engine

from enforcement.lifecycle import (
    AWAITING_REPLY,
    CaseState,
    CounterNoticeKind,
    Event,
    ListingState,
    Step,
    TransitionError,
    add_business_days,
    next_state,
)
from enforcement.schema import case_events, case_listings, cases, counter_notices
from store import utc_now

# Working days the complainant has to answer a counter-notice before IPP decides without them (IPP's
# messages state the window of each notice; this is the shortest window seen and the default).
REPLY_BUSINESS_DAYS = 3
# Days after a supported result before a listing still seen live is raised: IPP handles most takedowns within
# 24 hours, and the monitor's next run is the first to look.
STILL_LIVE_GRACE_DAYS = 3

CASE_ID = re.compile(r"^(?:C-)?0*(\d+)$", re.IGNORECASE)


class CaseError(ValueError):
    """A case or listing that does not exist, or an argument that cannot be read."""


@dataclass(frozen=True)
class ListingRef:
    platform: str
    listing_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.listing_id}"


def case_label(case_id: int) -> str:
    return f"C-{case_id:04d}"


def parse_case_id(text: str | int) -> int:
    match = CASE_ID.match(str(text).strip())
    if not match:
        raise CaseError(f"{text!r} is not a case id (they look like C-0012)")
    return int(match.group(1))


def parse_day(text: str | date | None, *, what: str) -> str:
    if isinstance(text, date):
        return text.isoformat()
    try:
        return date.fromisoformat(str(text).strip()).isoformat()
    except ValueError:
        raise CaseError(f"{what}: {text!r} is not a date (write it as 2026-11-30)") from None


class CaseBook:
    """The cases of one rights holder (``registry_key``) in one store."""

    def __init__(self, engine: Engine, registry_key: str):
        self.engine = engine
        self.registry_key = registry_key
        self._connection: Connection | None = None

    @contextmanager
    def atomic(self, *, commit: Callable[[], bool] = lambda: True) -> Iterator[CaseBook]:
        """Every step inside is written together or not at all (an import of a whole sheet): after the
        block, ``commit()`` says whether to keep it."""
        with self.engine.connect() as connection:
            transaction = connection.begin()
            self._connection = connection
            try:
                yield self
            except BaseException:
                transaction.rollback()
                raise
            else:
                if commit():
                    transaction.commit()
                else:
                    transaction.rollback()
            finally:
                self._connection = None

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        if self._connection is None:
            with self.engine.begin() as connection:
                yield connection
        else:  # inside atomic(): one transaction for everything, committed or rolled back by atomic()
            yield self._connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._connection is None:
            with self.engine.connect() as connection:
                yield connection
        else:
            yield self._connection

    # --- opening ----------------------------------------------------------------------------
    def open_case(self, *, platform: str, ipr_id: str, reason: str, batch: str, folder: str,
                  listings: Iterable[dict], complaint_type: str = "listing") -> int:
        """A prepared case for one written batch; ``listings`` carry platform, listing_id, url, seller."""
        now = utc_now()
        with self._begin() as connection:
            case_id = connection.execute(cases.insert().values(
                registry_key=self.registry_key, platform=platform, ipr_id=ipr_id, reason=reason,
                complaint_type=complaint_type, batch=batch, folder=folder, state=CaseState.PREPARED,
                created_at=now)).inserted_primary_key[0]
            rows = [{"case_id": case_id, "platform": str(item["platform"]), "listing_id": str(item["listing_id"]),
                     "url": item.get("url"), "seller_name": item.get("seller_name") or item.get("seller"),
                     "state": ListingState.PENDING, "updated_at": now} for item in listings]
            if rows:
                connection.execute(case_listings.insert(), rows)
            self._event(connection, case_id, None, "prepared", "", now[:10], {"batch": batch})
        return case_id

    # --- steps ------------------------------------------------------------------------------
    def file(self, case_id: int, *, ipp_number: str, on: str | date) -> None:
        day = parse_day(on, what="filed on")
        with self._begin() as connection:
            case = self._case(connection, case_id)
            if case["state"] != CaseState.PREPARED:
                raise TransitionError(f"{case_label(case_id)}: already filed on {case['filed_on']} as "
                                      f"IPP complaint {case['ipp_number']}")
            if not str(ipp_number).strip():
                raise CaseError(f"{case_label(case_id)}: IPP's complaint number is needed to record the filing")
            connection.execute(cases.update().where(cases.c.id == case_id).values(
                state=CaseState.FILED, ipp_number=str(ipp_number).strip(), filed_on=day))
            self._event(connection, case_id, None, "filed", "", day, {"ipp_number": str(ipp_number).strip()})

    def result(self, case_id: int, outcome: str, *, on: str | date, listings: Iterable[ListingRef] = (),
               ipp_reason: str = "") -> int:
        """IPP's decision for the given listings, or for every listing still pending when none is given."""
        day = parse_day(on, what="result on")
        with self._begin() as connection:
            case = self._case(connection, case_id)
            if case["state"] != CaseState.FILED:
                raise TransitionError(f"{case_label(case_id)}: record the filing (IPP's complaint number) "
                                      "before its result")
            chosen = list(listings) or [ListingRef(r["platform"], r["listing_id"])
                                        for r in self._listings(connection, case_id)
                                        if r["state"] == ListingState.PENDING]
            for ref in chosen:
                self._step(connection, case_id, ref, Step(Event.RESULT, outcome), day,
                           {"decided_on": day, "ipp_reason": ipp_reason or None}, {"ipp_reason": ipp_reason})
        return len(chosen)

    def removed(self, ref: ListingRef, *, on: str | date) -> list[int]:
        """The monitor saw ``ref`` gone: every case of this rights holder where it stood supported."""
        day = parse_day(on, what="removed on")
        moved = []
        with self._begin() as connection:
            for row in self._cases_of(connection, ref):
                if row["state"] == ListingState.SUPPORTED:
                    self._step(connection, row["case_id"], ref, Step(Event.REMOVED), day, {"removed_on": day})
                    moved.append(row["case_id"])
                elif row["removed_on"] is None and row["state"] == ListingState.PENDING:
                    # gone before IPP's answer came in: remember the day, the result decides the state
                    connection.execute(case_listings.update().where(self._where(row["case_id"], ref)).values(
                        removed_on=day, updated_at=utc_now()))
        return moved

    def seen_live(self, ref: ListingRef, *, on: str | date) -> None:
        """The monitor saw ``ref`` live: kept on supported and reinstated listings, for the alerts."""
        day = parse_day(on, what="seen on")
        with self._begin() as connection:
            for row in self._cases_of(connection, ref):
                if row["state"] in (ListingState.SUPPORTED, ListingState.REINSTATED, ListingState.WITHDRAWN):
                    connection.execute(case_listings.update().where(self._where(row["case_id"], ref)).values(
                        live_on=day, updated_at=utc_now()))

    def counter_notice(self, case_id: int, ref: ListingRef, *, received: str | date, kind: str,
                       files: Iterable[str] = (), reply_days: int = REPLY_BUSINESS_DAYS) -> dict:
        day = parse_day(received, what="received")
        try:
            kind = CounterNoticeKind(kind)
        except ValueError:
            raise CaseError(f"--kind {kind!r}: choose invoice, authorization or other") from None
        deadline = add_business_days(date.fromisoformat(day), reply_days).isoformat()
        with self._begin() as connection:
            self._step(connection, case_id, ref, Step(Event.COUNTER_NOTICE), day, {},
                       {"kind": kind, "files": list(files), "deadline": deadline})
            notice_id = connection.execute(counter_notices.insert().values(
                case_id=case_id, platform=ref.platform, listing_id=ref.listing_id, received_on=day, kind=kind,
                files=json.dumps(list(files), ensure_ascii=False), deadline=deadline)).inserted_primary_key[0]
        return {"id": notice_id, "case_id": case_id, "platform": ref.platform, "listing_id": ref.listing_id,
                "received_on": day, "kind": str(kind), "files": list(files), "deadline": deadline}

    def set_pack(self, notice_id: int, folder: str) -> None:
        with self._begin() as connection:
            connection.execute(counter_notices.update().where(counter_notices.c.id == notice_id).values(pack=folder))

    def reply(self, case_id: int, ref: ListingRef, *, on: str | date) -> None:
        day = parse_day(on, what="replied on")
        with self._begin() as connection:
            self._step(connection, case_id, ref, Step(Event.REPLY), day, {})

    def withdraw(self, case_id: int, ref: ListingRef, *, on: str | date) -> None:
        day = parse_day(on, what="withdrawn on")
        with self._begin() as connection:
            self._step(connection, case_id, ref, Step(Event.WITHDRAW), day, {})

    def outcome(self, case_id: int, ref: ListingRef, outcome: str, *, on: str | date) -> None:
        day = parse_day(on, what="decided on")
        with self._begin() as connection:
            self._step(connection, case_id, ref, Step(Event.OUTCOME, outcome), day, {})

    # --- reading ----------------------------------------------------------------------------
    def case(self, case_id: int) -> dict:
        with self._read() as connection:
            case = self._case(connection, case_id)
            case["listings"] = self._listings(connection, case_id)
        return case

    def all_cases(self) -> list[dict]:
        with self._read() as connection:
            rows = connection.execute(select(cases).where(cases.c.registry_key == self.registry_key)
                                      .order_by(cases.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def listing_history(self) -> list[dict]:
        """One row per (case, listing): the case's platform, IPR, reason and filing day with the listing's
        state and days. What ``enforcement.standing`` and the seller view count."""
        query = (select(cases.c.id.label("case_id"), cases.c.platform, cases.c.ipr_id, cases.c.reason,
                        cases.c.complaint_type, cases.c.state.label("case_state"), cases.c.ipp_number,
                        cases.c.filed_on, case_listings.c.listing_id, case_listings.c.url,
                        case_listings.c.seller_name, case_listings.c.state, case_listings.c.decided_on,
                        case_listings.c.removed_on, case_listings.c.live_on, case_listings.c.ipp_reason)
                 .join(case_listings, case_listings.c.case_id == cases.c.id)
                 .where(cases.c.registry_key == self.registry_key)
                 .order_by(cases.c.id, case_listings.c.platform, case_listings.c.listing_id))
        with self._read() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]

    def counter_notices(self) -> list[dict]:
        query = (select(counter_notices, case_listings.c.state, cases.c.ipr_id, cases.c.reason)
                 .join(cases, cases.c.id == counter_notices.c.case_id)
                 .join(case_listings, and_(case_listings.c.case_id == counter_notices.c.case_id,
                                           case_listings.c.platform == counter_notices.c.platform,
                                           case_listings.c.listing_id == counter_notices.c.listing_id))
                 .where(cases.c.registry_key == self.registry_key)
                 .order_by(counter_notices.c.deadline))
        with self._read() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]

    def awaiting_reply(self) -> list[dict]:
        """Counter-notices nobody has answered yet, soonest deadline first."""
        return [n for n in self.counter_notices() if n["state"] in AWAITING_REPLY]

    def alerts(self, as_of: str | date, *, grace_days: int = STILL_LIVE_GRACE_DAYS) -> list[dict]:
        """Listings that need the rights holder: still live ``grace_days`` after IPP supported the complaint
        (seen live by a monitor run since), and listings back up after a counter-notice succeeded."""
        today = date.fromisoformat(parse_day(as_of, what="as of"))
        found = []
        for row in self.listing_history():
            label = f"{case_label(row['case_id'])} {row['platform']}:{row['listing_id']}"
            if row["state"] == ListingState.SUPPORTED and row["decided_on"] and row["live_on"]:
                due = date.fromisoformat(row["decided_on"]) + timedelta(days=grace_days)
                if today >= due and date.fromisoformat(row["live_on"]) >= due:
                    found.append({**row, "alert": "still-live", "message": (
                        f"{label}: still live on {row['live_on']}, {(today - date.fromisoformat(row['decided_on'])).days} "
                        f"days after IPP supported the complaint ({row['decided_on']}); tell IPP, quoting "
                        f"{row['ipp_number']}")})
            elif row["state"] in (ListingState.REINSTATED, ListingState.WITHDRAWN):
                seen = f", seen live on {row['live_on']}" if row["live_on"] else ""
                found.append({**row, "alert": "reinstated", "message": (
                    f"{label}: reinstated after a counter-notice{seen}; it counts against the Good-Faith "
                    "standing, and it may be complained about again only with new evidence")})
        return found

    def events(self, case_id: int | None = None) -> list[dict]:
        query = select(case_events).join(cases, cases.c.id == case_events.c.case_id).where(
            cases.c.registry_key == self.registry_key)
        if case_id is not None:
            query = query.where(case_events.c.case_id == case_id)
        with self._read() as connection:
            return [dict(r) for r in connection.execute(query.order_by(case_events.c.id)).mappings()]

    def count(self) -> int:
        with self._read() as connection:
            return connection.execute(select(func.count()).select_from(cases).where(
                cases.c.registry_key == self.registry_key)).scalar_one()

    # --- internals --------------------------------------------------------------------------
    def _case(self, connection: Connection, case_id: int) -> dict:
        row = connection.execute(select(cases).where(
            (cases.c.id == case_id) & (cases.c.registry_key == self.registry_key))).mappings().first()
        if row is None:
            raise CaseError(f"{case_label(case_id)}: no such case for this rights holder")
        return dict(row)

    def _listings(self, connection: Connection, case_id: int) -> list[dict]:
        return [dict(r) for r in connection.execute(select(case_listings).where(
            case_listings.c.case_id == case_id).order_by(case_listings.c.platform,
                                                         case_listings.c.listing_id)).mappings()]

    def _cases_of(self, connection: Connection, ref: ListingRef) -> list[dict]:
        query = (select(case_listings).join(cases, cases.c.id == case_listings.c.case_id)
                 .where((cases.c.registry_key == self.registry_key) & (case_listings.c.platform == ref.platform)
                        & (case_listings.c.listing_id == ref.listing_id)))
        return [dict(r) for r in connection.execute(query).mappings()]

    @staticmethod
    def _where(case_id: int, ref: ListingRef):
        return ((case_listings.c.case_id == case_id) & (case_listings.c.platform == ref.platform)
                & (case_listings.c.listing_id == ref.listing_id))

    def _step(self, connection: Connection, case_id: int, ref: ListingRef, step: Step, day: str,
              values: dict, detail: dict | None = None) -> ListingState:
        where = f"{case_label(case_id)} {ref}"
        case = self._case(connection, case_id)
        if case["state"] != CaseState.FILED:
            raise TransitionError(f"{where}: the case is not filed yet (record IPP's complaint number first)")
        row = connection.execute(select(case_listings).where(self._where(case_id, ref))).mappings().first()
        if row is None:
            raise CaseError(f"{where}: this listing is not in the case")
        state = next_state(row["state"], step, where=where)
        if step.event == Event.RESULT and step.outcome == "supported" and row["removed_on"]:
            state = ListingState.REMOVED  # it was already gone when the result came in
        connection.execute(case_listings.update().where(self._where(case_id, ref)).values(
            state=state, updated_at=utc_now(), **values))
        self._event(connection, case_id, ref, str(step.event), step.outcome, day, detail or {})
        return state

    @staticmethod
    def _event(connection: Connection, case_id: int, ref: ListingRef | None, event: str, outcome: str, day: str,
               detail: dict) -> None:
        connection.execute(case_events.insert().values(
            case_id=case_id, platform=ref.platform if ref else None, listing_id=ref.listing_id if ref else None,
            event=event, outcome=outcome or None, happened_on=day, recorded_at=utc_now(),
            detail=json.dumps(detail, ensure_ascii=False, default=str)))
