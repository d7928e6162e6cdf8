"""The store: every listing once per (platform, listing_id), every sighting per run, scores, review
decisions and complaints; SQLite (the embedded default) or PostgreSQL (many workers).

Split as scrapy-redis splits its parts: ``schema`` (the tables), ``migrations`` (``MIGRATIONS`` and the
runner), ``access`` (``Store`` and its queries), ``locks`` (run locks and their heartbeat), ``resume`` (which
open run a monitor start continues; not ``runs``, the table this package exports: importing a submodule
of that name would put the module in the table's place). The Scrapy pipeline writing to it is ``pipelines.store``.
"""

from store.access import Store
from store.engine import create_store_engine, new_run_id, utc_now
from store.locks import HEARTBEAT_SECONDS, LOCK_STALE_SECONDS, Heartbeat
from store.migrations import MIGRATIONS
from store.owners import rights_holder_key, scope
from store.schema import (
    UNSCOPED,
    complaints,
    listings,
    metadata,
    reviews,
    run_locks,
    runs,
    schema_version,
    sightings,
)

__all__ = [
    "HEARTBEAT_SECONDS",
    "LOCK_STALE_SECONDS",
    "MIGRATIONS",
    "UNSCOPED",
    "Heartbeat",
    "Store",
    "complaints",
    "create_store_engine",
    "listings",
    "metadata",
    "new_run_id",
    "reviews",
    "rights_holder_key",
    "run_locks",
    "runs",
    "schema_version",
    "scope",
    "sightings",
    "utc_now",
]
