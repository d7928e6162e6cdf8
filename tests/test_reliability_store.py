"""One listing the database cannot hold must not cost the rest of its batch (RELIABILITY.md, "Pages")."""

from __future__ import annotations

import contextlib

import pytest

from store import Store
from tests.services import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.test_store_access import _listing


@pytest.mark.services
def test_a_nul_in_one_listing_does_not_lose_the_others_of_its_batch_on_postgresql(postgres_url):  # noqa: F811
    store = Store(postgres_url)
    with contextlib.suppress(ValueError):
        store.save_listings("run-1", [_listing("1"), _listing("2", query="LUMORA\x00")])
    assert store.listing("taobao", "1") is not None
    assert store.listing("taobao", "2") is not None  # stored, with the NUL removed
    store.close()
