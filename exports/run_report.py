"""What a monitor run leaves behind: ``reports/<run_id>/`` (listings.jsonl, review.csv, report.html, the
comparison pictures, summary.json) and the end-of-run table, with every problem said in words.

Nothing gathered may look like success when it was lost: a listing not stored, an image not saved or
hashed, a report or comparison picture not written, every search page of a platform failed, or a run
stopped before its end each adds a count to ``errors`` and a line to ``problems``, and makes the run's exit
code 1 (see :func:`assess`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from contract import FLAGGED, ComplaintStatus, ListingStatus
from contract import stats as keys
from exports.comparison_picture import has_picture

logger = logging.getLogger(__name__)

REPORT_FILES = ("listings.jsonl", "review.csv", "report.html", "sellers.csv", "summary.json")
NORMAL_ENDS = ("finished", "shutdown")  # shutdown: SIGTERM / Ctrl-C, said by `interrupted`


@dataclass
class ReportFailures:
    """Reports that could not be written, and listings whose comparison picture could not be made."""

    files: dict[str, str] = field(default_factory=dict)  # report name -> error
    comparisons: int = 0


def write_run_reports(store, registry, run_id: str, out_dir: Path, images_store: str, stats: dict,
                      complained: list[dict], removed: set, failures: ReportFailures, *,
                      memo_dir: Path | None = None) -> dict:
    """Write listings.jsonl, review.csv and report.html for ``run_id``; the summary without its verdict.
    ``memo_dir``: the image memo's folder (``matchers.images.memo.memo_folder``), where the comparison pictures
    and the report's thumbnails drawn by earlier runs are kept; None: every picture is drawn."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter] = {p: Counter() for p in stats}
    statuses: Counter = Counter()
    listings_path = out_dir / "listings.jsonl"
    try:
        pictures = Comparisons(registry, images_store, out_dir, failures, memo_dir)
        _write_listings(store, registry, run_id, listings_path, pictures, complained, removed, counts, statuses)
    except OSError as exc:
        failures.files["listings.jsonl"] = str(exc)
        logger.error("report: could not write %s: %s", listings_path, exc)
    panel, enforcement = _enforcement(store, registry, run_id, out_dir, removed, failures)
    reviewed = cards = 0
    if "listings.jsonl" not in failures.files:
        from exports.report_html import write_report_html
        from exports.review_csv import write_review_csv

        # both read listings.jsonl again as a stream: memory does not grow with the run
        try:
            reviewed = write_review_csv(_to_review(listings_path), out_dir / "review.csv", registry)
        except OSError as exc:
            failures.files["review.csv"] = str(exc)
            logger.error("report: could not write %s: %s", out_dir / "review.csv", exc)
        try:
            cards = write_report_html(_to_review(listings_path), out_dir / "report.html", registry=registry,
                                      images_store=images_store, run_id=run_id, sections=panel, memo_dir=memo_dir)
        except OSError as exc:
            failures.files["report.html"] = str(exc)
            logger.error("report: could not write %s: %s", out_dir / "report.html", exc)
    return {
        "run_id": run_id,
        "registry": str(registry.path),
        "rights_holder": registry.rights_holder.name,
        "platforms": {platform: _platform_row(platform, stats.get(platform, {}), counts.get(platform, Counter()),
                                              crawled=platform in stats)
                      for platform in sorted(set(counts) | set(stats))},
        "statuses": dict(statuses),
        "review_rows": reviewed,
        "report_cards": cards,
        **enforcement,
        "reports": {name: str(out_dir / name) for name in REPORT_FILES},
    }


def _enforcement(store, registry, run_id: str, out_dir: Path, removed: set, failures: ReportFailures):
    """The Good-Faith standing, the cases waiting for the rights holder and the seller view
    (enforcement/report.py): the report's panel and summary.json's sections; sellers.csv."""
    from datetime import UTC, datetime

    from enforcement.report import run_enforcement

    try:
        return run_enforcement(store, registry, run_id, out_dir, removed, day=datetime.now(UTC).date())
    except Exception as exc:  # a report section, not the run: counted as a report that failed, and said
        failures.files["sellers.csv"] = str(exc)
        logger.exception("report: the standing and seller sections could not be made: %s", exc)
        return "", {}


def _write_listings(store, registry, run_id, path: Path, pictures: Comparisons, complained, removed, counts,
                    statuses) -> None:
    from exports.incremental import annotate

    decisions = store.review_decisions(registry=registry)
    with path.open("w", encoding="utf-8") as out:
        for listing in annotate(store.run_listings(run_id), run_id=run_id, complained=complained,
                                decisions=decisions):
            platform = listing["platform"]
            counts.setdefault(platform, Counter())["listings"] += 1
            statuses[listing["status"]] += 1
            if listing["status"] == ListingStatus.RELISTED and listing.get("relisted_from"):
                # the complaint that took the original down is now a re-listing to act on again
                original_platform, _, original_id = listing["relisted_from"].partition(":")
                store.set_complaint_status(original_platform, original_id, ComplaintStatus.RELISTED, registry,
                                           only_from=ComplaintStatus.REMOVED)
            if listing["status"] == ListingStatus.NEW:
                counts[platform]["new"] += 1
            if listing.get("verdict") in FLAGGED:
                counts[platform]["flagged"] += 1
                listing["image_evidence"] = pictures.draw(listing)
            out.write(json.dumps(listing, ensure_ascii=False, default=str) + "\n")
        for platform, listing_id in sorted(removed):
            row = store.listing(platform, listing_id) or {}
            data = json.loads(row["data"]) if row.get("data") else {"platform": platform, "listing_id": listing_id}
            data.update(status=ListingStatus.REMOVED, first_seen=row.get("first_seen"), last_seen=row.get("last_seen"))
            statuses[ListingStatus.REMOVED] += 1
            counts.setdefault(platform, Counter())["removed"] += 1
            out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def _platform_row(platform: str, s: dict, c: Counter, *, crawled: bool) -> dict:
    return {
        "pages": s.get(keys.SEARCH_PAGES, 0),
        "listings": c["listings"],
        "new": c["new"],
        "flagged": c["flagged"],
        "removed": c["removed"],
        "blocked": sum(v for k, v in s.items() if k.startswith("blocked/") and k.count("/") == 1),
        "replay_misses": s.get(keys.REPLAY_MISS, 0),
        "errors": sum(count for count, _ in platform_problems(platform, s)),
        "unrecognized": s.get(keys.FORMAT_UNRECOGNIZED, 0),
        "crawled": crawled,
    }


def images_failed(stats: dict) -> int:
    """Listings whose image could not be saved or hashed: ``images/failed``, or the sum of its
    ``images/failed/<why>`` keys when only those were counted (never both)."""
    if keys.IMAGES_FAILED in stats:
        return int(stats[keys.IMAGES_FAILED])
    return sum(int(v) for k, v in stats.items()
               if k.startswith(keys.image_failed("")) and isinstance(v, int | float))


def platform_problems(platform: str, s: dict) -> list[tuple[int, str]]:
    """(count, one line for a cron reader) for each thing that went wrong in one platform's crawl."""
    problems = []
    failed = s.get(keys.SEARCH_FAILED, 0) - s.get(keys.SEARCH_BLOCKED, 0)
    if failed and not s.get(keys.SEARCH_PAGES, 0):
        problems.append((failed, f"{platform}: every search page failed ({failed}); no listing was read "
                                 "(is the network or the proxy down?)"))
    elif failed:
        problems.append((failed, f"{platform}: {failed} search pages failed (see the log)"))
    unrecognized = s.get(keys.FORMAT_UNRECOGNIZED, 0)
    if unrecognized:
        problems.append((unrecognized, f"{platform}: {unrecognized} pages in no known format (saved for "
                                       "diagnosis; the platform may have changed its pages)"))
    dropped = s.get(keys.ITEM_INVALID, 0) + s.get("item/malformed", 0)
    if dropped:
        problems.append((dropped, f"{platform}: {dropped} listings dropped as invalid or malformed"))
    unstored = s.get(keys.STORE_FAILED, 0) + s.get("work/store_failed", 0)
    if unstored:
        problems.append((unstored, f"{platform}: {unstored} listings gathered but not stored (the store could "
                                   "not be written; is the disk full?)"))
    unhashed = images_failed(s)
    if unhashed:
        problems.append((unhashed, f"{platform}: {unhashed} listings whose image could not be saved or hashed"))
    reason = s.get("finish_reason")
    if reason == "not_started":
        problems.append((1, f"{platform}: the crawl could not start (see the log)"))
    elif reason not in (None, *NORMAL_ENDS):
        problems.append((1, f"{platform}: the crawl ended early ({reason})"))
    return problems


def assess(stats: dict[str, dict], failures: ReportFailures) -> tuple[int, list[str], bool]:
    """(errors, problems, interrupted) of a run from its platforms' stats and its report failures."""
    errors, problems = 0, []
    for platform in sorted(stats):
        for count, line in platform_problems(platform, stats[platform]):
            errors += count
            problems.append(line)
    if failures.comparisons:
        errors += failures.comparisons
        problems.append(f"{failures.comparisons} comparison pictures could not be made; those listings are "
                        "reported without one")
    for name, error in failures.files.items():
        errors += 1
        problems.append(f"{name} could not be written: {error}")
    interrupted = any(s.get("finish_reason") == "shutdown" for s in stats.values())
    if interrupted:
        problems.append("the run was stopped before its end (SIGTERM or Ctrl-C); the next start resumes it")
    return errors, problems, interrupted


def all_blocked(stats: dict[str, dict]) -> bool:
    """Every platform refused: blocked pages and not one listing."""
    return bool(stats) and all(s.get(keys.SEARCH_BLOCKED, 0) > 0 and s.get(keys.SEARCH_LISTINGS, 0) == 0
                               for s in stats.values())


def write_summary(out_dir: Path, summary: dict) -> str | None:
    """Write summary.json; the error, if it could not be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        logger.error("report: could not write %s: %s", out_dir / "summary.json", exc)
        return str(exc)
    return None


def _to_review(listings_path: Path):
    """The rows a reviewer sees: flagged listings not already settled, and complained ones now removed."""
    with listings_path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("status") == ListingStatus.REMOVED or (item.get("verdict") in FLAGGED and item.get("review_again", True)):
                yield item


class Comparisons:
    """The run report's side-by-side pictures, under ``<report>/comparisons/``; drawn ones are kept in the image
    memo (``memo_dir``) and copied from it on the next run."""

    def __init__(self, registry, images_store: str, out_dir: Path, failures: ReportFailures, memo_dir: Path | None):
        from matchers.images.memo import Memo

        self.registry_dir = Path(registry.path).parent
        self.images_store = images_store
        self.out_dir = out_dir
        self.failures = failures
        self.memo = Memo(memo_dir, "comparison")

    def draw(self, listing: dict) -> str:
        """The picture for a listing with an image hit; its path relative to the report folder ("" for none)."""
        from exports.comparison_picture import REPORT_FOLDER, comparison_source, draw_comparison
        from exports.evidence import safe_component

        if not isinstance(listing.get("image_hit"), dict) or not has_picture(listing):
            return ""
        name = f"{safe_component(listing['platform'])}-{safe_component(listing['listing_id'])}.png"
        target = self.out_dir / REPORT_FOLDER / name
        try:
            source = comparison_source(listing, registry_dir=self.registry_dir, images_store=self.images_store)
            draw_comparison(replace(source, distance=source.distance or 0), target, self.memo)
            return str(target.relative_to(self.out_dir))
        except Exception as exc:  # PictureError, a full disk…: the listing is reported without its picture,
            self.failures.comparisons += 1  # and the run says so
            logger.error("comparison picture for %s %s failed: %s", listing.get("platform"),
                         listing.get("listing_id"), exc)
            return ""


def enforcement_lines(summary: dict) -> list[str]:
    """What needs the rights holder now: replies due, listings to chase, a standing near or below IPP's line."""
    cases = summary.get("cases") or {}
    lines = [f"counter-notice: {n['case']} {n['platform']} {n['listing_id']} ({n['kind']}) waits for your reply by "
             f"{n['deadline']} (scrapy cases counter-notice … wrote its pack)" for n in cases.get("awaiting_reply", [])]
    lines += [f"alert: {a['message']}" for a in cases.get("alerts", [])]
    standing = summary.get("standing") or {}
    lines += [f"standing: {line}" for row, line in zip(standing.get("reasons", []), standing.get("lines", []),
                                                        strict=False) if row["status"] in ("warning", "below")]
    return lines


def print_summary(summary: dict, out_dir: Path, log_file: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {summary['run_id']}", caption="listings by the platform that lists them")
    columns = ("pages", "listings", "new", "flagged", "removed", "blocked", "replay_misses", "errors")
    table.add_column("platform")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for platform, row in summary["platforms"].items():
        table.add_row(platform, *(str(row.get(c, 0)) for c in columns))
    console = Console(stderr=False, width=120)
    console.print(table)
    for problem in summary.get("problems", []):
        console.print(f"problem: {problem}", markup=False, highlight=False)
    for line in enforcement_lines(summary):
        console.print(line, markup=False, highlight=False)
    console.print(f"reports: {out_dir}/ (review.csv: {summary['review_rows']} rows; exit code {summary['exit_code']})",
                  markup=False, highlight=False)
    if log_file is not None:
        console.print(f"log: {log_file}", markup=False, highlight=False)
