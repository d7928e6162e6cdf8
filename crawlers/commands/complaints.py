"""``scrapy complaints``: turn a reviewed ``review.csv`` into IPP complaint batches (CONTRACT §8).

    scrapy complaints --registry REG --review reports/<run_id>/review.csv --out DIR
                      [--auto-approve-above SCORE] [--replay DIR] [--no-evidence]

The full data of each reviewed listing is read from ``listings.jsonl`` in the same report folder as
``review.csv`` (the monitor writes both there); keep them together when moving a report.
Listing images named by an image hit are found under ``IMAGES_STORE`` (setting) or the report folder.

Exit codes: 0 done (refusals are listed, not errors); 2 bad input (registry, review file,
listings.jsonl, arguments, a non-empty output folder); 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.extensions import install_log_redaction

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
            "--auto-approve-above), reading each listing's data from listings.jsonl next to review.csv. "
            "Writes DIR/manifest.json, DIR/<platform>/<ipr_id>/<reason>/batch-NNN.txt and .csv, "
            "DIR/complaints.xlsx and DIR/evidence/<platform>-<listing_id>/."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--registry", metavar="REG", help="the rights holder's registry.yaml")
        parser.add_argument("--review", metavar="CSV", help="the reviewed review.csv (listings.jsonl beside it)")
        parser.add_argument("--out", metavar="DIR", help="output folder (new or empty)")
        parser.add_argument(
            "--auto-approve-above", metavar="SCORE", type=float, default=None,
            help="also file rows not rejected whose score is above SCORE (0-100)",
        )
        parser.add_argument("--replay", metavar="DIR", help="serve evidence pages from the vcrpy cassettes under DIR")
        parser.add_argument("--no-evidence", action="store_true", help="skip the screenshots and page sources")

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
        try:
            self.exitcode = run_complaints(
                registry_path=opts.registry,
                review_path=opts.review,
                out_dir=opts.out,
                auto_approve_above=opts.auto_approve_above,
                replay_dir=opts.replay,
                evidence=not opts.no_evidence,
                images_store=images_store,
                browser_executable=executable,
                store_url=settings.get("STORE_URL") if settings is not None else None,
            )
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            self.exitcode = 2


def _remember(store_url: str, decisions, listings_file: Path, batches, iter_listings, out) -> None:
    """Keep decisions and complaints in the store, so the next monitor run knows them (re-listed, removed,
    rejected listings not asked again). A store problem is reported; the batches are already written."""
    from exports.incremental import record_filing
    from pipelines.store import Store

    try:
        store = Store(store_url)
        reviews, complaints = record_filing(store, decisions, (item for _, item in iter_listings(listings_file)),
                                            batches)
        store.close()
    except Exception as error:
        logger.error("complaints: could not record decisions in the store %s: %s", store_url, error)
        return
    print(f"complaints: remembered {reviews} decision(s) and {complaints} complaint(s) in the store", file=out)


def _require(value: str | None, option: str) -> str:
    if not value:
        raise InputError(f"{option} is required")
    return value


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
    out=None,
    store_url: str | None = None,
) -> int:
    """The whole command; raises ``InputError`` for bad input, returns the exit code otherwise."""
    # Imported here: Scrapy imports every command module at start-up, for any command.
    from exports.complaints import (
        ComplaintInputError,
        Refusal,
        iter_listings,
        plan_batches,
        select_for_filing,
    )
    from exports.complaints import write_complaints as write
    from exports.evidence import ComparisonSource, EvidenceRequest, capture_evidence, replay_fetch
    from exports.review_csv import ReviewFileError, read_decisions
    from matchers.registry import RegistryError, load_registry

    out = out or sys.stdout
    registry_file = Path(_require(registry_path, "--registry"))
    review_file = Path(_require(review_path, "--review"))
    target = Path(_require(out_dir, "--out"))
    if auto_approve_above is not None and not 0 <= auto_approve_above <= 100:
        raise InputError(f"--auto-approve-above: {auto_approve_above} is not a score between 0 and 100")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"--out {target}: the folder exists and is not empty; choose a new folder")
    listings_file = review_file.parent / "listings.jsonl"
    if not listings_file.is_file():
        raise InputError(f"{listings_file}: not found; it must sit next to {review_file.name} (the monitor writes both)")

    try:
        registry = load_registry(registry_file)
    except RegistryError as error:
        raise InputError(str(error)) from None
    try:
        decisions = read_decisions(review_file)
        selected, missing = select_for_filing(
            decisions, (item for _, item in iter_listings(listings_file)), auto_approve_above=auto_approve_above
        )
    except (ReviewFileError, ComplaintInputError) as error:
        raise InputError(str(error)) from None
    except UnicodeDecodeError as error:
        raise InputError(f"{listings_file}: not UTF-8 text ({error.reason})") from None

    fetch = None
    if evidence and replay_dir:
        try:
            fetch = replay_fetch(replay_dir)
        except ValueError as error:  # CassetteError: the replay folder is missing
            raise InputError(f"--replay: {error}") from None

    plan = plan_batches(selected, registry)
    filed = [item for batch in plan.batches for item in batch.listings]
    captured = capture_evidence(
        [
            EvidenceRequest(
                str(item["platform"]), str(item["listing_id"]), str(item["url"]),
                _comparison_source(item, registry.path.parent, review_file.parent, images_store, ComparisonSource),
            )
            for item in filed
        ],
        target,
        fetch=fetch,
        screenshots=evidence,
        executable_path=browser_executable,
    )
    removed = {key for key, result in captured.items() if result.removed}
    if removed:
        # A listing already taken down is not filed; the platform would reject the whole batch line.
        urls = {(str(item["platform"]), str(item["listing_id"])): str(item["url"]) for item in selected}
        remaining = [item for item in selected if (str(item["platform"]), str(item["listing_id"])) not in removed]
        earlier_refusals = plan.refused
        plan = plan_batches(remaining, registry)
        plan.refused[:0] = earlier_refusals
        plan.refused.extend(
            Refusal(key[0], key[1], urls[key], f"not filed: {captured[key].error}")
            for key in sorted(removed)
        )
    plan.refused[:0] = missing
    manifest = write(
        plan,
        target,
        registry,
        evidence=captured,
        sources={"review": str(review_file), "listings": str(listings_file), "replay": str(replay_dir or "")},
        extra_counts={
            "reviewed": len(decisions),
            "approved": sum(1 for row in decisions.values() if row["decision"] == "approve"),
        },
    )
    counts = manifest["counts"]
    print(
        f"complaints: {counts['batches']} batch(es), {counts['filed']} listing(s) filed, "
        f"{counts['refused']} refused, evidence ok {counts['evidence_ok']}, failed {counts['evidence_failed']}",
        file=out,
    )
    for refusal in manifest["refused"]:
        print(f"  refused {refusal['platform']} {refusal['listing_id']}: {refusal['message']}", file=out)
    print(f"complaints: written to {target}", file=out)
    if store_url:
        _remember(store_url, decisions, listings_file, plan.batches, iter_listings, out)
    return 0


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
