"""What the enforcement lifecycle adds to filing (``scrapy complaints``):

- a batch whose right cannot be cited (``enforcement.readiness``: no certificate, wrong office, an expired
  power of attorney…) is refused whole, with the reason;
- ``--auto-approve-above`` does not auto-approve rows of a reason code whose Good-Faith standing is below IPP's
  threshold (or when the overall standing is): a person must approve them;
- every batch written opens a complaint case in the store (``C-0012``), named in the batch files, so IPP's
  answers can be recorded against it (``scrapy cases``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from enforcement.casebook import CaseBook, case_label
from enforcement.readiness import check_registry, unusable
from enforcement.standing import OVERALL, compute_standing


def refuse_unusable_rights(plan: Any, registry: Any, *, on: date) -> Any:
    """The plan without the batches whose right IPP would not accept; their listings join the refusals."""
    from exports.complaints import Refusal

    blocked = unusable(check_registry(registry, on=on, platforms=tuple({b.platform for b in plan.batches})))
    kept = []
    for batch in plan.batches:
        reasons = blocked.get((batch.ipr_id, batch.platform))
        if not reasons:
            kept.append(batch)
            continue
        message = f"{batch.ipr_id} cannot be cited on {batch.platform}: {'; '.join(reasons)} (see scrapy ipr-check)"
        plan.refused.extend(Refusal(str(item["platform"]), str(item["listing_id"]), str(item.get("url") or ""),
                                    message, "ipr_not_ready") for item in batch.listings)
    plan.batches = kept
    return plan


def hold_auto_approvals(selected: list[dict], decisions: dict, book: CaseBook | None, *,
                        on: date) -> tuple[list[dict], list]:
    """Rows chosen only by the score bar are held back when their reason code's standing is below IPP's
    threshold. Rows a person approved are never held. Returns (kept, refused)."""
    from exports.complaints import Refusal

    if book is None:
        return selected, []
    standing = compute_standing(book.listing_history(), on)
    below = standing.below()
    if not below:
        return selected, []
    kept, refused = [], []
    for item in selected:
        key = (str(item["platform"]), str(item["listing_id"]))
        reason = str(item.get("reason") or "")
        approved = (decisions.get(key) or {}).get("decision") == "approve"
        if approved or not (reason in below or OVERALL in below):
            kept.append(item)
            continue
        figures = standing.row(reason if reason in below else OVERALL)
        refused.append(Refusal(key[0], key[1], str(item.get("url") or ""),
                               f"not auto-approved: the Good-Faith standing for {figures['reason']} is below "
                               f"IPP's threshold ({'; '.join(figures['concerns'])}); approve it in review.csv "
                               "if it must be filed", "standing"))
    return kept, refused


@contextmanager
def cases_for(plan: Any, target: Path, book: CaseBook | None) -> Iterator[None]:
    """Open one prepared case per batch, name it in the batch (``batch.case``), and keep the cases only if
    the block (writing the batches) succeeds."""
    if book is None or not plan.batches:
        yield
        return
    ok = {"written": False}
    with book.atomic(commit=lambda: ok["written"]):
        for batch in plan.batches:
            case_id = book.open_case(platform=batch.platform, ipr_id=batch.ipr_id, reason=batch.reason,
                                     batch=batch.id, folder=str(Path(target).resolve()), listings=batch.listings)
            batch.case = case_label(case_id)
        yield
        ok["written"] = True
