"""What the commands about one rights holder share: the ``--registry`` option, loading it (a bad registry is
one message and exit 2), and the store they need (``crawlers/store_option.py``), said on stderr.

Every command loads its registry through ``load_for_command``; the process keeps it (``registry.load``),
so the crawls the command starts use the same one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.store_option import add_store_option, announce_store, resolve_store_url
from registry import Registry, RegistryError, load_registry


def load_for_command(command: ScrapyCommand, path: str | Path) -> Registry | None:
    """The registry at ``path``, or None after printing every problem in it on stderr (exit code 2)."""
    try:
        return load_registry(path)
    except RegistryError as exc:
        print(str(exc), file=sys.stderr)
        command.exitcode = 2
        return None


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

    def load_registry(self, opts: argparse.Namespace, why: str = "") -> Registry | None:
        """The registry, or None after printing what is wrong with it (exit code 2)."""
        if not opts.registry:
            raise UsageError(f"--registry is required{f' ({why})' if why else ''}", print_help=False)
        return load_for_command(self, opts.registry)

    def store_url(self, opts: argparse.Namespace, command: str, needed_for: str) -> str:
        """The store this command must have; an empty one is a usage error saying what it is needed for."""
        url = resolve_store_url(opts.store, self.settings)
        if not url:
            raise UsageError(f"{needed_for}: give --store or STORE_URL", print_help=False)
        announce_store(url, command)
        return url
