"""``scrapy review``: the review workbench in the browser.

    scrapy review --registry REG [--store URL] [--run RUN_ID] [--host 127.0.0.1] [--port 8765] [--reviewer NAME]
                  [--images-store DIR] [--out reports/] [--replay DIR] [--no-browser]

Serves the validation queue, bulk decisions, "prepare complaints" and the dashboard for one run (default: the
registry's latest) until Ctrl-C. Decisions go straight to the store. Bound to 127.0.0.1 by default; on any
other address every request needs the token in the printed URL. Exit codes: 0 stopped; 2 bad input (registry,
arguments, no run in the store); 1 anything else (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crawlers.command_options import Described, add_images_store_option, add_out_option, add_replay_option
from crawlers.command_support import RegistryCommand
from crawlers.extensions import install_log_redaction


class Command(Described, RegistryCommand):
    usage = "--registry REG [--store URL] [--run RUN_ID] [--host H] [--port P] [--reviewer NAME]"
    summary = "Review flagged listings in the browser: validate, decide, prepare complaints, follow the trend"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--run", metavar="RUN_ID", help="the run to review (default: the registry's latest)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
        parser.add_argument("--reviewer", default=os.environ.get("USER") or "reviewer",
                            help="who is deciding (kept with every decision)")
        add_images_store_option(parser, "IMAGES_STORE")
        add_out_option(parser, "where prepared complaints go")
        add_replay_option(parser, "capture evidence")
        parser.add_argument("--no-browser", action="store_true", help="do not open a browser")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        install_log_redaction()
        from store import Store
        from workbench.serve import ReviewError, serve

        registry = self.load_registry(opts)
        if registry is None:
            return
        url = self.store_url(opts, "review", "decisions live in the store")
        store = Store(url)
        try:
            serve(store, registry, store_url=url, run_id=opts.run, host=opts.host, port=opts.port,
                  reviewer=opts.reviewer, images_store=Path(opts.images_store or self.settings.get("IMAGES_STORE")
                                                             or "data/images"),
                  out=Path(opts.out), replay=opts.replay, open_browser=not opts.no_browser)
        except ReviewError as exc:
            print(f"review: {exc}", file=sys.stderr)
            self.exitcode = 2
        except OSError as exc:
            print(f"review: cannot listen on {opts.host}:{opts.port}: {exc.strerror or exc}", file=sys.stderr)
            self.exitcode = 1
        finally:
            store.close()
