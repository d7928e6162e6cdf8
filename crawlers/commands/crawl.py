"""`scrapy crawl`, with the registry checked before anything is crawled.

`-a registry=PATH` with a malformed registry prints every error (each naming its key path) and
exits with code 2, as `scrapy monitor` does, instead of a traceback.
"""

from __future__ import annotations

from scrapy.commands.crawl import Command as ScrapyCrawl


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        registry = (getattr(opts, "spargs", None) or {}).get("registry")
        if registry:
            from crawlers.command_support import load_for_command

            if load_for_command(self, registry) is None:
                return
        super().run(args, opts)
