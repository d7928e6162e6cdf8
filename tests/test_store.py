"""The store: one row per listing, one sighting per run, idempotent and batched writes."""

from __future__ import annotations

import sqlite3

from store import MIGRATIONS, Store, listings, runs, sightings


def _listing(listing_id="111111111111", **overrides):
    item = {"platform": "taobao", "listing_id": listing_id, "url": f"https://item.taobao.com/item.htm?id={listing_id}",
            "title": "LUMORA 冲锋衣", "price_min": 99.0, "price_max": 99.0, "currency": "CNY", "seller_id": "1",
            "seller_name": "店", "query": "LUMORA", "page": 1, "rank": 1, "crawled_at": "2026-11-02T00:00:00Z",
            "images": [{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg", "checksum": "c", "phash": "ff00"}]}
    item.update(overrides)
    return item


def test_rerunning_the_same_crawl_writes_nothing_twice(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    batch = [_listing("1"), _listing("2"), _listing("1", rank=5)]
    for _ in range(2):
        store.ensure_run("run-1")
        store.save_listings("run-1", batch)
    assert store.count(listings) == 2
    assert store.count(sightings) == 2
    assert store.count(runs) == 1


def test_a_later_run_updates_last_seen_and_keeps_first_seen(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.save_listings("run-1", [_listing(crawled_at="2026-11-01T00:00:00Z", price_min=99.0)])
    store.save_listings("run-2", [_listing(crawled_at="2026-11-08T00:00:00Z", price_min=79.0, price_max=79.0)])
    row = store.listing("taobao", "111111111111")
    assert row["first_seen"] == "2026-11-01T00:00:00Z" and row["first_run"] == "run-1"
    assert row["last_seen"] == "2026-11-08T00:00:00Z" and row["last_run"] == "run-2"
    assert row["price_min"] == 79.0 and row["main_image_phash"] == "ff00"
    assert store.count(sightings) == 2


def test_sqlite_store_is_in_wal_mode_and_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "m.db"
    Store(f"sqlite:///{path}")
    Store(f"sqlite:///{path}")  # opening again applies nothing new
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_a_crawl_stores_every_listing_and_is_idempotent_when_rerun(crawl, tmp_path):
    first = crawl("taobao", "-a", "query=露莫拉", "-a", "pages=3", settings={"RUN_ID": "fixed-run"})
    second = crawl("taobao", "-a", "query=露莫拉", "-a", "pages=3", settings={"RUN_ID": "fixed-run"})
    assert first.stats["store/saved"] == second.stats["store/saved"] == len(first.items)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.count(listings) == len({(i["platform"], i["listing_id"]) for i in first.items})
    assert store.count(sightings) == store.count(listings)


def _open(path):
    Store(f"sqlite:///{path}")
    return True


def test_many_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert all(pool.map(_open, [tmp_path / "new.db"] * 8))
    with sqlite3.connect(tmp_path / "new.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
