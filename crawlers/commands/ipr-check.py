"""``scrapy ipr-check``: can each right in the registry be cited on each platform, and if not, why not?

    scrapy ipr-check --registry REG [--platforms taobao,tmall] [--out DIR] [--date 2026-12-01]

Prints one line per right and platform, and writes ``DIR/ipr-check.html`` (default ``reports/``). The rules
are in ``enforcement/readiness.py``. Exit codes: 0 checked (whatever it found; ``scrapy complaints`` refuses
batches of unusable rights); 2 bad input (registry, arguments); 1 the report could not be written.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from scrapy.exceptions import UsageError

from crawlers.command_support import RegistryCommand
from crawlers.items import PLATFORMS


class Command(RegistryCommand):
    uses_store = False

    def syntax(self) -> str:
        return "--registry REG [--platforms P1,P2] [--out DIR] [--date D]"

    def short_desc(self) -> str:
        return "Check that every IPR in the registry can be cited on IPP, platform by platform"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--platforms", help="comma-separated platforms (default: the watch list)")
        parser.add_argument("--out", default="reports", help="where ipr-check.html goes (default: reports/)")
        parser.add_argument("--date", help="check as of this day (default: today, UTC)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from enforcement.readiness import check_registry
        from enforcement.readiness_report import print_readiness, write_readiness_html

        platforms = None
        if opts.platforms:
            platforms = tuple(p.strip() for p in opts.platforms.split(",") if p.strip())
            unknown = [p for p in platforms if p not in PLATFORMS]
            if unknown:
                raise UsageError(f"--platforms: unknown {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}",
                                 print_help=False)
        try:
            on = date.fromisoformat(opts.date) if opts.date else datetime.now(UTC).date()
        except ValueError:
            raise UsageError(f"--date {opts.date!r}: write it as 2026-12-01", print_help=False) from None
        registry = self.load_registry(opts)
        if registry is None:
            return
        results = check_registry(registry, on=on, platforms=platforms)
        print_readiness(results)
        try:
            path = write_readiness_html(results, Path(opts.out) / "ipr-check.html", registry=registry, on=on)
        except OSError as exc:
            print(f"ipr-check: cannot write {exc.filename or opts.out}: {exc.strerror or exc}", file=sys.stderr)
            self.exitcode = 1
            return
        print(f"ipr-check: report written to {path}")
