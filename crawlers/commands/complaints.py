"""``scrapy complaints``: turn a reviewed ``review.csv`` into IPP complaint batches.

    scrapy complaints --registry REG --review reports/<run_id>/review.csv --out DIR
                      [--store URL] [--auto-approve-above SCORE] [--replay DIR] [--no-evidence] [--refile]

The full data of each reviewed listing is read from ``listings.jsonl`` in the same folder as
``review.csv`` (the monitor writes both there), else from the store.
Listing images named by an image hit are found under ``IMAGES_STORE`` (setting) or the report folder.

The store (``--store``, else ``STORE_URL``, else ``sqlite:///data/monitor.db`` in the project folder;
``crawlers/store_option.py``) is the monitor's: it says what this rights holder already filed, what was
taken down and what changed since the review (``exports/filing_guard.py``), and it remembers the
decisions and complaints for the next monitor run. ``--store ''`` files without one (nothing checked,
nothing remembered).

Exit codes: 0 done (refusals, for safety or the registry's rules, are listed, not errors); 2 bad input
(registry, review file, listings.jsonl, arguments, a missing store, a non-empty output folder); 1 the
output folder could not be written (one line naming the file), or anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TextIO

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.extensions import install_log_redaction
from crawlers.store_option import (
    add_store_option,
    announce_store,
    redact_store_url,
    resolve_store_url,
    sqlite_file,
)

logger = logging.getLogger(__name__)


class InputError(Exception):
    """Bad input: exit code 2, the message names the file, row or argument."""


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "--registry REG --review review.csv --out DIR [options]"

    def short_desc(self) -> str:
        return "Build IPP complaint batches and evidence from a reviewed review.csv"

    def long_desc(self) -> str:
        return (
            "Files the rows of review.csv whose decision is approve (or whose score is above "
            "--auto-approve-above), reading each listing's data from listings.jsonl next to review.csv, or "
            "from the store. Listings already on file for this rights holder, taken down, or changed since "
            "the review are refused and listed. Writes DIR/manifest.json, "
            "DIR/<platform>/<ipr_id>/<reason>/batch-NNN.txt and .csv, DIR/complaints.xlsx and "
            "DIR/evidence/<platform>-<listing_id>/."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--registry", metavar="REG", help="the rights holder's registry.yaml")
        parser.add_argument("--review", metavar="CSV", help="the reviewed review.csv (listings.jsonl beside it)")
        parser.add_argument("--out", metavar="DIR", help="output folder (new or empty)")
        add_store_option(parser)
        parser.add_argument(
            "--auto-approve-above", metavar="SCORE", type=float, default=None,
            help="also file rows not rejected whose score is above SCORE (0-100)",
        )
        parser.add_argument("--replay", metavar="DIR", help="serve evidence pages from the vcrpy cassettes under DIR")
        parser.add_argument("--no-evidence", action="store_true", help="no evidence at all (no evidence/ folder)")
        parser.add_argument("--refile", action="store_true",
                            help="file listings already on file for this rights holder again (never removed ones)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        install_log_redaction()  # before anything is logged: no cookie or token in any line
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        settings = self.settings
        # the monitor's default image folder, so comparisons find the listing images it downloaded
        images_store = (settings.get("IMAGES_STORE") if settings is not None else None) or "data/images"
        executable = None
        if settings is not None:
            launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
            executable = settings.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or launch.get("executable_path")
        store_url = resolve_store_url(opts.store, settings)
        announce_store(store_url, "complaints")
        self.exitcode = exit_code_of(lambda: run_complaints(
            registry_path=opts.registry,
            review_path=opts.review,
            out_dir=opts.out,
            auto_approve_above=opts.auto_approve_above,
            replay_dir=opts.replay,
            evidence=not opts.no_evidence,
            images_store=images_store,
            browser_executable=executable,
            store_url=store_url,
            refile=opts.refile,
        ))


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


def _require(value: str | None, option: str) -> str:
    if not value:
        raise InputError(f"{option} is required")
    return value


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
    """The whole command; raises ``InputError`` for bad input and ``OutputError`` for an output folder
    that cannot be written, returns the exit code otherwise."""
    from matchers.registry import RegistryError, load_registry

    out = out or sys.stdout
    registry_file = Path(_require(registry_path, "--registry"))
    review_file = Path(_require(review_path, "--review"))
    target = Path(_require(out_dir, "--out"))
    if auto_approve_above is not None and not 0 <= auto_approve_above <= 100:
        raise InputError(f"--auto-approve-above: {auto_approve_above} is not a score between 0 and 100")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"--out {target}: the folder exists and is not empty; choose a new folder")
    try:
        registry = load_registry(registry_file)
    except RegistryError as error:
        raise InputError(str(error)) from None
    store = _open_store(store_url)
    if store is None:
        print("complaints: no store: only the report's own statuses (removed, complained) say what must not be "
              "filed; changes since the review are not checked, and nothing is remembered for the next monitor run",
              file=out)
    try:
        return _file(registry, review_file, target, store, out, auto_approve_above=auto_approve_above,
                     replay_dir=replay_dir, evidence=evidence, images_store=images_store,
                     browser_executable=browser_executable, refile=refile)
    finally:
        if store is not None:
            store.close()


def _file(registry, review_file: Path, target: Path, store, out: TextIO, *, auto_approve_above, replay_dir,
          evidence: bool, images_store, browser_executable, refile: bool) -> int:
    from exports.complaints import plan_batches
    from exports.complaints import write_complaints as write
    from exports.filing_guard import check_filing
    from exports.review_csv import ReviewFileError, read_decisions

    try:
        decisions = read_decisions(review_file)
    except ReviewFileError as error:
        raise InputError(str(error)) from None
    from enforcement.filing import cases_for, hold_auto_approvals, refuse_unusable_rights

    source = _ListingSource(review_file, decisions, store, auto_approve_above)
    selected, missing = source.select()
    book = _case_book(store, registry)
    today = datetime.now(UTC).date()
    selected, held = hold_auto_approvals(selected, decisions, book, on=today) if auto_approve_above is not None \
        else (selected, [])
    checked = check_filing(selected, on_file=store.complaints_on_file(registry=registry) if store else None,
                           current=source.current, reviewed=source.reviewed, refile=refile)
    plan = refuse_unusable_rights(plan_batches(checked.kept, registry), registry, on=today)
    captured = _evidence(plan, target, registry, review_file.parent, replay_dir=replay_dir, evidence=evidence,
                         images_store=images_store, browser_executable=browser_executable)
    plan = refuse_unusable_rights(_without_removed(plan, checked.kept, captured, registry), registry, on=today)
    plan.refused[:0] = [*missing, *held, *checked.refused]
    with cases_for(plan, target, book):
        manifest = write(
            plan,
            target,
            registry,
            evidence=captured,
            sources={"review": str(review_file), "listings": source.name, "replay": str(replay_dir or ""),
                     "store": redact_store_url(store.url) if store else ""},
            extra_counts={
                "reviewed": len(decisions),
                "approved": sum(1 for row in decisions.values() if row["decision"] == "approve"),
            },
        )
    _print_outcome(manifest, target, out)
    if store is not None:
        _remember(store, registry, decisions, source.as_reviewed(checked.changed), plan.batches, target, out)
    return 0


def _case_book(store, registry):
    """The rights holder's complaint cases (enforcement/casebook.py), when there is a store."""
    if store is None:
        return None
    from enforcement.casebook import CaseBook
    from store import rights_holder_key

    return CaseBook(store.engine, rights_holder_key(registry))


class _ListingSource:
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

    def listings(self):
        from exports.complaints import iter_listings

        if self.from_file:
            return (item for _, item in iter_listings(self.file))
        return iter(self.current.values())

    def select(self) -> tuple[list, list]:
        from exports.complaints import ComplaintInputError, select_for_filing

        try:
            return select_for_filing(self.decisions, self.listings(), auto_approve_above=self.auto_approve_above,
                                     source=self.name)
        except ComplaintInputError as error:
            raise InputError(str(error)) from None
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


def _evidence(plan, target: Path, registry, report_dir: Path, *, replay_dir, evidence: bool, images_store,
              browser_executable) -> dict:
    """Screenshots, page sources and comparisons of every listing to file; nothing with --no-evidence."""
    if not evidence:
        return {}
    from exports.evidence import ComparisonSource, EvidenceRequest, capture_evidence, replay_fetch

    fetch = None
    if replay_dir:
        try:
            fetch = replay_fetch(replay_dir)
        except ValueError as error:  # CassetteError: the replay folder is missing
            raise InputError(f"--replay: {error}") from None
    requests = [
        EvidenceRequest(str(item["platform"]), str(item["listing_id"]), str(item["url"]),
                        _comparison_source(item, registry.path.parent, report_dir, images_store, ComparisonSource))
        for batch in plan.batches for item in batch.listings
    ]
    return capture_evidence(requests, target, fetch=fetch, screenshots=True, executable_path=browser_executable)


def _without_removed(plan, kept: list, captured: dict, registry):
    """The plan again without the listings whose page shows they were taken down."""
    from exports.complaints import Refusal, plan_batches

    removed = {key for key, result in captured.items() if result.removed}
    if not removed:
        return plan
    # A listing already taken down is not filed; the platform would reject the whole batch line.
    urls = {(str(item["platform"]), str(item["listing_id"])): str(item["url"]) for item in kept}
    remaining = [item for item in kept if (str(item["platform"]), str(item["listing_id"])) not in removed]
    replanned = plan_batches(remaining, registry)
    replanned.refused[:0] = plan.refused
    replanned.refused.extend(
        Refusal(key[0], key[1], urls[key], f"not filed: {captured[key].error}", "removed") for key in sorted(removed)
    )
    return replanned


SAFETY_CHECKS = ("already_filed", "removed", "changed")


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


def _remember(store, registry, decisions, reviewed: list, batches, target: Path, out: TextIO) -> None:
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


def _comparison_source(
    item: dict[str, Any],
    registry_dir: Path,
    report_dir: Path,
    images_store: str | None,
    factory: Any,
) -> Any:
    from exports.evidence import image_hit_of

    hit = image_hit_of(item)
    if not hit.get("registered_image") or not hit.get("listing_image_path"):
        return None
    from exports.evidence import within

    # paths named by listings.jsonl are untrusted: only files inside the images store or the report
    # folder (listing image) and the registry folder (registered image) are ever used
    listing_image = within(str(hit["listing_image_path"]), images_store, report_dir, report_dir / "images")
    registered = within(str(hit["registered_image"]), registry_dir)
    if listing_image is None or registered is None:
        return None
    distance = hit.get("distance")
    return factory(
        listing_image,
        registered,
        int(distance) if distance is not None else None,
        str(hit.get("stage") or ""),
        listing_label=f"{item.get('platform')} {item.get('listing_id')} · {item.get('seller_name') or ''}".strip(" ·"),
        registered_label=str(hit["registered_image"]),
        title=str(item.get("title") or ""),
    )
