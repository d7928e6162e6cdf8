"""`scrapy crawl`, with the registry checked before anything is crawled.

`-a registry=PATH` with a malformed registry prints every error (each naming its key path) and
exits with code 2, as `scrapy monitor` does, instead of a traceback. A live crawl its session stopped
exits 3 (nothing crawled) or 1 (stopped part-way), as the monitor does (crawlers/sessions/outcome.py).
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
        if not self.exitcode:  # a platform its session stopped (no sign-in, expired, paused) is not a success
            from crawlers.sessions.outcome import crawl_exit_code

            self.exitcode = crawl_exit_code()
