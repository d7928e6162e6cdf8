"""``scrapy standing``: the Good-Faith figures IPP judges the rights holder's account by.

    scrapy standing --registry REG [--store URL] [--as-of 2026-12-01] [--json]

Over the last 3 months, for each reason code and overall: complaints filed, the share supported, counter-notices
received and the share that succeeded, against IPP's thresholds (at least 90 % supported, at most 5 % reversed),
with a warning within 5 points. How each figure is counted: ``enforcement/standing.py``. Exit codes: 0 shown;
2 bad input; 1 anything else.
"""

from __future__ import annotations

import argparse
import json

from crawlers.command_options import Described, day_option, opened_store
from crawlers.command_support import RegistryCommand


class Command(Described, RegistryCommand):
    usage = "--registry REG [--store URL] [--as-of DATE] [--json]"
    summary = "Show the Good-Faith standing: complaints supported and counter-notices, per reason code"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--as-of", help="the window's last day (default: today, UTC)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from enforcement.casebook import CaseBook
        from enforcement.standing import compute_standing, status_line
        from store import rights_holder_key

        as_of = day_option(opts.as_of, "--as-of")
        registry = self.load_registry(opts)
        if registry is None:
            return
        with opened_store(self.store_url(opts, "standing", "the standing is computed from the store")) as store:
            history = CaseBook(store.engine, rights_holder_key(registry)).listing_history()
        standing = compute_standing(history, as_of)
        if opts.json:
            print(json.dumps(standing.as_dict(), ensure_ascii=False, indent=2))
            return
        print(f"Good-Faith standing of {registry.rights_holder.name}, {standing.window_start} to {standing.as_of}:")
        for row in standing.rows:
            print(f"  {status_line(row)}")
