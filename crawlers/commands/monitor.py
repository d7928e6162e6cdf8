"""`scrapy monitor`: one scheduled run for a registry's watch list.

    scrapy monitor --registry REG [--replay DIR] [--platforms taobao,tmall] [--out reports/] [--store URL]

1. checks the registry (errors: exit 2, nothing crawled);
2. takes the registry's lock in the store and decides the run: a recent run of the same registry and
   platforms that was killed or stopped is resumed, any other unfinished one is closed as interrupted
   (``pipelines/runs.py``);
3. runs every platform's spider in this process, plus a check of every listing complained about
   (``check_removed``); listings go through validation, images, scoring and the store;
4. reads the run back from the store and writes ``reports/<run_id>/`` (``exports/run_report.py``).

Exit codes: 0 done; 2 bad input; 3 every platform blocked; 1 anything else, a listing lost on the way
(not stored, not hashed, not reported), every search page of a platform failed, or a run stopped early.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from contract import PLATFORMS, ComplaintStatus, RemovalOutcome
from crawlers.extensions import install_log_redaction
from crawlers.normalize import utc_now
from crawlers.store_option import add_store_option, announce_store, redact_store_url, resolve_store_url
from exports.filing_guard import ON_FILE

logger = logging.getLogger(__name__)

SPIDER_FOR = {"taobao": "taobao", "tmall": "tmall", "1688": "1688", "alibaba": "alibaba"}


class Command(ScrapyCommand):
    requires_project = True
    default_settings: ClassVar[dict] = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "--registry REGISTRY [--replay DIR] [--platforms P1,P2] [--out DIR] [--store URL]"

    def short_desc(self) -> str:
        return "Run every spider for a registry's watch list, score, store and write the reports"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--registry", required=True, help="the rights holder's registry.yaml")
        parser.add_argument("--replay", metavar="DIR", help="serve every request from the cassettes under DIR")
        parser.add_argument("--platforms", help="comma-separated subset of the watch list's platforms")
        parser.add_argument("--out", default="reports", help="reports folder (default: reports/)")
        add_store_option(parser)
        parser.add_argument("--run-id", help="name this run (default: UTC timestamp + random suffix); giving "
                                             "the id of a stopped run resumes it")
        parser.add_argument("--images-store", help="where listing images are kept (default: data/images)")
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
        started = time.monotonic()
        lines = self.console = None
        if getattr(self, "live", False):
            from rich.console import Console

            from crawlers.progress import TerminalLines

            self.console = Console(stderr=True)  # the live table's: lines printed on it go above the table
            lines = TerminalLines(self.console)  # each warning and error, as one short line
            logging.root.addHandler(lines)
        try:
            self._run(opts, started)
        except UsageError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            self.exitcode = 2
        except Exception:
            logger.exception("monitor: the run failed")
            self.exitcode = 1
        finally:
            if lines is not None:
                logging.root.removeHandler(lines)

    # ------------------------------------------------------------------------------------
    def _run(self, opts, started: float) -> None:
        from matchers.registry import RegistryError, load_registry
        from store import Store

        try:
            registry = load_registry(opts.registry)
        except RegistryError as exc:
            print(str(exc), file=sys.stderr)
            self.exitcode = 2
            return
        for warning in registry.warnings:
            logger.warning("registry: %s", warning)
        platforms = self._platforms(opts, registry)
        settings = self.settings
        # the same store every command uses: a relative SQLite path is the project folder's (crawlers/store_option.py)
        store_url = resolve_store_url(opts.store, settings)
        if not store_url:
            raise UsageError("--store: a monitor run needs a store (it says what is new, re-listed or removed)")
        announce_store(store_url, "monitor")
        images_store = opts.images_store or settings.get("IMAGES_STORE") or "data/images"
        for name, value in {"STORE_URL": store_url, "REGISTRY_PATH": str(registry.path),
                            "IMAGES_STORE": images_store}.items():
            settings.set(name, value, priority="cmdline")
        if opts.replay:
            if not Path(opts.replay).is_dir():
                raise UsageError(f"--replay {opts.replay}: folder not found")
            settings.set("REPLAY_DIR", opts.replay, priority="cmdline")
        # --- sessions (crawlers/sessions/report.py): a platform without a usable sign-in is skipped now
        from crawlers.sessions.report import preflight

        platforms, self.session_skipped = preflight(settings, platforms)
        # --- end sessions
        store = Store(store_url)
        from store import new_run_id

        lock_name, lock_token = f"monitor:{registry.path}", opts.run_id or new_run_id()
        acquired, holder = store.acquire_lock(lock_name, lock_token)
        if not acquired:
            print(f"monitor: another run ({holder['run_id']}, pid {holder['pid']} on {holder['host']}) is working on "
                  f"this registry in the store {redact_store_url(store_url)}; wait for it to finish, or stop it and run again",
                  file=sys.stderr)
            self.exitcode = 1
            return
        from store import Heartbeat

        lock = {"name": lock_name, "token": lock_token}
        heartbeat = Heartbeat(lambda: store.heartbeat(lock["name"], lock["token"]))
        heartbeat.start()
        try:
            self._crawl_and_report(opts, started, registry, platforms, store, lock, images_store)
        finally:
            heartbeat.stop()
            try:
                store.release_lock(lock["name"], lock["token"])
            except Exception as exc:  # a full disk: the lock goes stale, and this process is gone anyway
                logger.error("monitor: could not release the run's lock in the store: %s", exc)

    def _crawl_and_report(self, opts, started, registry, platforms, store, lock: dict, images_store) -> None:
        from exports.run_report import ReportFailures, write_run_reports
        from store.runs import choose_run

        max_age = self.settings.getfloat("RESUME_MAX_AGE", 6 * 3600)
        run_id, notes = choose_run(store, str(registry.path), platforms, requested=opts.run_id,
                                  new_id=lock["token"], max_age=max_age)
        if run_id != lock["token"]:  # a resumed run: the lock names it, for whoever is refused
            store.rename_lock(lock["name"], lock["token"], run_id)
            lock["token"] = run_id
        self.settings.set("RUN_ID", run_id, priority="cmdline")
        out_dir = Path(opts.out) / run_id
        log_file = self._start_log_file(out_dir)
        for note in notes:  # after the log file is open: on a terminal, they are in monitor.log too
            logger.warning("monitor: %s", note)
        store.ensure_run(run_id, registry=str(registry.path), platforms=platforms)
        complained = store.complaints_on_file(registry=registry)
        stats, removed = self._crawl(opts, platforms, registry, run_id, store, complained)

        failures = ReportFailures()
        summary = write_run_reports(store, registry, run_id, out_dir, images_store, stats, complained, removed,
                                    failures)
        summary.update(replay=self.settings.get("REPLAY_DIR"), store=redact_store_url(self.settings.get("STORE_URL")))
        from crawlers.sessions.report import (
            add_to_summary,  # skipped platforms and what became of each session
        )

        add_to_summary(summary["platforms"], stats, getattr(self, "session_skipped", {}))
        self._finish(store, summary, stats, failures, out_dir, started, log_file)

    def _start_log_file(self, out_dir: Path) -> Path | None:
        if not getattr(self, "log_to_run_folder", False):
            return None
        from crawlers.progress import log_to_file

        path = out_dir / "monitor.log"
        log_to_file(path, self.settings)
        return path

    def _crawl(self, opts, platforms, registry, run_id, store, complained) -> tuple[dict, set]:
        """Run the spiders (or wait for the workers); each platform's final stats, and the complained
        listings found taken down."""
        from crawlers.progress import PlatformStats, Progress

        process = self.crawler_process
        crawlers = {}
        distributed_stats = None
        if opts.redis_url:  # many workers: they crawl, this process seeds, waits and reports
            distributed_stats = self._distributed(opts, platforms, registry, run_id)
            platforms = []
        for platform in platforms:
            try:
                crawler = process.create_crawler(SPIDER_FOR[platform])
            except KeyError:
                logger.error("monitor: no spider for platform %r in this version; skipped", platform)
                continue
            crawlers[platform] = crawler
            process.crawl(crawler)
        checker = None
        open_complaints = [c for c in complained if c["status"] in ON_FILE]
        if open_complaints:
            checker = process.create_crawler("check_removed")
            process.crawl(checker, listings=[self._detail(store, c) for c in open_complaints])
        platform_stats = PlatformStats(crawlers)
        progress = Progress(platform_stats, console=self.console)
        progress.start()
        try:
            if process.crawlers:
                process.start()
        finally:
            progress.stop()
        if getattr(process, "bootstrap_failed", False):
            logger.error("monitor: a spider could not start")

        removed = set()
        if checker is not None and getattr(checker, "spider", None) is not None:
            for (platform, listing_id), outcome in checker.spider.outcomes.items():
                if outcome == RemovalOutcome.REMOVED:
                    store.set_complaint_status(platform, listing_id, ComplaintStatus.REMOVED)
                    removed.add((platform, listing_id))
        stats = distributed_stats if distributed_stats is not None else platform_stats.final()
        return stats, removed

    def _finish(self, store, summary: dict, stats: dict, failures, out_dir: Path, started: float,
                log_file: Path | None) -> None:
        """The verdict: exit code, errors and problems in summary.json, the run's status in the store."""
        from crawlers.sessions.report import messages, none_could_crawl
        from exports.run_report import all_blocked, assess, print_summary, write_summary

        errors, problems, interrupted = assess(stats, failures)
        skipped = getattr(self, "session_skipped", {})
        # a platform skipped for want of a sign-in, or stopped by its session, is missing data: said, and counted
        session_lines = messages(summary["platforms"])
        problems.extend(session_lines)
        errors += len(session_lines)
        blocked = all_blocked(stats) or none_could_crawl(stats, skipped)
        self.exitcode = 3 if blocked else (1 if problems else 0)
        summary.update(errors=errors, problems=problems, exit_code=self.exitcode, finished_at=utc_now(),
                       elapsed_seconds=round(time.monotonic() - started, 1))
        status = ("interrupted" if interrupted else "blocked" if blocked
                  else "finished_with_errors" if problems else "finished")
        try:
            store.finish_run(summary["run_id"], status, {p: _plain(s) for p, s in stats.items()},
                             resumable=interrupted)
        except Exception as exc:  # e.g. the store's disk is full: the run stays open, and the summary says so
            logger.error("monitor: the store could not record the end of run %s: %s", summary["run_id"], exc)
            problems.append(f"the store could not record the end of the run ({exc.__class__.__name__}); "
                            "the next start resumes it")
            summary["errors"] += 1
            self.exitcode = summary["exit_code"] = 3 if blocked else 1
        unwritten = write_summary(out_dir, summary)
        if unwritten:
            problems.append(f"summary.json could not be written: {unwritten}")
            summary["errors"] += 1
            self.exitcode = summary["exit_code"] = 3 if blocked else 1
        print_summary(summary, out_dir, log_file)
        for line in session_lines:  # the sign-in problems again on stderr, where a cron mail shows them first
            print(line, file=sys.stderr)

    def _platforms(self, opts, registry) -> list[str]:
        watched = list(registry.watch.platforms)
        if not opts.platforms:
            return watched
        chosen = [p.strip() for p in opts.platforms.split(",") if p.strip()]
        unknown = [p for p in chosen if p not in PLATFORMS]
        if unknown:
            raise UsageError(f"--platforms: unknown platform(s) {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}")
        return chosen

    def _distributed(self, opts, platforms: list[str], registry, run_id: str) -> dict[str, dict]:
        """Seed the watch list's first search requests into Redis, wait until workers drained them."""
        from crawlers.distributed import coordinate

        classes = {}
        for platform in platforms:
            try:
                classes[platform] = self.crawler_process.spider_loader.load(SPIDER_FOR[platform])
            except KeyError:
                logger.error("monitor: no spider for platform %r in this version; skipped", platform)
        # the lock's heartbeat runs in its own thread (pipelines/runs.py): nothing to beat from here
        return coordinate(opts.redis_url, run_id, spider_classes=classes, registry=str(registry.path),
                          settings=self.settings, replay=self.settings.get("REPLAY_DIR"))

    @staticmethod
    def _detail(store, complaint: dict) -> dict:
        row = store.listing(complaint["platform"], complaint["listing_id"]) or {}
        from crawlers.normalize import canonical_url

        url = row.get("url") or canonical_url(complaint["platform"], complaint["listing_id"])
        return {"platform": complaint["platform"], "listing_id": complaint["listing_id"], "url": url}


def _plain(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
