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
output folder could not be written (one line naming the file), or anything else. The filing step itself:
``exports/filing_run.py``.
"""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawlers.command_options import ProjectCommand, add_registry_option, add_replay_option
from crawlers.extensions import install_log_redaction
from crawlers.store_option import add_store_option, announce_store, resolve_store_url


class Command(ProjectCommand):
    requires_crawler_process = False
    usage = "--registry REG --review review.csv --out DIR [options]"
    summary = "Build IPP complaint batches and evidence from a reviewed review.csv"

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
        add_registry_option(parser)
        parser.add_argument("--review", metavar="CSV", help="the reviewed review.csv (listings.jsonl beside it)")
        parser.add_argument("--out", metavar="DIR", help="output folder (new or empty)")
        add_store_option(parser)
        parser.add_argument(
            "--auto-approve-above", metavar="SCORE", type=float, default=None,
            help="also file rows not rejected whose score is above SCORE (0-100)",
        )
        add_replay_option(parser, "serve evidence pages")
        parser.add_argument("--no-evidence", action="store_true", help="no evidence at all (no evidence/ folder)")
        parser.add_argument("--refile", action="store_true",
                            help="file listings already on file for this rights holder again (never removed ones)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # imported here, not at the top: Scrapy imports every command module at each start, and the filing
        # step's workbook writer (openpyxl, numpy) would add a third of a second to every other command
        from exports.filing_run import exit_code_of, run_complaints

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
