"""``scrapy ipr-check``: can each right in the registry be cited on each platform, and if not, why not?

    scrapy ipr-check --registry REG [--platforms taobao,tmall] [--out DIR] [--date 2026-12-01]

Prints one line per right and platform, and writes ``DIR/ipr-check.html`` (default ``reports/``). The rules
are in ``enforcement/readiness.py``. Exit codes: 0 checked (whatever it found; ``scrapy complaints`` refuses
batches of unusable rights); 2 bad input (registry, arguments); 1 the report could not be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawlers.command_options import (
    Described,
    add_out_option,
    add_platforms_option,
    chosen_platforms,
    day_option,
)
from crawlers.command_support import RegistryCommand


class Command(Described, RegistryCommand):
    uses_store = False

    usage = "--registry REG [--platforms P1,P2] [--out DIR] [--date D]"
    summary = "Check that every IPR in the registry can be cited on IPP, platform by platform"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_platforms_option(parser, "platforms (default: the watch list)")
        add_out_option(parser, "where ipr-check.html goes")
        parser.add_argument("--date", help="check as of this day (default: today, UTC)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from enforcement.readiness import check_registry
        from enforcement.readiness_report import print_readiness, write_readiness_html

        platforms = tuple(chosen_platforms(opts.platforms)) or None
        on = day_option(opts.date, "--date")
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
