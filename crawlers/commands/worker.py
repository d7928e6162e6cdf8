"""`scrapy worker`: crawl a distributed run's requests from Redis into the shared store.

    scrapy worker --redis-url redis://HOST:6379/0 --store postgresql://USER:PASS@HOST/ipwatch
                  [--platforms taobao,tmall] [--run-id ID] [--registry PATH] [--wait SECONDS] [-s NAME=VALUE]

Start any number, anywhere, before or after the coordinator (``scrapy monitor --redis-url …``). A worker
waits for the current run (up to ``--wait`` seconds), takes the run's platforms, registry and replay
folder from Redis, crawls until the run is drained plus ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds, then exits.
Store credentials are never read from Redis: give ``--store`` (or ``STORE_URL``) to each worker.
How a killed worker loses nothing: crawlers/distributed/ (docs/distributed.md).

Exit codes: 0 done (or no run to join); 2 bad arguments; 1 a spider failed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from crawlers.command_options import ProjectCommand, add_platforms_option, add_registry_option
from crawlers.extensions import install_log_redaction
from crawlers.store_option import STORE_HELP, add_store_option, announce_store, resolve_store_url

logger = logging.getLogger(__name__)

# worker settings a user may replace with -s (the rest are what makes a worker safe to kill)
USER_CHOICES = frozenset({"DUPEFILTER_CLASS"})


class Command(ProjectCommand):
    usage = "--redis-url URL [--store URL] [--platforms P1,P2] [--run-id ID] [--registry PATH] [--wait S]"
    summary = "Crawl a distributed monitoring run's requests from Redis (scrapy-redis) into the shared store"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--redis-url", required=True, help="the coordinator's Redis, e.g. redis://host:6379/0")
        add_store_option(parser, STORE_HELP + "; postgresql://… for many workers")
        add_platforms_option(parser, "subset of the run's platforms")
        parser.add_argument("--run-id", help="join this run (default: the coordinator's current run)")
        add_registry_option(parser, "the registry here, when its path differs from the coordinator's")
        parser.add_argument("--wait", type=float, default=300.0,
                            help="seconds to wait for a run to join (default 300; 0: do not wait)")

    def run(self, args, opts) -> None:
        install_log_redaction()  # before anything is logged: no cookie or token in any line
        try:
            self._run(opts)
        except UsageError as exc:
            print(f"worker: {exc}", file=sys.stderr)
            self.exitcode = 2

    def _run(self, opts) -> None:
        import redis

        from crawlers.distributed import worker_settings, worker_spider_class

        settings = self.settings
        store_url = resolve_store_url(opts.store, settings)
        if not store_url:
            raise UsageError("give --store URL (or STORE_URL): the store every worker writes to")
        announce_store(store_url, "worker")
        server = redis.Redis.from_url(opts.redis_url)
        try:
            server.ping()
        except redis.RedisError as exc:
            raise UsageError(f"--redis-url {opts.redis_url}: {exc}") from None
        run = _find_run(server, opts.run_id, opts.wait)
        if run is None:
            logger.info("worker: no run to join at %s; nothing to do", opts.redis_url)
            return
        run_id = run["run_id"]
        offered = json.loads(run.get("platforms") or "{}")  # platform -> spider name
        chosen = [p.strip() for p in (opts.platforms or "").split(",") if p.strip()] or list(offered)
        unknown = [p for p in chosen if p not in offered]
        if unknown:
            raise UsageError(f"--platforms: run {run_id} does not crawl {', '.join(unknown)} "
                             f"(it crawls {', '.join(offered) or 'nothing'})")
        chosen_settings = worker_settings(run_id, opts.redis_url, settings.getdict("ITEM_PIPELINES"),
                                          settings.getdict("SPIDER_MIDDLEWARES"))
        for name, value in chosen_settings.items():
            if name in USER_CHOICES and (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]:
                continue  # given with -s
            settings.set(name, value, priority="cmdline")
        if store_url.startswith("sqlite"):
            logger.warning("worker: %s is a SQLite file; only workers on this machine can share it", store_url)
        settings.set("STORE_URL", store_url, priority="cmdline")
        registry = opts.registry or run.get("registry") or None
        if registry:
            if not Path(registry).is_file():
                raise UsageError(f"registry {registry}: file not found (give --registry PATH on this machine)")
            settings.set("REGISTRY_PATH", registry, priority="cmdline")
        if run.get("replay") and not settings.get("REPLAY_DIR"):
            settings.set("REPLAY_DIR", run["replay"], priority="cmdline")
        if run.get("images_store") and (settings.getpriority("IMAGES_STORE") or 0) < SETTINGS_PRIORITIES["cmdline"]:
            # the coordinator's report pictures are made from these files: share the folder (or use s3://)
            settings.set("IMAGES_STORE", run["images_store"], priority="cmdline")
        spider_kwargs = {"pages": run["pages"]} if run.get("pages") else {}

        process = self.crawler_process
        for platform in chosen:
            try:
                spider_cls = process.spider_loader.load(offered[platform])
            except KeyError:
                raise UsageError(f"no spider {offered[platform]!r} for {platform} in this version") from None
            process.crawl(worker_spider_class(spider_cls), **spider_kwargs)
        logger.info("worker: joining run %s for %s", run_id, ", ".join(chosen))
        process.start()
        if getattr(process, "bootstrap_failed", False):
            self.exitcode = 1


def _find_run(server, run_id: str | None, wait: float) -> dict | None:
    from crawlers.distributed import CURRENT_RUN_KEY, run_key

    deadline = time.monotonic() + wait
    announced = False
    while True:
        current = run_id or (server.get(CURRENT_RUN_KEY) or b"").decode()
        if current:
            run = {k.decode(): v.decode() for k, v in server.hgetall(run_key(current)).items()}
            if run.get("state") == "crawling":
                return run
        if time.monotonic() >= deadline:
            return None
        if not announced:
            logger.info("worker: waiting up to %.0f s for a run to join", wait)
            announced = True
        time.sleep(1.0)
