"""The store's schema and its migrations (``store.schema``, ``store.migrations``): recorded once, safe when
many processes open a new store at once, and an old store upgraded to exactly today's tables."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from sqlalchemy import inspect

from store import MIGRATIONS, Store, complaints, metadata, reviews, schema_version
from store.engine import create_store_engine, utc_now
from store.schema import complaint_columns_v1, review_columns_v1
from tests.services import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.test_store_access import store_url  # noqa: F401  (fixture: both backends)


def test_sqlite_store_is_in_wal_mode_and_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "m.db"
    Store(f"sqlite:///{path}")
    Store(f"sqlite:///{path}")  # opening again applies nothing new
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_migrations_are_recorded_once_and_reopening_applies_nothing(store_url):  # noqa: F811
    Store(store_url).close()
    store = Store(store_url)
    with store.engine.connect() as connection:
        versions = [row[0] for row in connection.execute(schema_version.select().order_by(schema_version.c.version))]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    store.close()


def _open(path):
    Store(f"sqlite:///{path}")
    return True


def test_many_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    # forked: the four start within milliseconds of each other, so their first opens really overlap (spawned ones
    # each spent a second importing first)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert all(pool.map(_open, [tmp_path / "new.db"] * 8))
    with sqlite3.connect(tmp_path / "new.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def _open_store(url: str) -> int:
    store = Store(url)
    store.close()
    return 0


@pytest.mark.services
def test_workers_opening_a_new_postgresql_store_at_once_do_not_race_on_migrations(postgres_url):  # noqa: F811
    # PostgreSQL only: concurrent first opens of a *new* SQLite file still race on CREATE TABLE
    # (SQLite is the one-process store; the lead decides whether to serialise it too).
    context = multiprocessing.get_context("fork")
    with context.Pool(6) as pool:
        assert pool.map(_open_store, [postgres_url] * 6) == [0] * 6
    store = Store(postgres_url)
    assert store.count(schema_version) == len(MIGRATIONS)
    store.close()


def test_reviews_and_complaints_are_their_first_columns_plus_what_later_migrations_added():
    assert [c.name for c in reviews.columns] == ["registry", *(c.name for c in review_columns_v1()), "reviewer"]
    assert [c.name for c in complaints.columns] == [*(c.name for c in complaint_columns_v1()), "registry", "folder",
                                                    "status_at"]


def test_a_store_left_at_migration_1_is_upgraded_to_exactly_todays_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(url)
    with engine.begin() as connection:  # a store as the first release left it
        metadata.create_all(connection, tables=[schema_version])
        MIGRATIONS[0](connection)
        connection.execute(schema_version.insert().values(version=1, applied_at=utc_now()))
        connection.exec_driver_sql("INSERT INTO reviews (platform, listing_id, decision, decided_at, fingerprint) "
                                   "VALUES ('taobao', '1', 'reject', '2026-01-01T00:00:00Z', 'f')")
    engine.dispose()
    store = Store(url)
    found = inspect(store.engine)
    for table in metadata.sorted_tables:
        assert {c["name"] for c in found.get_columns(table.name)} == set(table.columns.keys()), table.name
    assert store.review_decisions("Lumora")[("taobao", "1")]["decision"] == "reject"  # kept, seen by everyone
    store.close()
