"""What is never filed, whatever the review file says. Checked against the store, for one rights holder:

- **already on file**: a complaint was prepared or filed for the listing by this rights holder. Refused
  with the earlier complaint's batch, folder and date, unless the user asks to file again (``--refile``):
  IPP counts a duplicate against the account, and the store would hold two complaints for one listing.
- **taken down**: the store knows the listing was removed (the monitor confirmed it), or the monitor's
  own report says ``removed``. Never filed, ``--refile`` or not: a link to a removed item fails on IPP.
- **changed since the review**: the listing's title, price or main image in the store differs from what
  the reviewer saw (listings.jsonl of that run, or the review row itself). The decision was about
  another listing: refused with the row number and what changed; review it again from a newer run.

These refusals are the tool doing its job, not errors: the command exits 0 and lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contract import COMPLAINT_ON_FILE, COMPLAINT_TAKEN_DOWN, ListingStatus
from exports.complaints import Refusal, RefusalCheck
from exports.incremental import changes


@dataclass
class Checked:
    kept: list[dict[str, Any]]
    refused: list[Refusal]
    changed: set[tuple[str, str]]  # reviewed rows whose listing changed since (their decision is stale)


def check_filing(
    selected: Iterable[dict[str, Any]],
    *,
    on_file: Iterable[dict[str, Any]] | None = None,
    current: dict[tuple[str, str], dict[str, Any]] | None = None,
    reviewed: dict[tuple[str, str], dict[str, Any]] | None = None,
    refile: bool = False,
) -> Checked:
    """Split ``selected`` (the listings to file, as the reviewer saw them) into kept and refused.

    ``on_file``: this rights holder's complaints (``Store.complaints_on_file``), None without a store (then
    the monitor's own statuses, ``removed`` and ``complained``, are all there is to go by); ``current``: the store's
    latest data of each listing; ``reviewed``: what the reviewer saw when it is not ``selected`` itself
    (the review rows, when the listings were read from the store).
    """
    complaints = {(str(row["platform"]), str(row["listing_id"])): row for row in on_file or ()}
    current = current or {}
    reviewed = reviewed or {}
    kept: list[dict[str, Any]] = []
    refused: list[Refusal] = []
    changed: set[tuple[str, str]] = set()
    for item in selected:
        key = (str(item.get("platform") or ""), str(item.get("listing_id") or ""))
        row = f"review row {item.get('review_row')}"
        complaint = complaints.get(key)
        now = current.get(key)
        different = changes(reviewed.get(key, item), now) if now is not None else []
        if different:
            changed.add(key)
        monitor_says = {item.get("status"), reviewed.get(key, {}).get("status")}
        if ListingStatus.REMOVED in monitor_says or (complaint and complaint["status"] in COMPLAINT_TAKEN_DOWN):
            when = f" on {complaint['status_at']}" if complaint and complaint.get("status_at") else ""
            refused.append(_refusal(item, RefusalCheck.REMOVED, f"{row}: taken down (confirmed removed{when}); "
                                                     "a removed listing is never filed"))
        elif complaint and complaint["status"] in COMPLAINT_ON_FILE and not refile:
            refused.append(_refusal(item, RefusalCheck.ALREADY_FILED, f"{row}: already on file: {_describe(complaint)}; "
                                                           "give --refile to file it again"))
        elif on_file is None and ListingStatus.COMPLAINED in monitor_says and not refile:
            refused.append(_refusal(item, RefusalCheck.ALREADY_FILED, f"{row}: already on file: the monitor reported it "
                                                           "complained about; give --refile to file it again"))
        elif different:
            refused.append(_refusal(item, RefusalCheck.CHANGED, f"{row}: the listing changed since it was reviewed "
                                                     f"({'; '.join(different)}); review it again from a newer run"))
        else:
            kept.append(item)
    return Checked(kept, refused, changed)


def _describe(complaint: dict[str, Any]) -> str:
    where = f" ({complaint['folder']})" if complaint.get("folder") else ""
    return f"complaint of {complaint.get('filed_at')} in batch {complaint.get('batch') or '?'}{where}"


def _refusal(item: dict[str, Any], check: str, message: str) -> Refusal:
    return Refusal(str(item.get("platform") or ""), str(item.get("listing_id") or ""), str(item.get("url") or ""),
                   message, check)
