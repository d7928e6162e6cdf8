"""The store: every listing once per (platform, listing_id), every sighting per run, scores,
review decisions and complaints. SQLAlchemy Core, so the same code runs on SQLite (the embedded
default, in WAL mode) and PostgreSQL (many workers).

Schema changes are versioned: ``MIGRATIONS`` is an ordered list, ``schema_version`` records what
ran, and opening a store applies what is missing, in one transaction each.

Idempotence: listings are upserted on (platform, listing_id) and sightings on
(run_id, platform, listing_id), so re-running the same crawl (same RUN_ID) writes nothing twice,
and a crawl killed and started again neither loses nor duplicates rows.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from contract import ComplaintStatus
from contract.image_hit import confident_registered_image
from crawlers.items import plain

logger = logging.getLogger(__name__)

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String(32), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("status", String(16), nullable=False, default="running"),
    Column("registry", Text),
    Column("platforms", Text),
    Column("stats", Text),  # JSON
)

listings = Table(
    "listings", metadata,
    Column("platform", String(16), primary_key=True),
    Column("listing_id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("price_min", Float),
    Column("price_max", Float),
    Column("currency", String(8)),
    Column("seller_id", String(128)),
    Column("seller_name", Text),
    Column("main_image_phash", String(64)),
    Column("first_seen", String(32), nullable=False),
    Column("last_seen", String(32), nullable=False),
    Column("first_run", String(64), nullable=False),
    Column("last_run", String(64), nullable=False),
    Column("score", Float),
    Column("verdict", String(16)),
    Column("reason", String(32)),
    Column("ipr_id", String(128)),
    Column("product_id", String(128)),
    Column("explanation", Text),
    Column("data", Text, nullable=False),  # the whole latest listing, JSON
)

sightings = Table(
    "sightings", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("listing_id", String(64), primary_key=True),
    Column("query", Text),
    Column("page", Integer),
    Column("rank", Integer),
    Column("price_min", Float),
    Column("price_max", Float),
    Column("seen_at", String(32), nullable=False),
)

# Decisions and complaints belong to one rights holder (``registry`` = ``rights_holder_key``): two brands
# sharing a store never see each other's rejections or complaints. Rows written before migration 3 have
# the key ``UNSCOPED`` ("") and are seen by every registry, as they were then.
reviews = Table(
    "reviews", metadata,
    Column("registry", String(255), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("listing_id", String(64), primary_key=True),
    Column("decision", String(16), nullable=False),  # approve | reject
    Column("decided_at", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # title/price/image at decision time
    Column("run_id", String(64)),
    Column("reviewer", String(128)),  # added with the audit log (workbench/schema.py)
)

complaints = Table(
    "complaints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("listing_id", String(64), nullable=False),
    Column("ipr_id", String(128), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("batch", Text),
    Column("filed_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # contract.ComplaintStatus
    Column("main_image_phash", String(64)),
    Column("title_key", Text),
    Column("registry", String(255), nullable=False, server_default=""),
    Column("folder", Text),  # the complaints folder the batch was written to
    Column("status_at", String(32)),  # when the status last changed (e.g. confirmed removed)
)

# The two tables as migration 1 made them; migrations never change with the live schema.
_v1 = MetaData()
_reviews_v1 = Table(
    "reviews", _v1,
    Column("platform", String(16), primary_key=True),
    Column("listing_id", String(64), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("decided_at", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("run_id", String(64)),
)
_complaints_v1 = Table(
    "complaints", _v1,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("listing_id", String(64), nullable=False),
    Column("ipr_id", String(128), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("batch", Text),
    Column("filed_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("main_image_phash", String(64)),
    Column("title_key", Text),
)

UNSCOPED = ""  # the registry of decisions and complaints recorded before migration 3


run_locks = Table(
    "run_locks", metadata,
    Column("name", String(255), primary_key=True),  # what is locked, e.g. "monitor:<registry path>"
    Column("run_id", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("heartbeat", Float, nullable=False),  # epoch seconds, refreshed while the run lives
)


def _migration_1(connection: Connection) -> None:
    metadata.create_all(connection, tables=[runs, listings, sightings])
    _v1.create_all(connection, tables=[_reviews_v1, _complaints_v1])


def _migration_2(connection: Connection) -> None:
    metadata.create_all(connection, tables=[run_locks])


def _migration_3(connection: Connection) -> None:
    """Decisions and complaints carry their rights holder. ``reviews`` gets ``registry`` in its key (a
    new key means a new table: its rows are copied over as ``UNSCOPED``); ``complaints`` gets
    ``registry``, ``folder`` and ``status_at``."""
    earlier = [dict(row) for row in connection.execute(select(_reviews_v1)).mappings()]
    _reviews_v1.drop(connection)
    reviews.create(connection)
    if earlier:
        connection.execute(reviews.insert(), [{**row, "registry": UNSCOPED} for row in earlier])
    for column in ("registry VARCHAR(255) NOT NULL DEFAULT ''", "folder TEXT", "status_at VARCHAR(32)"):
        connection.execute(text(f"ALTER TABLE complaints ADD COLUMN {column}"))
    connection.execute(text("CREATE INDEX ix_complaints_listing ON complaints (platform, listing_id, registry)"))


def _migration_cases(connection: Connection) -> None:
    from enforcement.schema import create_case_tables  # complaint cases (enforcement/lifecycle.py)

    create_case_tables(connection)


def _migration_review_audit(connection: Connection) -> None:
    from workbench.schema import create_review_audit  # who decided what, when (workbench/decisions.py)

    create_review_audit(connection)


MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2, _migration_3, _migration_cases,
                                                  _migration_review_audit]


def rights_holder_key(registry: Any) -> str:
    """Whose decisions and complaints these are: the registry's rights holder name, NFKC-folded, case
    and spacing ignored (``Lumora Outdoor Co., Ltd.`` == ``LUMORA  Outdoor Co., Ltd.``).

    The rights holder, not the registry file: complaints are filed from the rights holder's IPP account,
    so two registry files of one holder (or one file moved to another folder or machine, as workers
    see it) share their decisions, and two brands sharing one store never do. ``registry`` is a
    ``Registry`` or the name itself.
    """
    name = registry if isinstance(registry, str) else registry.rights_holder.name
    key = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name or "").casefold()).strip()
    if not key:
        raise ValueError("a rights holder needs a name to keep its decisions and complaints apart")
    return key


def _scope(registry: Any) -> list[str] | None:
    """The registry keys a reader sees: its own and the unscoped rows (None: every registry)."""
    return None if registry is None else [rights_holder_key(registry), UNSCOPED]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _insert(engine: Engine, table: Table):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_jsonable)


def _jsonable(value):
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


# A lock whose heartbeat is older than this is stale; the holder beats every tenth of it (pipelines/runs.py).
LOCK_STALE_SECONDS = 300.0

# Any constant shared by every ipwatch process; the lock serialises migrate() across workers.
MIGRATION_LOCK_KEY = 0x1D5_7A7C4


@contextmanager
def _migration_lock(engine: Engine):
    """On PostgreSQL, a session advisory lock held while migrating: workers that open the store at
    the same moment would otherwise race on CREATE TABLE. SQLite serialises writers by itself."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


class Store:
    """One store, opened from a URL (``sqlite:///data/monitor.db``, ``postgresql://…``)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        self.migrate()

    def migrate(self) -> int:
        """Apply the migrations this store has not seen. Safe when several processes open a new store
        at once: PostgreSQL serialises them with an advisory lock; on SQLite a loser of the race (the
        table already exists, or the file is locked) looks again at what the winner applied."""
        from sqlalchemy.exc import IntegrityError, OperationalError

        for attempt in range(5):
            try:
                with _migration_lock(self.engine):
                    self._migrate_once()
                return len(MIGRATIONS)
            except (OperationalError, IntegrityError) as exc:
                if self.engine.dialect.name != "sqlite" or attempt == 4:
                    raise
                logger.debug("store: migration raced another process (%s); looking again", exc)
                import time

                time.sleep(0.2 * (attempt + 1))
        return len(MIGRATIONS)

    def _migrate_once(self) -> None:
        with self.engine.begin() as connection:
            metadata.create_all(connection, tables=[schema_version])
            done = {row[0] for row in connection.execute(select(schema_version.c.version))}
        for version, migration in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            with self.engine.begin() as connection:
                migration(connection)
                connection.execute(schema_version.insert().values(version=version, applied_at=utc_now()))
            logger.info("store: applied migration %d", version)

    def close(self) -> None:
        self.engine.dispose()

    # --- runs ------------------------------------------------------------------------------
    def ensure_run(self, run_id: str, *, registry: str | None = None, platforms: Iterable[str] = ()) -> None:
        statement = _insert(self.engine, runs).values(
            run_id=run_id, started_at=utc_now(), status="running", registry=registry,
            platforms=",".join(platforms),
        ).on_conflict_do_nothing(index_elements=["run_id"])
        with self.engine.begin() as connection:
            connection.execute(statement)

    def finish_run(self, run_id: str, status: str, stats: dict | None = None, *, resumable: bool = False) -> None:
        """Record how ``run_id`` ended. A ``resumable`` run (stopped by SIGTERM) keeps no ``finished_at``:
        it stays open for the next start to continue (pipelines/runs.py)."""
        with self.engine.begin() as connection:
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(
                finished_at=None if resumable else utc_now(), status=status, stats=_json(stats or {})))

    def reopen_run(self, run_id: str) -> None:
        """A run continued (resumed, or re-run under the same id) is running again."""
        with self.engine.begin() as connection:
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(status="running",
                                                                                   finished_at=None))

    def close_run(self, run_id: str, reason: str) -> None:
        """An open run that will never be continued: ``interrupted``, finished now, ``reason`` in its stats."""
        with self.engine.begin() as connection:
            row = connection.execute(select(runs.c.stats).where(runs.c.run_id == run_id)).first()
            stats = json.loads(row[0]) if row and row[0] else {}
            stats["closed"] = reason
            connection.execute(runs.update().where(runs.c.run_id == run_id).values(
                status="interrupted", finished_at=utc_now(), stats=_json(stats)))

    def open_runs(self, registry: str) -> list[dict]:
        """Runs on ``registry`` without a ``finished_at`` (killed, or stopped by SIGTERM), latest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(runs).where(
                (runs.c.registry == registry) & runs.c.finished_at.is_(None)).order_by(
                runs.c.started_at.desc(), runs.c.run_id.desc())).mappings().all()
        return [dict(row) for row in rows]

    # --- one monitor run at a time per registry ---------------------------------------------
    def acquire_lock(self, name: str, run_id: str, *,
                     stale_after: float = LOCK_STALE_SECONDS) -> tuple[bool, dict | None]:
        """Take the lock ``name`` for ``run_id``. Returns (acquired, previous holder).

        A holder is alive while its heartbeat is fresher than ``stale_after`` seconds and, on this host,
        its process exists. A heartbeat older than that is stale whatever ``kill(pid, 0)`` says: after a
        reboot or a container restart the PID may belong to another process. A dead holder's lock is
        taken over with a compare-and-swap on (run_id, pid), so two starters can never both win.
        """
        import os
        import socket
        import time

        from sqlalchemy.exc import IntegrityError

        me = {"name": name, "run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
              "heartbeat": time.time()}
        try:
            with self.engine.begin() as connection:
                connection.execute(run_locks.insert().values(**me))
            return True, None
        except IntegrityError:
            pass
        with self.engine.connect() as connection:
            holder = connection.execute(select(run_locks).where(run_locks.c.name == name)).mappings().first()
        if holder is None:  # released in between: try once more
            return self.acquire_lock(name, run_id, stale_after=stale_after)
        holder = dict(holder)
        if _alive(holder, stale_after):
            return False, holder
        with self.engine.begin() as connection:
            taken = connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == holder["run_id"])
                & (run_locks.c.pid == holder["pid"])).values(**me)).rowcount
        return (taken == 1), holder

    def heartbeat(self, name: str, run_id: str) -> None:
        import time

        with self.engine.begin() as connection:
            connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == run_id)).values(heartbeat=time.time()))

    def rename_lock(self, name: str, run_id: str, new_run_id: str) -> None:
        """The lock held by ``run_id`` now names ``new_run_id`` (the run it resumed)."""
        with self.engine.begin() as connection:
            connection.execute(run_locks.update().where(
                (run_locks.c.name == name) & (run_locks.c.run_id == run_id)).values(run_id=new_run_id))

    def release_lock(self, name: str, run_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(run_locks.delete().where((run_locks.c.name == name) & (run_locks.c.run_id == run_id)))

    # --- listings --------------------------------------------------------------------------
    def save_listings(self, run_id: str, items: list[dict]) -> None:
        """Upsert listings and their sightings for one run, in one transaction."""
        if not items:
            return
        now = utc_now()
        listing_rows, sighting_rows = {}, {}
        for item in items:
            key = (item["platform"], item["listing_id"])
            seen_at = item.get("crawled_at") or now
            images = item.get("images") or []
            data = dict(item)
            listing_rows[key] = {
                "platform": key[0], "listing_id": key[1], "url": item["url"], "title": item["title"],
                "price_min": item.get("price_min"), "price_max": item.get("price_max"),
                "currency": item.get("currency"), "seller_id": item.get("seller_id"),
                "seller_name": item.get("seller_name"),
                "main_image_phash": (images[0].get("phash") if images and isinstance(images[0], dict) else None),
                "first_seen": seen_at, "last_seen": seen_at, "first_run": run_id, "last_run": run_id,
                "score": item.get("score"), "verdict": item.get("verdict"), "reason": item.get("reason"),
                "ipr_id": item.get("ipr_id"), "product_id": item.get("product_id"),
                "explanation": item.get("explanation"), "data": _json(data),
            }
            sighting_rows[key] = {
                "run_id": run_id, "platform": key[0], "listing_id": key[1], "query": item.get("query"),
                "page": item.get("page"), "rank": item.get("rank"), "price_min": item.get("price_min"),
                "price_max": item.get("price_max"), "seen_at": seen_at,
            }
        # PostgreSQL refuses NUL in text (SQLite keeps it): a seller's stray NUL must not cost the batch
        for rows in (listing_rows, sighting_rows):
            for row in rows.values():
                for name, value in row.items():
                    if isinstance(value, str) and "\x00" in value:
                        row[name] = value.replace("\x00", "")
        upsert = _insert(self.engine, listings)
        updated = {name: upsert.excluded[name] for name in (
            "url", "title", "price_min", "price_max", "currency", "seller_id", "seller_name", "main_image_phash",
            "last_seen", "last_run", "score", "verdict", "reason", "ipr_id", "product_id", "explanation", "data")}
        upsert = upsert.on_conflict_do_update(index_elements=["platform", "listing_id"], set_=updated)
        sighting = _insert(self.engine, sightings)
        sighting = sighting.on_conflict_do_update(
            index_elements=["run_id", "platform", "listing_id"],
            set_={name: sighting.excluded[name] for name in ("query", "page", "rank", "price_min", "price_max", "seen_at")},
        )
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
            query = (select(listings.c.platform, listings.c.listing_id, listings.c.data, listings.c.first_seen,
                            listings.c.last_seen, listings.c.first_run, listings.c.main_image_phash)
                     .where(tuple_(listings.c.platform, listings.c.listing_id).in_(wanted[start:start + batch])))
            with self.engine.connect() as connection:
                for row in connection.execute(query).mappings():
                    item = json.loads(row["data"])
                    item.update(first_seen=row["first_seen"], last_seen=row["last_seen"], first_run=row["first_run"],
                                main_image_phash=row["main_image_phash"])
                    found[(row["platform"], row["listing_id"])] = item
        return found


    # --- what a monitor run reads back -----------------------------------------------------
    def run_listings(self, run_id: str, *, batch: int = 1000):
        """Every listing sighted in ``run_id``: its latest data plus first_seen, last_seen, first_run.

        Streams in key order with keyset pagination, so memory does not grow with the run.
        """
        last = ("", "")
        while True:
            query = (
                select(listings.c.platform, listings.c.listing_id, listings.c.data, listings.c.first_seen,
                       listings.c.last_seen, listings.c.first_run, listings.c.main_image_phash)
                .join(sightings, (sightings.c.platform == listings.c.platform)
                      & (sightings.c.listing_id == listings.c.listing_id))
                .where(sightings.c.run_id == run_id)
                .where((listings.c.platform > last[0])
                       | ((listings.c.platform == last[0]) & (listings.c.listing_id > last[1])))
                .order_by(listings.c.platform, listings.c.listing_id)
                .limit(batch)
            )
            with self.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                item = json.loads(row["data"])
                item.update(first_seen=row["first_seen"], last_seen=row["last_seen"], first_run=row["first_run"],
                            main_image_phash=row["main_image_phash"])
                yield item
            last = (rows[-1]["platform"], rows[-1]["listing_id"])

    def all_listings(self, *, batch: int = 1000):
        """Every listing the store knows (its row, with the latest data as JSON), in key order, streamed."""
        last = ("", "")
        while True:
            query = (select(listings)
                     .where((listings.c.platform > last[0])
                            | ((listings.c.platform == last[0]) & (listings.c.listing_id > last[1])))
                     .order_by(listings.c.platform, listings.c.listing_id).limit(batch))
            with self.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
            if not rows:
                return
            yield from (dict(row) for row in rows)
            last = (rows[-1]["platform"], rows[-1]["listing_id"])

    def seen_in_run(self, run_id: str) -> set[tuple[str, str]]:
        with self.engine.connect() as connection:
            return {(r[0], r[1]) for r in connection.execute(
                select(sightings.c.platform, sightings.c.listing_id).where(sightings.c.run_id == run_id))}

    def complaints_on_file(self, registry: Any = None) -> list[dict]:
        """Listings a complaint was prepared or filed for, latest first (one row per listing), with who
        sold them and which registered photo their image matched (for re-listing checks).

        ``registry`` (a ``Registry`` or its rights holder's name): only that rights holder's complaints
        (and those recorded before complaints were kept per rights holder); None: everyone's."""
        query = (select(complaints, listings.c.seller_name, listings.c.data)
                 .join(listings, (listings.c.platform == complaints.c.platform)
                       & (listings.c.listing_id == complaints.c.listing_id), isouter=True)
                 .order_by(complaints.c.filed_at.desc(), complaints.c.id.desc()))
        scope = _scope(registry)
        if scope is not None:
            query = query.where(complaints.c.registry.in_(scope))
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
        owner = UNSCOPED if registry is None else rights_holder_key(registry)
        with self.engine.begin() as connection:
            connection.execute(complaints.insert(), [
                {"status": ComplaintStatus.PREPARED, "filed_at": now, "status_at": now, "registry": owner, "folder": folder,
                 **row} for row in rows])

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
        owner = UNSCOPED if registry is None else rights_holder_key(registry)
        statement = _insert(self.engine, reviews)
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
        scope = _scope(registry)
        if scope is not None:
            query = query.where(reviews.c.registry.in_(scope))
        decisions: dict[tuple[str, str], dict] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query).mappings():
                key = (row["platform"], row["listing_id"])
                earlier = decisions.get(key)
                if earlier is None or _outranks(dict(row), earlier, scope):
                    decisions[key] = dict(row)
        return decisions

    def unfinished_run(self, registry: str) -> str | None:
        """The latest open run on ``registry`` (see :meth:`open_runs`); whether it may be resumed is
        decided by ``pipelines.runs.choose_run``."""
        open_runs = self.open_runs(registry)
        return open_runs[0]["run_id"] if open_runs else None

    def run(self, run_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None


def _outranks(row: dict, earlier: dict, scope: list[str] | None) -> bool:
    """A registry's own decision beats an unscoped one; otherwise the later one wins."""
    if scope is not None and row["registry"] != earlier["registry"]:
        return row["registry"] == scope[0]
    return row["decided_at"] > earlier["decided_at"]


def _alive(holder: dict, stale_after: float) -> bool:
    import os
    import socket
    import time

    if time.time() - float(holder["heartbeat"]) >= stale_after:
        return False  # silent too long: dead, even if its PID now names a live process
    if holder["host"] == socket.gethostname():
        try:
            os.kill(int(holder["pid"]), 0)
        except ProcessLookupError:
            return False  # killed a moment ago: no need to wait for its heartbeat to age
        except PermissionError:
            return True
    return True


class StorePipeline:
    """Writes listings to the store in batches (``STORE_BATCH_SIZE``), one transaction per batch.

    ``STORE_URL`` (default ``sqlite:///data/monitor.db``; empty: off). ``RUN_ID`` names the run; a
    crawl started without one gets a fresh id. A batch that fails to write is logged with its size
    and counted (``store/failed``); the crawl goes on and later batches are still written.
    """

    def __init__(self, url: str, run_id: str | None, batch_size: int, stats, registry: str | None = None):
        self.url = url
        self.owns_run = run_id is None
        self.run_id = run_id or new_run_id()
        self.batch_size = batch_size
        self.stats = stats
        self.registry = registry
        self.buffer: list[dict] = []
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        from crawlers.store_option import absolute_store_url  # relative SQLite paths: the project folder's

        return cls(absolute_store_url(settings.get("STORE_URL") or ""), settings.get("RUN_ID"),
                   settings.getint("STORE_BATCH_SIZE", 200),
                   crawler.stats, settings.get("REGISTRY_PATH"))

    def open_spider(self, spider=None):
        if not self.url:
            return
        self.store = Store(self.url)
        platform = getattr(spider, "platform", None) if spider else None
        self.store.ensure_run(self.run_id, registry=self.registry, platforms=[platform] if platform else [])
        if self.stats is not None:
            self.stats.set_value("store/run_id", self.run_id)

    def process_item(self, item, spider=None):
        if self.store is None:
            return item
        self.buffer.append(plain(item))  # last stage: nothing changes it after this
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer or self.store is None:
            return
        batch, self.buffer = self.buffer, []
        try:
            self.store.save_listings(self.run_id, batch)
        except Exception:
            self.stats.inc_value("store/failed", len(batch))
            logger.exception("store: could not write a batch of %d listings to %s", len(batch), self.url)
            return
        self.stats.inc_value("store/saved", len(batch))

    def close_spider(self, spider=None):
        if self.store is None:
            return
        self.flush()
        if self.owns_run:
            self.store.finish_run(self.run_id, "finished", {})
        self.store.close()
