"""``scrapy cases``: record what happened on IPP after a complaint was filed.

    scrapy cases list                                   --registry REG [--store URL]
    scrapy cases show CASE
    scrapy cases filed CASE --ipp-number N [--date D]
    scrapy cases result CASE --outcome supported|rejected [--listing ID ...] [--ipp-reason TEXT] [--date D]
    scrapy cases counter-notice CASE --listing ID --received D --kind invoice|authorization|other [--files F ...]
                                [--out DIR] [--replay DIR] [--no-capture]
    scrapy cases reply|withdraw CASE --listing ID [--date D]
    scrapy cases outcome CASE --listing ID --outcome upheld|reinstated [--date D]
    scrapy cases import cases.csv
    scrapy cases alerts

Cases are opened by ``scrapy complaints`` (one per batch). ``--date`` is the day it happened (default today,
UTC). Exit codes: 0 done; 2 bad input (an argument, a step out of order, a bad ``cases.csv`` row: nothing
written); 1 anything else.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError

from crawlers.command_options import Described
from crawlers.command_support import RegistryCommand
from crawlers.extensions import install_log_redaction

ACTIONS = ("list", "show", "filed", "result", "counter-notice", "reply", "withdraw", "outcome", "import",
           "alerts")


class Command(Described, RegistryCommand):
    usage = f"{{{'|'.join(ACTIONS)}}} [CASE | cases.csv] --registry REG [options]"
    summary = "Record a complaint's path on IPP: filed, result, counter-notice, reply, withdraw, outcome"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--date", help="the day it happened, 2026-11-30 (default: today, UTC)")
        parser.add_argument("--ipp-number", help="IPP's complaint number (filed)")
        parser.add_argument("--outcome", help="supported|rejected (result), upheld|reinstated (outcome)")
        parser.add_argument("--listing", action="append", default=[],
                            help="platform:listing_id or the listing id (repeat for several)")
        parser.add_argument("--ipp-reason", default="", help="IPP's words with a result")
        parser.add_argument("--received", help="the day the counter-notice arrived")
        parser.add_argument("--kind", help="the seller's evidence: invoice, authorization or other")
        parser.add_argument("--files", nargs="*", default=[], help="the seller's evidence files, as received")
        parser.add_argument("--out", help="where to write the counter-notice response pack "
                                          "(default: counter-notices/ in the case's complaints folder)")
        parser.add_argument("--replay", metavar="DIR", help="capture the listing again from cassettes under DIR")
        parser.add_argument("--no-capture", action="store_true", help="no fresh capture of the listing")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        install_log_redaction()
        from enforcement.casebook import CaseError
        from enforcement.cases_cli import run_action
        from enforcement.lifecycle import TransitionError

        if not args or args[0] not in ACTIONS:
            raise UsageError(f"say what to record: {', '.join(ACTIONS)}", print_help=False)
        registry = self.load_registry(opts, "whose cases these are")
        if registry is None:
            return
        url = self.store_url(opts, "cases", "cases live in the store")
        try:
            self.exitcode = run_action(args[0], args[1:], opts, registry=registry, store_url=url,
                                       settings=self.settings)
        except (CaseError, TransitionError) as exc:
            print(f"cases: {exc}", file=sys.stderr)
            self.exitcode = 2
        except OSError as exc:
            print(f"cases: {exc}", file=sys.stderr)
            self.exitcode = 1
