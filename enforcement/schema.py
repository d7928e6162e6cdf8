"""The store's tables for complaint cases (see ``enforcement.lifecycle`` for what the states mean).

They live in the store's one ``MetaData`` and are created by one of its numbered migrations, like every
other table, so a store is upgraded in one place.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text
from sqlalchemy.engine import Connection

from store import metadata

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("registry_key", String(255), nullable=False),  # whose case: the rights holder's registry
    Column("platform", String(16), nullable=False),
    Column("ipr_id", String(128), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("complaint_type", String(16), nullable=False, default="listing"),  # listing | storefront
    Column("batch", Text),  # the batch's path inside the complaints folder, e.g. taobao/<ipr>/<reason>/batch-001
    Column("folder", Text),  # the complaints folder the batch was written to
    Column("state", String(16), nullable=False),  # prepared | filed
    Column("ipp_number", String(64)),  # IPP's complaint number, once filed
    Column("filed_on", String(10)),
    Column("created_at", String(32), nullable=False),
)

case_listings = Table(
    "case_listings", metadata,
    Column("case_id", Integer, primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("listing_id", String(64), primary_key=True),
    Column("url", Text),
    Column("seller_name", Text),
    Column("state", String(24), nullable=False),
    Column("ipp_reason", Text),  # IPP's words with a result, e.g. why a complaint was rejected
    Column("decided_on", String(10)),
    Column("removed_on", String(10)),  # the day the monitor first saw it gone
    Column("live_on", String(10)),  # the last day the monitor saw it live after a supported result
    Column("updated_at", String(32), nullable=False),
)

case_events = Table(
    "case_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False),
    Column("platform", String(16)),  # empty for an event of the whole case (filed)
    Column("listing_id", String(64)),
    Column("event", String(24), nullable=False),
    Column("outcome", String(24)),
    Column("happened_on", String(10), nullable=False),  # the day it happened, as the user says
    Column("recorded_at", String(32), nullable=False),
    Column("detail", Text),  # JSON
)

counter_notices = Table(
    "counter_notices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False),
    Column("platform", String(16), nullable=False),
    Column("listing_id", String(64), nullable=False),
    Column("received_on", String(10), nullable=False),
    Column("kind", String(16), nullable=False),  # invoice | authorization | other
    Column("files", Text),  # JSON list of the seller's evidence files as given
    Column("deadline", String(10), nullable=False),
    Column("pack", Text),  # the response folder written for it
)

CASE_TABLES = (cases, case_listings, case_events, counter_notices)


def create_case_tables(connection: Connection) -> None:
    metadata.create_all(connection, tables=list(CASE_TABLES))
