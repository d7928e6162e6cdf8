"""Schema changes, versioned: ``MIGRATIONS`` is an ordered list, ``schema_version`` records what ran, and
opening a store applies what is missing, one transaction each.

A migration never changes once released: migration 1 builds ``reviews`` and ``complaints`` with their
first columns (``store.schema.review_columns_v1``), and later ones change them. ``enforcement.schema`` and
``workbench.schema`` own the tables of their own migrations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.engine import Connection, Engine

from store.engine import utc_now
from store.schema import (
    UNSCOPED,
    complaint_columns_v1,
    listings,
    metadata,
    review_columns_v1,
    reviews,
    run_locks,
    runs,
    schema_version,
    sightings,
)

logger = logging.getLogger(__name__)

# The two tables as migration 1 made them; migrations never change with the live schema.
_v1 = MetaData()
_reviews_v1 = Table("reviews", _v1, *review_columns_v1())
_complaints_v1 = Table("complaints", _v1, *complaint_columns_v1())

# Any constant shared by every ipwatch process; the lock serialises migrate() across workers.
MIGRATION_LOCK_KEY = 0x1D5_7A7C4


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


def _migration_run_status_width(connection: Connection) -> None:
    """``runs.status`` holds every ``contract.RunStatus``: VARCHAR(16) made PostgreSQL refuse
    "finished_with_errors" (20), so such a run could not be ended. SQLite does not enforce the length."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE runs ALTER COLUMN status TYPE VARCHAR(32)"))


MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2, _migration_3, _migration_cases,
                                                  _migration_review_audit, _migration_run_status_width]


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
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


def migrate(engine: Engine) -> int:
    """Apply the migrations this store has not seen; returns how many the store now has. Safe when several
    processes open a new store at once: PostgreSQL serialises them with an advisory lock; on SQLite a loser
    of the race (the table already exists, or the file is locked) looks again at what the winner applied."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(5):
        try:
            with _migration_lock(engine):
                _migrate_once(engine)
            return len(MIGRATIONS)
        except (OperationalError, IntegrityError) as exc:
            if engine.dialect.name != "sqlite" or attempt == 4:
                raise
            logger.debug("store: migration raced another process (%s); looking again", exc)
            time.sleep(0.2 * (attempt + 1))
    return len(MIGRATIONS)


def _migrate_once(engine: Engine) -> None:
    with engine.begin() as connection:
        metadata.create_all(connection, tables=[schema_version])
        done = {row[0] for row in connection.execute(select(schema_version.c.version))}
    for version, migration in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        with engine.begin() as connection:
            migration(connection)
            connection.execute(schema_version.insert().values(version=version, applied_at=utc_now()))
        logger.info("store: applied migration %d", version)
