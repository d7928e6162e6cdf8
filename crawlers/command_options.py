"""What the ``scrapy`` commands share in their command line: a command's usage line and one-line summary as
class attributes, and the options several commands take (``--registry``, ``--out``, ``--replay``,
``--platforms``, ``--images-store``), each written once with its help text. ``--store`` is
``crawlers/store_option.py``'s."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from contract import PLATFORMS

REGISTRY_HELP = "the rights holder's registry.yaml"


class Described:
    """``syntax()`` and ``short_desc()`` from the class attributes ``usage`` and ``summary`` (mixed in before
    the ``ScrapyCommand`` base)."""

    usage: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def syntax(self) -> str:
        return self.usage

    def short_desc(self) -> str:
        return self.summary


class ProjectCommand(Described, ScrapyCommand):
    """A command run in the project folder, logging from INFO up unless it says otherwise."""

    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "INFO"}


def add_registry_option(parser: argparse.ArgumentParser, help_text: str = REGISTRY_HELP, **how: Any) -> None:
    parser.add_argument("--registry", metavar="REG", help=help_text, **how)


def add_out_option(parser: argparse.ArgumentParser, what: str, default: str | None = "reports") -> None:
    """``--out DIR``; ``what`` says what goes there (the default is said after it)."""
    after = f" (default: {default}/)" if default else ""
    parser.add_argument("--out", metavar="DIR", default=default, help=f"{what}{after}")


def add_replay_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--replay", metavar="DIR", help=f"{what} from the cassettes under DIR")


def add_platforms_option(parser: argparse.ArgumentParser, of: str) -> None:
    parser.add_argument("--platforms", help=f"comma-separated {of}")


def add_images_store_option(parser: argparse.ArgumentParser, default: str = "data/images") -> None:
    parser.add_argument("--images-store", metavar="DIR", help=f"where listing images are kept (default: {default})")


def chosen_platforms(option: str | None) -> list[str]:
    """The platforms named by ``--platforms`` (empty when it is not given); an unknown one is a usage error."""
    chosen = [p.strip() for p in (option or "").split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PLATFORMS]
    if unknown:
        raise UsageError(f"--platforms: unknown platform(s) {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}",
                         print_help=False)
    return chosen


def day_option(value: str | None, option: str) -> date:
    """The day an option names (``2026-12-01``), today (UTC) when it is not given; else a usage error."""
    try:
        return date.fromisoformat(value) if value else datetime.now(UTC).date()
    except ValueError:
        raise UsageError(f"{option} {value!r}: write it as 2026-12-01", print_help=False) from None


@contextmanager
def opened_store(url: str) -> Iterator[Any]:
    """The store at ``url``, closed when the block ends."""
    from store import Store

    store = Store(url)
    try:
        yield store
    finally:
        store.close()
