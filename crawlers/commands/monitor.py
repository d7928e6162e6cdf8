"""`scrapy monitor`: one scheduled run for a registry's watch list.

    scrapy monitor --registry REG [--replay DIR] [--platforms taobao,tmall] [--out reports/] [--store URL]

Checks the registry, runs every platform's spider, scores and stores the listings, and writes
``reports/<run_id>/``: the run itself is ``crawlers/monitor_run.py``.

Exit codes: 0 done; 2 bad input; 3 every platform blocked; 1 anything else, a listing lost on the way
(not stored, not hashed, not reported), every search page of a platform failed, or a run stopped early.
"""

from __future__ import annotations

import logging
import sys

from scrapy.exceptions import UsageError

from crawlers.command_options import (
    ProjectCommand,
    add_images_store_option,
    add_out_option,
    add_platforms_option,
    add_registry_option,
    add_replay_option,
)
from crawlers.extensions import install_log_redaction
from crawlers.monitor_run import MonitorRun
from crawlers.store_option import add_store_option

logger = logging.getLogger(__name__)


class Command(ProjectCommand):
    usage = "--registry REGISTRY [--replay DIR] [--platforms P1,P2] [--out DIR] [--store URL]"
    summary = "Run every spider for a registry's watch list, score, store and write the reports"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        add_registry_option(parser, required=True)
        add_replay_option(parser, "serve every request")
        add_platforms_option(parser, "subset of the watch list's platforms")
        add_out_option(parser, "reports folder")
        add_store_option(parser)
        parser.add_argument("--run-id", help="name this run (default: UTC timestamp + random suffix); giving "
                                             "the id of a stopped run resumes it")
        add_images_store_option(parser)
        parser.add_argument("--no-progress", action="store_true", help="no live progress display")
        parser.add_argument("--redis-url", help="many workers: seed this Redis and wait for `scrapy worker`s "
                                                "to crawl (see crawlers/distributed/)")

    def process_options(self, args, opts) -> None:
        super().process_options(args, opts)
        # Decided before Scrapy configures its log (right after this): on a terminal the live table is all
        # there is, so Scrapy's banner and INFO lines must not print above it; they go to the run's folder.
        self.live = not opts.no_progress and sys.stderr.isatty()
        settings = self.settings
        self.log_to_run_folder = self.live and not settings.get("LOG_FILE") and settings.getbool("LOG_ENABLED")
        if self.log_to_run_folder:
            settings.set("LOG_ENABLED", False, priority="cmdline")

    def run(self, args, opts) -> None:
        install_log_redaction()  # before anything is logged: no cookie or token in any line
        console = lines = None
        if getattr(self, "live", False):
            from rich.console import Console

            from crawlers.progress import TerminalLines

            console = Console(stderr=True)  # the live table's: lines printed on it go above the table
            lines = TerminalLines(console)  # each warning and error, as one short line
            logging.root.addHandler(lines)
        try:
            self.exitcode = MonitorRun(opts, self.settings, self.crawler_process, console=console,
                                       log_to_run_folder=getattr(self, "log_to_run_folder", False)).run()
        except UsageError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            self.exitcode = 2
        except Exception:
            logger.exception("monitor: the run failed")
            self.exitcode = 1
        finally:
            if lines is not None:
                logging.root.removeHandler(lines)
