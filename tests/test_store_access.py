"""The data-access layer (``store.access.Store``): the same behaviour on SQLite (the embedded default) and
PostgreSQL (many workers).

Every test runs on both backends; PostgreSQL is a real server on loopback (tests/services.py).
"""

from __future__ import annotations

import multiprocessing

import pytest

from contract import RunStatus
from store import Store, complaints, listings, reviews, runs, sightings
from tests.services import postgres_server, postgres_url  # noqa: F401  (fixtures)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
]


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return request.getfixturevalue("postgres_url")


def _listing(listing_id="111111111111", **overrides):
    item = {"platform": "taobao", "listing_id": listing_id, "url": f"https://item.taobao.com/item.htm?id={listing_id}",
            "title": "LUMORA 冲锋衣", "price_min": 99.0, "price_max": 99.0, "currency": "CNY", "seller_id": "1",
            "seller_name": "店", "query": "LUMORA", "page": 1, "rank": 1, "crawled_at": "2026-11-02T00:00:00Z",
            "score": 87.0, "verdict": "infringing", "reason": "counterfeit", "ipr_id": "LUMORA-CN-25",
            "images": [{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg", "checksum": "c", "phash": "ff00"}]}
    item.update(overrides)
    return item


def test_rerunning_the_same_crawl_writes_nothing_twice(store_url):
    store = Store(store_url)
    batch = [_listing("1"), _listing("2"), _listing("1", rank=5)]
    for _ in range(2):
        store.ensure_run("run-1")
        store.save_listings("run-1", batch)
    assert (store.count(listings), store.count(sightings), store.count(runs)) == (2, 2, 1)
    store.close()


def test_a_later_run_updates_last_seen_and_keeps_first_seen(store_url):
    store = Store(store_url)
    store.save_listings("run-1", [_listing(crawled_at="2026-11-01T00:00:00Z", price_min=99.0)])
    store.save_listings("run-2", [_listing(crawled_at="2026-11-08T00:00:00Z", price_min=79.0, price_max=79.0,
                                           score=55.0, verdict="suspect")])
    row = store.listing("taobao", "111111111111")
    assert row["first_seen"] == "2026-11-01T00:00:00Z" and row["first_run"] == "run-1"
    assert row["last_seen"] == "2026-11-08T00:00:00Z" and row["last_run"] == "run-2"
    assert (row["price_min"], row["score"], row["verdict"], row["main_image_phash"]) == (79.0, 55.0, "suspect", "ff00")
    assert store.count(sightings) == 2
    store.close()


def test_the_same_listing_written_by_two_workers_is_stored_once(store_url):
    first, second = Store(store_url), Store(store_url)
    first.save_listings("run-1", [_listing("1"), _listing("2")])
    second.save_listings("run-1", [_listing("2", rank=9), _listing("3")])
    assert (first.count(listings), first.count(sightings)) == (3, 3)
    first.close()
    second.close()


def test_a_run_reads_back_every_listing_it_sighted_in_key_order(store_url):
    store = Store(store_url)
    store.save_listings("run-1", [_listing(str(n)) for n in range(5)] + [_listing("9", platform="tmall")])
    store.save_listings("run-2", [_listing("3")])
    read = list(store.run_listings("run-1", batch=2))
    assert [(item["platform"], item["listing_id"]) for item in read] == (
        [("taobao", str(n)) for n in range(5)] + [("tmall", "9")])
    assert read[0]["score"] == 87.0 and read[0]["first_run"] == "run-1"
    assert store.seen_in_run("run-2") == {("taobao", "3")}
    store.close()


def test_reviews_keep_the_latest_decision_and_complaints_their_status(store_url):
    store = Store(store_url)
    store.record_reviews([{"platform": "taobao", "listing_id": "1", "decision": "approve", "fingerprint": "a"}])
    store.record_reviews([{"platform": "taobao", "listing_id": "1", "decision": "reject", "fingerprint": "b"}])
    assert store.count(reviews) == 1
    assert store.review_decisions()[("taobao", "1")]["decision"] == "reject"
    store.record_complaints([{"platform": "taobao", "listing_id": "1", "ipr_id": "LUMORA-CN-25",
                              "reason": "counterfeit", "batch": "b1"}])
    store.set_complaint_status("taobao", "1", "removed")
    assert store.count(complaints) == 1
    assert store.complaints_on_file()[0]["status"] == "removed"
    store.finish_run("run-x", "finished", {"a": 1})
    store.close()


def _write_overlapping(url: str, seed: int) -> int:
    import random

    store = Store(url)
    rows = [_listing(str(n)) for n in range(60)]
    shuffle = random.Random(seed).shuffle
    for _ in range(15):
        shuffle(rows)
        store.save_listings("run-1", rows)
    store.close()
    return 0


def test_workers_writing_the_same_listings_at_once_never_deadlock(store_url):
    Store(store_url).close()  # created first: concurrent first opens are another test's subject
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        assert pool.starmap(_write_overlapping, [(store_url, seed) for seed in range(4)]) == [0] * 4
    store = Store(store_url)
    assert (store.count(listings), store.count(sightings)) == (60, 60)
    store.close()


def test_every_listing_and_listings_by_key_read_back_what_was_written(store_url):
    store = Store(store_url)
    store.save_listings("run-1", [_listing(str(n)) for n in range(5)] + [_listing("0", platform="tmall")])
    assert [(row["platform"], row["listing_id"]) for row in store.all_listings(batch=2)] == (
        [("taobao", str(n)) for n in range(5)] + [("tmall", "0")])
    found = store.listings_by_key([("taobao", "1"), ("taobao", "3"), ("tmall", "0"), ("tmall", "9")], batch=2)
    assert set(found) == {("taobao", "1"), ("taobao", "3"), ("tmall", "0")}  # an unknown listing is left out
    assert (found[("taobao", "3")]["first_run"], found[("taobao", "3")]["main_image_phash"]) == ("run-1", "ff00")
    assert found[("tmall", "0")]["title"] == "LUMORA 冲锋衣"
    store.close()


@pytest.mark.parametrize("status", list(RunStatus))
def test_every_run_status_is_recorded_as_it_is_on_both_backends(store_url, status):
    # "finished_with_errors" is 20 characters: a VARCHAR(16) made PostgreSQL refuse the end of such a run,
    # which then stayed open as if killed
    store = Store(store_url)
    try:
        store.ensure_run("r1", registry="demo.yaml", platforms=["taobao"])
        store.finish_run("r1", status, {"taobao": {"search/pages": 1}})
        with store.engine.connect() as connection:
            row = connection.execute(runs.select().where(runs.c.run_id == "r1")).mappings().one()
        assert row["status"] == status and row["finished_at"]
    finally:
        store.close()


def test_a_store_made_before_the_wider_run_status_is_widened_when_opened(store_url):
    from sqlalchemy import text

    from store import schema_version

    store = Store(store_url)
    with store.engine.begin() as connection:  # the store as the releases before migration 6 left it
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE runs ALTER COLUMN status TYPE VARCHAR(16)"))
        connection.execute(schema_version.delete().where(schema_version.c.version == 6))
    store.close()
    store = Store(store_url)
    try:
        store.ensure_run("r1")
        store.finish_run("r1", RunStatus.FINISHED_WITH_ERRORS)
        with store.engine.connect() as connection:
            assert connection.execute(runs.select()).mappings().one()["status"] == "finished_with_errors"
    finally:
        store.close()
