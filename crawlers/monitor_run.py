"""One monitor run, everything ``scrapy monitor`` does after reading its command line.

1. checks the registry (errors: exit 2, nothing crawled);
2. takes the registry's lock in the store and decides the run: a recent run of the same registry and
   platforms that was killed or stopped is resumed, any other unfinished one is closed as interrupted
   (``store/resume.py``, ``store/locks.py``);
3. runs every platform's spider in this process (or seeds Redis and waits for the workers), plus a check of
   every listing complained about (``check_removed``), with the progress display (``crawlers/progress.py``);
4. reads the run back from the store, writes ``reports/<run_id>/`` (``exports/run_report.py``) and decides
   the exit code: 0 done; 3 every platform blocked; 1 a listing lost on the way, every search page of a
   platform failed, a run stopped early, or the end of the run could not be recorded.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError

from contract import COMPLAINT_ON_FILE, ComplaintStatus, RemovalOutcome, RunStatus
from crawlers.command_options import chosen_platforms
from crawlers.normalize import utc_now
from crawlers.store_option import announce_store, redact_store_url, resolve_store_url

logger = logging.getLogger(__name__)

SPIDER_FOR = {"taobao": "taobao", "tmall": "tmall", "1688": "1688", "alibaba": "alibaba"}
BLOCKED_EXIT = 3


class MonitorRun:
    """The run of one registry's watch list: ``opts`` are the command's options, ``process`` its
    ``CrawlerProcess``; ``console`` is the live display's (None off a terminal)."""

    def __init__(self, opts: Any, settings: Any, process: Any, *, console: Any = None,
                 log_to_run_folder: bool = False) -> None:
        self.opts, self.settings, self.process = opts, settings, process
        self.console, self.log_to_run_folder = console, log_to_run_folder
        self.started = time.monotonic()
        self.session_skipped: dict = {}
        self.exitcode = 0

    def run(self) -> int:
        """The exit code; raises ``UsageError`` for bad options (exit code 2)."""
        from registry import RegistryError, load_registry

        try:
            registry = load_registry(self.opts.registry)
        except RegistryError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        for warning in registry.warnings:
            logger.warning("registry: %s", warning)
        platforms = chosen_platforms(self.opts.platforms) or list(registry.watch.platforms)
        store_url, images_store = self._configure(registry)
        # a platform without a usable sign-in is skipped now (crawlers/sessions/report.py)
        from crawlers.sessions.report import preflight

        platforms, self.session_skipped = preflight(self.settings, platforms)
        return self._locked(registry, platforms, store_url, images_store)

    def _configure(self, registry) -> tuple[str, str]:
        """The store and the images folder, and the settings every spider of the run reads."""
        # the same store every command uses: a relative SQLite path is the project folder's (crawlers/store_option.py)
        store_url = resolve_store_url(self.opts.store, self.settings)
        if not store_url:
            raise UsageError("--store: a monitor run needs a store (it says what is new, re-listed or removed)")
        announce_store(store_url, "monitor")
        images_store = self.opts.images_store or self.settings.get("IMAGES_STORE") or "data/images"
        for name, value in {"STORE_URL": store_url, "REGISTRY_PATH": str(registry.path),
                            "IMAGES_STORE": images_store}.items():
            self.settings.set(name, value, priority="cmdline")
        if self.opts.replay:
            if not Path(self.opts.replay).is_dir():
                raise UsageError(f"--replay {self.opts.replay}: folder not found")
            self.settings.set("REPLAY_DIR", self.opts.replay, priority="cmdline")
        return store_url, images_store

    def _locked(self, registry, platforms: list[str], store_url: str, images_store: str) -> int:
        """The run, holding the registry's lock in the store (kept alive by a heartbeat) until it ends."""
        from store import Heartbeat, Store, new_run_id

        store = Store(store_url)
        lock_name, lock_token = f"monitor:{registry.path}", self.opts.run_id or new_run_id()
        acquired, holder = store.acquire_lock(lock_name, lock_token)
        if not acquired:
            print(f"monitor: another run ({holder['run_id']}, pid {holder['pid']} on {holder['host']}) is working on "
                  f"this registry in the store {redact_store_url(store_url)}; wait for it to finish, or stop it and run again",
                  file=sys.stderr)
            return 1
        lock = {"name": lock_name, "token": lock_token}
        heartbeat = Heartbeat(lambda: store.heartbeat(lock["name"], lock["token"]))
        heartbeat.start()
        try:
            self._crawl_and_report(registry, platforms, store, lock, images_store)
        finally:
            heartbeat.stop()
            try:
                store.release_lock(lock["name"], lock["token"])
            except Exception as exc:  # a full disk: the lock goes stale, and this process is gone anyway
                logger.error("monitor: could not release the run's lock in the store: %s", exc)
            # closed, not left to the interpreter's exit: SQLite folds its write-ahead log back into the file, so
            # a copy of the store file taken after the run has all of it
            store.close()
        return self.exitcode

    def _crawl_and_report(self, registry, platforms, store, lock: dict, images_store) -> None:
        from crawlers.sessions.report import add_to_summary
        from exports.run_report import ReportFailures, write_run_reports
        from matchers.images.memo import memo_folder
        from pipelines.image_files import local_folder
        from store.resume import choose_run

        max_age = self.settings.getfloat("RESUME_MAX_AGE", 6 * 3600)
        run_id, notes = choose_run(store, str(registry.path), platforms, requested=self.opts.run_id,
                                   new_id=lock["token"], max_age=max_age)
        if run_id != lock["token"]:  # a resumed run: the lock names it, for whoever is refused
            store.rename_lock(lock["name"], lock["token"], run_id)
            lock["token"] = run_id
        self.settings.set("RUN_ID", run_id, priority="cmdline")
        out_dir = Path(self.opts.out) / run_id
        log_file = self._start_log_file(out_dir)
        for note in notes:  # after the log file is open: on a terminal, they are in monitor.log too
            logger.warning("monitor: %s", note)
        store.ensure_run(run_id, registry=str(registry.path), platforms=platforms)
        complained = store.complaints_on_file(registry=registry)
        stats, removed = self._crawl(platforms, registry, run_id, store, complained)
        failures = ReportFailures()
        summary = write_run_reports(store, registry, run_id, out_dir, images_store, stats, complained, removed,
                                    failures, memo_dir=memo_folder(self.settings, local_folder(images_store)))
        summary.update(replay=self.settings.get("REPLAY_DIR"), store=redact_store_url(self.settings.get("STORE_URL")))
        add_to_summary(summary["platforms"], stats, self.session_skipped)  # skipped platforms, and each session
        self._finish(store, summary, stats, failures, out_dir, log_file)

    def _start_log_file(self, out_dir: Path) -> Path | None:
        if not self.log_to_run_folder:
            return None
        from crawlers.progress import log_to_file

        path = out_dir / "monitor.log"
        log_to_file(path, self.settings)
        return path

    def _crawl(self, platforms, registry, run_id, store, complained) -> tuple[dict, set]:
        """Run the spiders (or wait for the workers); each platform's final stats, and the complained
        listings found taken down."""
        from crawlers.progress import PlatformStats, Progress

        distributed_stats = None
        if self.opts.redis_url:  # many workers: they crawl, this process seeds, waits and reports
            distributed_stats = self._distributed(platforms, registry, run_id)
            platforms = []
        crawlers = self._schedule(platforms)
        checker = self._schedule_check(store, complained)
        platform_stats = PlatformStats(crawlers)
        progress = Progress(platform_stats, console=self.console,
                            interval=self.settings.getfloat("PROGRESS_INTERVAL", 30.0))
        progress.start()
        try:
            if self.process.crawlers:
                self.process.start()
        finally:
            progress.stop()
        if getattr(self.process, "bootstrap_failed", False):
            logger.error("monitor: a spider could not start")
        removed = self._taken_down(store, checker)
        stats = distributed_stats if distributed_stats is not None else platform_stats.final()
        return stats, removed

    def _schedule(self, platforms: list[str]) -> dict:
        crawlers = {}
        for platform in platforms:
            try:
                crawler = self.process.create_crawler(SPIDER_FOR[platform])
            except KeyError:
                logger.error("monitor: no spider for platform %r in this version; skipped", platform)
                continue
            crawlers[platform] = crawler
            self.process.crawl(crawler)
        return crawlers

    def _schedule_check(self, store, complained: list[dict]):
        """The crawler that checks whether the listings complained about are still online, if there are any."""
        open_complaints = [c for c in complained if c["status"] in COMPLAINT_ON_FILE]
        if not open_complaints:
            return None
        checker = self.process.create_crawler("check_removed")
        self.process.crawl(checker, listings=[_detail(store, c) for c in open_complaints])
        return checker

    @staticmethod
    def _taken_down(store, checker) -> set:
        removed = set()
        if checker is not None and getattr(checker, "spider", None) is not None:
            for (platform, listing_id), outcome in checker.spider.outcomes.items():
                if outcome == RemovalOutcome.REMOVED:
                    store.set_complaint_status(platform, listing_id, ComplaintStatus.REMOVED)
                    removed.add((platform, listing_id))
        return removed

    def _finish(self, store, summary: dict, stats: dict, failures, out_dir: Path, log_file: Path | None) -> None:
        """The verdict: exit code, errors and problems in summary.json, the run's status in the store."""
        from crawlers.sessions.report import messages, none_could_crawl
        from exports.run_report import all_blocked, assess, print_summary, write_summary

        errors, problems, interrupted = assess(stats, failures)
        # a platform skipped for want of a sign-in, or stopped by its session, is missing data: said, and counted
        session_lines = messages(summary["platforms"])
        problems.extend(session_lines)
        errors += len(session_lines)
        blocked = all_blocked(stats) or none_could_crawl(stats, self.session_skipped)
        failed = BLOCKED_EXIT if blocked else 1
        self.exitcode = failed if blocked or problems else 0
        summary.update(errors=errors, problems=problems, exit_code=self.exitcode, finished_at=utc_now(),
                       elapsed_seconds=round(time.monotonic() - self.started, 1))
        status = (RunStatus.INTERRUPTED if interrupted else RunStatus.BLOCKED if blocked
                  else RunStatus.FINISHED_WITH_ERRORS if problems else RunStatus.FINISHED)
        try:
            store.finish_run(summary["run_id"], status, {p: _plain(s) for p, s in stats.items()},
                             resumable=interrupted)
        except Exception as exc:  # e.g. the store's disk is full: the run stays open, and the summary says so
            logger.error("monitor: the store could not record the end of run %s: %s", summary["run_id"], exc)
            problems.append(f"the store could not record the end of the run ({exc.__class__.__name__}); "
                            "the next start resumes it")
            summary["errors"] += 1
            self.exitcode = summary["exit_code"] = failed
        unwritten = write_summary(out_dir, summary)
        if unwritten:
            problems.append(f"summary.json could not be written: {unwritten}")
            summary["errors"] += 1
            self.exitcode = summary["exit_code"] = failed
        print_summary(summary, out_dir, log_file)
        for line in session_lines:  # the sign-in problems again on stderr, where a cron mail shows them first
            print(line, file=sys.stderr)

    def _distributed(self, platforms: list[str], registry, run_id: str) -> dict[str, dict]:
        """Seed the watch list's first search requests into Redis, wait until workers drained them."""
        from crawlers.distributed import coordinate

        classes = {}
        for platform in platforms:
            try:
                classes[platform] = self.process.spider_loader.load(SPIDER_FOR[platform])
            except KeyError:
                logger.error("monitor: no spider for platform %r in this version; skipped", platform)
        # the lock's heartbeat runs in its own thread (store/locks.py): nothing to beat from here
        return coordinate(self.opts.redis_url, run_id, spider_classes=classes, registry=str(registry.path),
                          settings=self.settings, replay=self.settings.get("REPLAY_DIR"))


def _detail(store, complaint: dict) -> dict:
    from crawlers.normalize import canonical_url

    row = store.listing(complaint["platform"], complaint["listing_id"]) or {}
    url = row.get("url") or canonical_url(complaint["platform"], complaint["listing_id"])
    return {"platform": complaint["platform"], "listing_id": complaint["listing_id"], "url": url}


def _plain(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
