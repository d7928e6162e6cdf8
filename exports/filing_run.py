"""The filing step of ``scrapy complaints``: from a reviewed ``review.csv`` to the complaint batches.

In order, each once: read the decisions; find the reviewed listings (``listings.jsonl`` beside the review
file, else the store); hold back auto-approvals a weak Good-Faith standing does not allow; refuse what is
already on file, taken down or changed since the review (``exports/filing_guard.py``); check each listing
against the registry's rules and group the fileable ones by claim; refuse the claims whose right cannot be
cited; capture the evidence (screenshots, page sources, comparison pictures: the run report's picture is
reused, not drawn again); drop the listings whose page shows them taken down; pack the batches; write them
with the manifest; remember the decisions and complaints in the store for the next monitor run.

Bad input raises :class:`InputError` (exit code 2), an output folder that cannot be written
``OutputError`` (exit code 1); :func:`exit_code_of` turns both into one line and the exit code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from crawlers.store_option import redact_store_url, sqlite_file
from exports.comparison_picture import PictureError, comparison_source
from exports.complaints import Plan, Refusal, RefusalCheck, claim_plan, pack_claims, write_complaints

logger = logging.getLogger(__name__)

# the refusal checks (Refusal.check) that protect the account; the rest are the registry's rules
SAFETY_CHECKS = (RefusalCheck.ALREADY_FILED, RefusalCheck.REMOVED, RefusalCheck.CHANGED)


class InputError(Exception):
    """Bad input: exit code 2, the message names the file, row or argument."""


@dataclass(frozen=True)
class FilingOptions:
    auto_approve_above: float | None = None
    replay_dir: str | None = None
    evidence: bool = True
    images_store: str | None = None
    browser_executable: str | None = None
    refile: bool = False


def exit_code_of(run: Callable[[], int], err: TextIO | None = None) -> int:
    """Run the command; bad input is one line and exit 2, an output folder that cannot be written one
    line naming the file and exit 1 (no traceback: the user can act on the message alone)."""
    from exports.evidence import OutputError

    err = err or sys.stderr
    try:
        return run()
    except InputError as error:
        print(f"error: {error}", file=err)
        return 2
    except OutputError as error:
        print(f"error: {error}; the output folder is incomplete: do not file it, free the space or choose "
              "another folder, and run again (nothing was recorded in the store)", file=err)
        return 1


def run_complaints(
    *,
    registry_path: str | None,
    review_path: str | None,
    out_dir: str | None,
    auto_approve_above: float | None = None,
    replay_dir: str | None = None,
    evidence: bool = True,
    images_store: str | None = None,
    browser_executable: str | None = None,
    out: TextIO | None = None,
    store_url: str | None = None,
    refile: bool = False,
) -> int:
    """The whole command; raises ``InputError`` for bad input and ``OutputError`` for an output folder that
    cannot be written, returns the exit code otherwise."""
    out = out or sys.stdout
    chosen = FilingOptions(auto_approve_above, replay_dir, evidence, images_store, browser_executable, refile)
    registry, review_file, target = _check_inputs(registry_path, review_path, out_dir, chosen)
    store = _open_store(store_url)
    if store is None:
        print("complaints: no store: only the report's own statuses (removed, complained) say what must not be "
              "filed; changes since the review are not checked, and nothing is remembered for the next monitor run",
              file=out)
    try:
        return file_reviewed(registry, review_file, target, store, out, chosen)
    finally:
        if store is not None:
            store.close()


def _require(value: str | None, option: str) -> str:
    if not value:
        raise InputError(f"{option} is required")
    return value


def _check_inputs(registry_path: str | None, review_path: str | None, out_dir: str | None,
                  options: FilingOptions) -> tuple[Any, Path, Path]:
    """The registry, the review file and an output folder that is new or empty."""
    from registry import RegistryError, load_registry

    registry_file = Path(_require(registry_path, "--registry"))
    review_file = Path(_require(review_path, "--review"))
    target = Path(_require(out_dir, "--out"))
    bar = options.auto_approve_above
    if bar is not None and not 0 <= bar <= 100:
        raise InputError(f"--auto-approve-above: {bar} is not a score between 0 and 100")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"--out {target}: the folder exists and is not empty; choose a new folder")
    try:
        return load_registry(registry_file), review_file, target
    except RegistryError as error:
        raise InputError(str(error)) from None


def _open_store(store_url: str | None):
    """The store, or None when the user chose none. A SQLite file that does not exist is bad input:
    opening it would make a new, empty store, and the next monitor run would not see these complaints."""
    if not store_url:
        return None
    from store import Store

    path = sqlite_file(store_url)
    if path is not None and not path.is_file():
        raise InputError(f"{path}: no such store (--store / STORE_URL); give the store the monitor uses, "
                         "or --store '' to file without one")
    try:
        return Store(store_url)
    except Exception as error:
        raise InputError(f"store {redact_store_url(store_url)}: cannot open it: {error}") from None


def file_reviewed(registry, review_file: Path, target: Path, store, out: TextIO, options: FilingOptions) -> int:
    """Everything after the inputs are known good: choose, check, capture, plan once, write, remember."""
    from enforcement.filing import cases_for, hold_auto_approvals
    from exports.filing_guard import check_filing

    decisions = _read_decisions(review_file)
    source = ListingSource(review_file, decisions, store, options.auto_approve_above)
    selected, missing = source.select()
    book = _case_book(store, registry)
    today = datetime.now(UTC).date()
    selected, held = hold_auto_approvals(selected, decisions, book, on=today) \
        if options.auto_approve_above is not None else (selected, [])
    checked = check_filing(selected, on_file=store.complaints_on_file(registry=registry) if store else None,
                           current=source.current, reviewed=source.reviewed, refile=options.refile)
    plan, captured = plan_with_evidence(checked.kept, registry, target, review_file.parent, options, today, out)
    plan.refused[:0] = [*missing, *held, *checked.refused]
    with cases_for(plan, target, book):
        manifest = write_complaints(
            plan, target, registry, evidence=captured,
            sources={"review": str(review_file), "listings": source.name, "replay": str(options.replay_dir or ""),
                     "store": redact_store_url(store.url) if store else ""},
            extra_counts={"reviewed": len(decisions),
                          "approved": sum(1 for row in decisions.values() if row["decision"] == "approve")},
        )  # fmt: skip
    _print_outcome(manifest, target, out)
    if store is not None:
        _remember(store, registry, decisions, source.as_reviewed(checked.changed), plan.batches, target, out)
    return 0


def _read_decisions(review_file: Path) -> dict:
    from exports.review_csv import ReviewFileError, read_decisions

    try:
        return read_decisions(review_file)
    except ReviewFileError as error:
        raise InputError(str(error)) from None


def plan_with_evidence(kept: list[dict], registry, target: Path, report_dir: Path, options: FilingOptions,
                       today: date, out: TextIO) -> tuple[Plan, dict]:
    """The batches, planned once: the claims the registry and the rights allow, their evidence captured,
    the listings taken down dropped, then packed. Returns (plan, evidence by listing)."""
    from enforcement.filing import refuse_unusable_rights

    claims = refuse_unusable_rights(claim_plan(kept, registry, on=today), registry, on=today)
    captured = _capture(claims, target, registry, report_dir, options, out)
    plan = pack_claims(_without_removed(claims, captured))
    print(f"complaints: planned {len(plan.batches)} batch(es) of "
          f"{sum(len(batch.listings) for batch in plan.batches)} listing(s)", file=out)
    return plan, captured


def _case_book(store, registry):
    """The rights holder's complaint cases (enforcement/casebook.py), when there is a store."""
    if store is None:
        return None
    from enforcement.casebook import CaseBook
    from store import rights_holder_key

    return CaseBook(store.engine, rights_holder_key(registry))


class ListingSource:
    """Where the reviewed listings come from: ``listings.jsonl`` beside the review file, else the store
    (then what the reviewer saw is the review row itself: its title and price)."""

    def __init__(self, review_file: Path, decisions: dict, store, auto_approve_above: float | None):
        from exports.complaints import carried, wanted_for_filing

        self.decisions = decisions
        self.auto_approve_above = auto_approve_above
        self.file = review_file.parent / "listings.jsonl"
        self.from_file = self.file.is_file()
        if not self.from_file and store is None:
            raise InputError(f"{self.file}: not found beside {review_file.name}, and no store to read the "
                             "listings from (give --store, or keep listings.jsonl next to review.csv)")
        keys = set(wanted_for_filing(decisions, auto_approve_above))
        if not self.from_file:
            keys |= {key for key, row in decisions.items() if row["decision"] == "reject"}
        # only what filing and the change check need: 100,000 approved listings stay small in memory
        found = store.listings_by_key(keys) if store is not None else {}
        self.current: dict = {key: carried(item) for key, item in found.items()}
        self.reviewed: dict = {} if self.from_file else dict(decisions)
        self.name = str(self.file) if self.from_file else f"store {redact_store_url(store.url)}"

    def listings(self) -> Iterator[dict]:
        if self.from_file:
            return _read_listings(self.file)
        return iter(self.current.values())

    def select(self) -> tuple[list, list]:
        from exports.complaints import select_for_filing

        try:
            return select_for_filing(self.decisions, self.listings(), auto_approve_above=self.auto_approve_above,
                                     source=self.name)
        except UnicodeDecodeError as error:
            raise InputError(f"{self.file}: not UTF-8 text ({error.reason})") from None

    def as_reviewed(self, changed: set) -> Iterable[dict]:
        """The listings as the reviewer saw them, for the fingerprints the store keeps. From the store,
        a listing that changed since its review row (approved or rejected) is left out: the next run asks again."""
        if self.from_file:
            return self.listings()
        from exports.incremental import changes

        return [item for key, item in self.current.items()
                if key not in changed and not (key in self.decisions and changes(self.decisions[key], item))]


def _read_listings(path: Path) -> Iterator[dict]:
    """Every listing of a ``listings.jsonl``; a bad line is bad input naming the file and line."""
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}: line {number}: not JSON: {error.msg}") from None
            if not isinstance(item, dict):
                raise InputError(f"{path}: line {number}: not a JSON object")
            yield item


def _capture(claims: Plan, target: Path, registry, report_dir: Path, options: FilingOptions, out: TextIO) -> dict:
    """Screenshots, page sources and comparisons of every listing to file; nothing with --no-evidence."""
    if not options.evidence:
        return {}
    from exports.evidence import EvidenceRequest, capture_evidence, replay_fetch

    fetch = None
    if options.replay_dir:
        try:
            fetch = replay_fetch(options.replay_dir)
        except ValueError as error:  # CassetteError: the replay folder is missing
            raise InputError(f"--replay: {error}") from None
    requests = [
        EvidenceRequest(str(item["platform"]), str(item["listing_id"]), str(item["url"]),
                        picture_source(item, registry.path.parent, report_dir, options.images_store))
        for claim in claims.batches for item in claim.listings
    ]
    captured = capture_evidence(requests, target, fetch=fetch, screenshots=True,
                                executable_path=options.browser_executable)
    pictures = [r for r in requests if r.comparison and "comparison.png" in captured[(r.platform, r.listing_id)].files]
    reused = sum(1 for request in pictures if request.comparison.drawn is not None)
    if pictures:
        print(f"complaints: {len(pictures)} comparison picture(s): {len(pictures) - reused} drawn, {reused} reused "
              "from the run's report", file=out)
    return captured


def picture_source(item: dict[str, Any], registry_dir: Path, report_dir: Path, images_store: str | None):
    """The listing's comparison pictures, checked (``exports/comparison_picture.py``); None when it has none
    or names a file outside where it may be: no comparison rather than a picture of some other file on disk."""
    try:
        return comparison_source(item, registry_dir=registry_dir, images_store=images_store, report_dir=report_dir)
    except PictureError:
        return None


def _without_removed(claims: Plan, captured: dict) -> Plan:
    """The claims without the listings whose page shows they were taken down (the platform would reject the
    whole batch line); each joins the refusals."""
    removed = {key for key, result in captured.items() if result.removed}
    if not removed:
        return claims
    urls = {}
    for claim in claims.batches:
        urls.update({(str(item["platform"]), str(item["listing_id"])): str(item["url"]) for item in claim.listings})
        claim.listings = [item for item in claim.listings
                          if (str(item["platform"]), str(item["listing_id"])) not in removed]
    claims.refused.extend(Refusal(key[0], key[1], urls[key], f"not filed: {captured[key].error}",
                                  RefusalCheck.REMOVED) for key in sorted(removed))
    return claims


def _print_outcome(manifest: dict, target: Path, out: TextIO) -> None:
    counts = manifest["counts"]
    print(
        f"complaints: {counts['batches']} batch(es), {counts['filed']} listing(s) filed, "
        f"{counts['refused']} refused, evidence ok {counts['evidence_ok']}, failed {counts['evidence_failed']}",
        file=out,
    )
    refused = manifest["refused"]
    if refused:
        safety = sum(1 for refusal in refused if refusal["check"] in SAFETY_CHECKS)
        print(f"complaints: {len(refused)} listing(s) not filed ({safety} refused for safety: already on file, "
              "taken down, or changed since the review):", file=out)
        for refusal in refused:
            print(f"  refused {refusal['platform']} {refusal['listing_id']}: {refusal['message']}", file=out)
    print(f"complaints: written to {target}", file=out)


def _remember(store, registry, decisions, reviewed: Iterable[dict], batches, target: Path, out: TextIO) -> None:
    """Keep decisions and complaints in the store, so the next monitor run knows them (re-listed, removed,
    rejected listings not asked again). A store problem is reported; the batches are already written."""
    from exports.incremental import record_filing

    try:
        reviews, complaints = record_filing(store, decisions, reviewed, batches, registry=registry,
                                            folder=str(target.resolve()))
    except Exception as error:
        logger.error("complaints: could not record decisions in the store %s: %s", redact_store_url(store.url), error)
        return
    print(f"complaints: remembered {reviews} decision(s) and {complaints} complaint(s) in the store", file=out)
