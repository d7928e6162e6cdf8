"""The store's tables, as the latest migration leaves them, in the one ``MetaData`` every migration uses.

Other packages add their tables to the same ``metadata`` (``enforcement.schema``, ``workbench.schema``) and
create them in a migration of their own (``store.migrations``).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from contract import RunStatus

metadata = MetaData()

UNSCOPED = ""  # the registry of decisions and complaints recorded before migration 3

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
    Column("status", String(32), nullable=False, default=RunStatus.RUNNING),  # contract.RunStatus
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


# ``reviews`` and ``complaints`` began (migration 1) with these columns, frozen: a change to either table is
# a new migration, and the live tables below are these columns plus what later migrations added.
def review_columns_v1() -> list[Column]:
    return [
        Column("platform", String(16), primary_key=True),
        Column("listing_id", String(64), primary_key=True),
        Column("decision", String(16), nullable=False),  # approve | reject
        Column("decided_at", String(32), nullable=False),
        Column("fingerprint", String(64), nullable=False),  # title/price/image at decision time
        Column("run_id", String(64)),
    ]


def complaint_columns_v1() -> list[Column]:
    return [
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
    ]


# Decisions and complaints belong to one rights holder (``registry`` = ``rights_holder_key``): two brands
# sharing a store never see each other's rejections or complaints. Rows written before migration 3 have
# the key ``UNSCOPED`` ("") and are seen by every registry, as they were then.
reviews = Table(
    "reviews", metadata,
    Column("registry", String(255), primary_key=True),
    *review_columns_v1(),
    Column("reviewer", String(128)),  # added with the audit log (workbench/schema.py)
)

complaints = Table(
    "complaints", metadata,
    *complaint_columns_v1(),
    Column("registry", String(255), nullable=False, server_default=""),
    Column("folder", Text),  # the complaints folder the batch was written to
    Column("status_at", String(32)),  # when the status last changed (e.g. confirmed removed)
)

run_locks = Table(
    "run_locks", metadata,
    Column("name", String(255), primary_key=True),  # what is locked, e.g. "monitor:<registry path>"
    Column("run_id", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("heartbeat", Float, nullable=False),  # epoch seconds, refreshed while the run lives
)
