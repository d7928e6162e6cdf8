"""The audit log of review decisions: every change, by whom, when and from where (browser, bulk, CSV)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, inspect, text
from sqlalchemy.engine import Connection

from store import metadata

review_audit = Table(
    "review_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("registry", String(255), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("listing_id", String(64), nullable=False),
    Column("decision", String(16)),  # approve | reject | none (an undo back to undecided)
    Column("previous", String(16)),  # the decision it replaced, or none
    Column("fingerprint", String(64)),
    Column("previous_fingerprint", String(64)),  # what the replaced decision was about, for an undo
    Column("reviewer", String(128), nullable=False),
    Column("source", String(16), nullable=False),  # web | bulk | csv | undo
    Column("at", String(32), nullable=False),
    Column("batch", String(32), nullable=False),  # one key press, one bulk decision or one import: undone together
    Column("undone", Integer, nullable=False, default=0),  # 1 once an undo reverted it
    Column("note", Text),
)


def create_review_audit(connection: Connection) -> None:
    metadata.create_all(connection, tables=[review_audit])
    # an earlier migration may have built ``reviews`` from today's table definition, reviewer included
    if "reviewer" not in {c["name"] for c in inspect(connection).get_columns("reviews")}:
        connection.execute(text("ALTER TABLE reviews ADD COLUMN reviewer VARCHAR(128)"))
