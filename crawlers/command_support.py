"""What the commands about one rights holder share: the ``--registry`` option, loading it (a bad registry is
one message and exit 2), and the store they need (``crawlers/store_option.py``), said on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.store_option import add_store_option, announce_store, resolve_store_url


class RegistryCommand(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "WARNING"}
    uses_store = True  # adds --store

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--registry", metavar="REG", help="the rights holder's registry.yaml")
        if self.uses_store:
            add_store_option(parser)

    def load_registry(self, opts: argparse.Namespace, why: str = "") -> Any:
        """The registry, or None after printing what is wrong with it (exit code 2)."""
        from matchers.registry import RegistryError, load_registry

        if not opts.registry:
            raise UsageError(f"--registry is required{f' ({why})' if why else ''}", print_help=False)
        try:
            return load_registry(opts.registry)
        except RegistryError as exc:
            print(str(exc), file=sys.stderr)
            self.exitcode = 2
            return None

    def store_url(self, opts: argparse.Namespace, command: str, needed_for: str) -> str:
        """The store this command must have; an empty one is a usage error saying what it is needed for."""
        url = resolve_store_url(opts.store, self.settings)
        if not url:
            raise UsageError(f"{needed_for}: give --store or STORE_URL", print_help=False)
        announce_store(url, command)
        return url
