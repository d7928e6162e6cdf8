"""What the session commands share: their base (no crawler process), the ``--profile NAME`` option and a
quiet log."""

from __future__ import annotations

import argparse
from typing import ClassVar

from scrapy.commands import ScrapyCommand

from crawlers.sessions.store import DEFAULT_PROFILE


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """``--profile NAME`` picks a session profile. Scrapy's own ``--profile FILE`` (cProfile output) is
    taken away from these commands, or a profile name would be read as a stats file."""
    for action in list(parser._actions):
        if "--profile" in action.option_strings:
            parser._remove_action(action)
            for group in parser._action_groups:
                if action in group._group_actions:
                    group._group_actions.remove(action)
            for option in action.option_strings:
                parser._option_string_actions.pop(option, None)
    parser.set_defaults(profile=None)  # Scrapy's launcher reads opts.profile to decide on cProfile
    parser.add_argument("--profile", dest="session_profile", metavar="NAME", default=DEFAULT_PROFILE,
                        help=f"named session profile, for several accounts per platform (default: {DEFAULT_PROFILE})")


def quiet_log(settings, opts) -> None:
    """Only warnings and errors unless ``-L`` says otherwise: these commands speak in plain lines."""
    if not opts.loglevel:
        settings.set("LOG_LEVEL", "WARNING", priority="cmdline")


class SessionCommand(ScrapyCommand):
    """`scrapy login` and `scrapy session`: no crawl, plain lines, ``--profile NAME``; each names its
    ``usage`` and ``description``."""

    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict] = {"LOG_LEVEL": "WARNING"}
    usage = ""
    description = ""

    def syntax(self) -> str:
        return self.usage

    def short_desc(self) -> str:
        return self.description

    def add_options(self, parser) -> None:
        super().add_options(parser)
        add_profile_option(parser)

    def process_options(self, args, opts) -> None:
        super().process_options(args, opts)
        quiet_log(self.settings, opts)
