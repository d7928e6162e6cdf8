"""`scrapy crawl`, with the registry checked before anything is crawled.

`-a registry=PATH` with a malformed registry prints every error (each naming its key path) and
exits with code 2, as `scrapy monitor` does, instead of a traceback.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        registry = (getattr(opts, "spargs", None) or {}).get("registry")
        if registry:
            from matchers.registry import RegistryError, load_registry

            try:
                load_registry(registry)
            except RegistryError as exc:
                print(str(exc), file=sys.stderr)
                self.exitcode = 2
                return
        super().run(args, opts)
