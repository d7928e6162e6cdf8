"""The data-access layer: ``Store``, one store opened from a URL, and every query the rest of ipwatch asks.

Idempotence: listings are upserted on (platform, listing_id) and sightings on (run_id, platform,
listing_id), so re-running the same crawl (same RUN_ID) writes nothing twice, and a crawl killed and
started again neither loses nor duplicates rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Select, Table, select

from contract import ComplaintStatus, RunStatus
from contract.image_hit import confident_registered_image
from store.engine import create_store_engine, to_json, upsert_into, utc_now
from store.listing_rows import listing_row, sighting_row, strip_nul
from store.locks import RunLocks
from store.migrations import migrate
from store.owners import outranks, owner_key, rights_holder_key, scope
from store.schema import complaints, listings, reviews, runs, sightings

# What a listing row adds to its JSON ``data`` when read back as a listing.
_LISTING_EXTRAS = ("first_seen", "last_seen", "first_run", "main_image_phash")
# What a later sighting of a listing replaces in its row (``first_*`` are kept).
_LISTING_UPDATED = ("url", "title", "price_min", "price_max", "currency", "seller_id", "seller_name",
                    "main_image_phash", "last_seen", "last_run", "score", "verdict", "reason", "ipr_id",
                    "product_id", "explanation", "data")
_SIGHTING_UPDATED = ("query", "page", "rank", "price_min", "price_max", "seen_at")


def _listing_data(row: Any) -> dict:
    item = json.loads(row["data"])
    item.update({name: row[name] for name in _LISTING_EXTRAS})
    return item


def _listing_columns() -> Select:
    return select(listings.c.platform, listings.c.listing_id, listings.c.data,
                  *(listings.c[name] for name in _LISTING_EXTRAS))


def _after(last: tuple[str, str]) -> Any:
    """Listings after ``last`` in (platform, listing_id) order: one page of a keyset pagination."""
    return (listings.c.platform > last[0]) | ((listings.c.platform == last[0]) & (listings.c.listing_id > last[1]))


class Store(RunLocks):
    """One store, opened from a URL (``sqlite:///data/monitor.db``, ``postgresql://…``)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        self.migrate()

    def migrate(self) -> int:
        """Apply the migrations this store has not seen (``store.migrations.migrate``)."""
        return migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _pages(self, query_after: Callable[[tuple[str, str]], Select]) -> Iterator[list]:
        """The rows of ``query_after(last)``, page by page, until a page comes back empty."""
        last = ("", "")
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(query_after(last)).mappings().all()
            if not rows:
                return
            yield rows
            last = (rows[-1]["platform"], rows[-1]["listing_id"])

    # --- runs ------------------------------------------------------------------------------
    def ensure_run(self, run_id: str, *, registry: str | None = None, platforms: Iterable[str] = ()) -> None:
        statement = upsert_into(self.engine, runs).values(
            run_id=run_id, started_at=utc_now(), status=RunStatus.RUNNING, registry=registry,
            platforms=",".join(platforms),
        ).on_conflict_do_nothing(index_elements=["run_id"])
        with self.engine.begin() as connection:
            connection.execute(statement)

    def finish_run(self, run_id: str, status: str, stats: dict | None = None, *, resumable: bool = False) -> None:
        """Record how ``run_id`` ended. A ``resumable`` run (stopped by SIGTERM) keeps no ``finished_at``:
        it stays open for the next start to continue (store/resume.py)."""
        with self.engine.begin() as connection:
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(
                finished_at=None if resumable else utc_now(), status=status, stats=to_json(stats or {})))

    def reopen_run(self, run_id: str) -> None:
        """A run continued (resumed, or re-run under the same id) is running again."""
        with self.engine.begin() as connection:
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(status=RunStatus.RUNNING,
                                                                                   finished_at=None))

    def close_run(self, run_id: str, reason: str) -> None:
        """An open run that will never be continued: ``interrupted``, finished now, ``reason`` in its stats."""
        with self.engine.begin() as connection:
            row = connection.execute(select(runs.c.stats).where(runs.c.run_id == run_id)).first()
            stats = json.loads(row[0]) if row and row[0] else {}
            stats["closed"] = reason
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(
                status=RunStatus.INTERRUPTED, finished_at=utc_now(), stats=to_json(stats)))

    def open_runs(self, registry: str) -> list[dict]:
        """Runs on ``registry`` without a ``finished_at`` (killed, or stopped by SIGTERM), latest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(runs).where(
                (runs.c.registry == registry) & runs.c.finished_at.is_(None)).order_by(
                runs.c.started_at.desc(), runs.c.run_id.desc())).mappings().all()
        return [dict(row) for row in rows]

    def unfinished_run(self, registry: str) -> str | None:
        """The latest open run on ``registry`` (see :meth:`open_runs`); whether it may be resumed is
        decided by ``store.resume.choose_run``."""
        open_runs = self.open_runs(registry)
        return open_runs[0]["run_id"] if open_runs else None

    def run(self, run_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    # --- listings --------------------------------------------------------------------------
    def save_listings(self, run_id: str, items: list[dict]) -> None:
        """Upsert listings and their sightings for one run, in one transaction."""
        if not items:
            return
        now = utc_now()
        listing_rows = {(i["platform"], i["listing_id"]): listing_row(run_id, i, now) for i in items}
        sighting_rows = {(i["platform"], i["listing_id"]): sighting_row(run_id, i, now) for i in items}
        strip_nul([*listing_rows.values(), *sighting_rows.values()])
        upsert = upsert_into(self.engine, listings)
        upsert = upsert.on_conflict_do_update(index_elements=["platform", "listing_id"],
                                              set_={name: upsert.excluded[name] for name in _LISTING_UPDATED})
        sighting = upsert_into(self.engine, sightings)
        sighting = sighting.on_conflict_do_update(index_elements=["run_id", "platform", "listing_id"],
                                                  set_={name: sighting.excluded[name] for name in _SIGHTING_UPDATED})
        if self.engine.dialect.name == "postgresql":
            # Concurrent workers upserting overlapping listings must lock rows in one order, or PostgreSQL
            # aborts one of them as a deadlock. (SQLite has one writer at a time: order left as it was.)
            listing_rows = dict(sorted(listing_rows.items()))
            sighting_rows = dict(sorted(sighting_rows.items()))
        with self.engine.begin() as connection:
            connection.execute(upsert, list(listing_rows.values()))
            connection.execute(sighting, list(sighting_rows.values()))

    def count(self, table: Table) -> int:
        from sqlalchemy import func

        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()

    def listing(self, platform: str, listing_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(listings).where(
                listings.c.platform == platform, listings.c.listing_id == listing_id)).mappings().first()
        return dict(row) if row else None

    def listings_by_key(self, keys: Iterable[tuple[str, str]], *, batch: int = 500) -> dict[tuple[str, str], dict]:
        """The latest data of each named listing (as ``run_listings`` gives it); unknown ones are left out."""
        from sqlalchemy import tuple_

        wanted = sorted(set(keys))
        found: dict[tuple[str, str], dict] = {}
        for start in range(0, len(wanted), batch):
            query = _listing_columns().where(
                tuple_(listings.c.platform, listings.c.listing_id).in_(wanted[start:start + batch]))
            with self.engine.connect() as connection:
                for row in connection.execute(query).mappings():
                    found[(row["platform"], row["listing_id"])] = _listing_data(row)
        return found

    # --- what a monitor run reads back -----------------------------------------------------
    def run_listings(self, run_id: str, *, batch: int = 1000) -> Iterator[dict]:
        """Every listing sighted in ``run_id``: its latest data plus first_seen, last_seen, first_run.

        Streams in key order with keyset pagination, so memory does not grow with the run.
        """
        def query_after(last: tuple[str, str]) -> Select:
            return (_listing_columns()
                    .join(sightings, (sightings.c.platform == listings.c.platform)
                          & (sightings.c.listing_id == listings.c.listing_id))
                    .where(sightings.c.run_id == run_id).where(_after(last))
                    .order_by(listings.c.platform, listings.c.listing_id).limit(batch))

        for rows in self._pages(query_after):
            yield from (_listing_data(row) for row in rows)

    def all_listings(self, *, batch: int = 1000) -> Iterator[dict]:
        """Every listing the store knows (its row, with the latest data as JSON), in key order, streamed."""
        def query_after(last: tuple[str, str]) -> Select:
            return select(listings).where(_after(last)).order_by(listings.c.platform,
                                                                 listings.c.listing_id).limit(batch)

        for rows in self._pages(query_after):
            yield from (dict(row) for row in rows)

    def seen_in_run(self, run_id: str) -> set[tuple[str, str]]:
        with self.engine.connect() as connection:
            return {(r[0], r[1]) for r in connection.execute(
                select(sightings.c.platform, sightings.c.listing_id).where(sightings.c.run_id == run_id))}

    # --- complaints and review decisions ---------------------------------------------------
    def complaints_on_file(self, registry: Any = None) -> list[dict]:
        """Listings a complaint was prepared or filed for, latest first (one row per listing), with who
        sold them and which registered photo their image matched (for re-listing checks).

        ``registry`` (a ``Registry`` or its rights holder's name): only that rights holder's complaints
        (and those recorded before complaints were kept per rights holder); None: everyone's."""
        query = (select(complaints, listings.c.seller_name, listings.c.data)
                 .join(listings, (listings.c.platform == complaints.c.platform)
                       & (listings.c.listing_id == complaints.c.listing_id), isouter=True)
                 .order_by(complaints.c.filed_at.desc(), complaints.c.id.desc()))
        seen = scope(registry)
        if seen is not None:
            query = query.where(complaints.c.registry.in_(seen))
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        latest: dict[tuple[str, str], dict] = {}
        for row in rows:
            key = (row["platform"], row["listing_id"])
            if key in latest:
                continue
            entry = {name: value for name, value in row.items() if name != "data"}
            data = json.loads(row["data"]) if row["data"] else {}
            entry["registered_image"] = confident_registered_image(data.get("image_hit"))
            latest[key] = entry
        return list(latest.values())

    def record_complaints(self, rows: list[dict], registry: Any = None, folder: str | None = None) -> None:
        """Complaints as filed: platform, listing_id, ipr_id, reason, batch, main_image_phash, title_key;
        for ``registry``'s rights holder, written to ``folder``."""
        if not rows:
            return
        now = utc_now()
        owner = owner_key(registry)
        with self.engine.begin() as connection:
            connection.execute(complaints.insert(), [
                {"status": ComplaintStatus.PREPARED, "filed_at": now, "status_at": now, "registry": owner,
                 "folder": folder, **row} for row in rows])

    def set_complaint_status(self, platform: str, listing_id: str, status: str, registry: Any = None, *,
                             only_from: str | None = None) -> None:
        """Every complaint about the listing gets ``status`` (those in status ``only_from``, when given); a
        take-down is a fact about the listing, so without ``registry`` it holds for every rights holder."""
        condition = (complaints.c.platform == platform) & (complaints.c.listing_id == listing_id)
        if only_from is not None:
            condition &= complaints.c.status == only_from
        if registry is not None:
            condition &= complaints.c.registry == rights_holder_key(registry)
        with self.engine.begin() as connection:
            connection.execute(complaints.update().where(condition).values(status=status, status_at=utc_now()))

    def record_reviews(self, rows: list[dict], run_id: str | None = None, registry: Any = None) -> None:
        """Reviewer decisions (platform, listing_id, decision, fingerprint) of ``registry``'s rights holder;
        the latest decision wins."""
        if not rows:
            return
        now = utc_now()
        owner = owner_key(registry)
        statement = upsert_into(self.engine, reviews)
        statement = statement.on_conflict_do_update(
            index_elements=["registry", "platform", "listing_id"],
            set_={name: statement.excluded[name] for name in ("decision", "decided_at", "fingerprint", "run_id",
                                                             "reviewer")})
        with self.engine.begin() as connection:
            connection.execute(statement, [{"decided_at": now, "run_id": run_id, "reviewer": None, **row,
                                            "registry": owner} for row in rows])

    def forget_review(self, platform: str, listing_id: str, *, registry: Any) -> None:
        """Back to undecided (an undo of a first decision)."""
        with self.engine.begin() as connection:
            connection.execute(reviews.delete().where(
                (reviews.c.registry == rights_holder_key(registry)) & (reviews.c.platform == platform)
                & (reviews.c.listing_id == listing_id)))

    def review_decisions(self, registry: Any = None) -> dict[tuple[str, str], dict]:
        """The latest decision per listing: ``registry``'s own, else one recorded before decisions were
        kept per rights holder; None: anyone's latest."""
        query = select(reviews)
        seen = scope(registry)
        if seen is not None:
            query = query.where(reviews.c.registry.in_(seen))
        decisions: dict[tuple[str, str], dict] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query).mappings():
                key = (row["platform"], row["listing_id"])
                earlier = decisions.get(key)
                if earlier is None or outranks(dict(row), earlier, seen):
                    decisions[key] = dict(row)
        return decisions
