"""`scrapy monitor`: one scheduled run for a registry's watch list (CONTRACT §6).

    scrapy monitor --registry REG [--replay DIR] [--platforms taobao,tmall] [--out reports/] [--store URL]

1. checks the registry (errors: exit 2, nothing crawled);
2. runs every platform's spider in this process, plus a check of every listing complained about
   (``check_removed``); listings go through validation, images, scoring and the store;
3. reads the run back from the store, marks what is new / seen / complained / re-listed / removed,
   and writes ``reports/<run_id>/``: listings.jsonl, review.csv, report.html, summary.json.

Exit codes: 0 done; 2 bad input; 3 every platform blocked; 1 any other failure.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawlers.extensions import install_log_redaction
from crawlers.items import PLATFORMS
from crawlers.normalize import utc_now

logger = logging.getLogger(__name__)

SPIDER_FOR = {"taobao": "taobao", "tmall": "tmall", "1688": "1688", "alibaba": "alibaba"}
FLAGGED = ("infringing", "suspect")


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
        parser.add_argument("--store", help="store URL (default: STORE_URL, sqlite:///data/monitor.db)")
        parser.add_argument("--run-id", help="name this run (default: UTC timestamp + random suffix)")
        parser.add_argument("--images-store", help="where listing images are kept (default: data/images)")
        parser.add_argument("--no-progress", action="store_true", help="no live progress display")
        parser.add_argument("--redis-url", help="many workers: seed this Redis and wait for `scrapy worker`s "
                                                "to crawl (see crawlers/distributed.py)")

    def run(self, args, opts) -> None:
        install_log_redaction()  # before anything is logged: no cookie or token in any line
        started = time.monotonic()
        try:
            self._run(opts, started)
        except UsageError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            self.exitcode = 2
        except Exception:
            logger.exception("monitor: the run failed")
            self.exitcode = 1

    # ------------------------------------------------------------------------------------
    def _run(self, opts, started: float) -> None:
        from matchers.registry import RegistryError, load_registry
        from pipelines.store import Store, new_run_id

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
        run_id = opts.run_id or new_run_id()
        store_url = opts.store or settings.get("STORE_URL") or "sqlite:///data/monitor.db"
        images_store = opts.images_store or settings.get("IMAGES_STORE") or "data/images"
        for name, value in {"RUN_ID": run_id, "STORE_URL": store_url, "REGISTRY_PATH": str(registry.path),
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
        lock_name, lock_token = f"monitor:{registry.path}", run_id
        acquired, holder = store.acquire_lock(lock_name, lock_token)
        if not acquired:
            print(f"monitor: another run ({holder['run_id']}, pid {holder['pid']} on {holder['host']}) is working on "
                  f"this registry in the store {_redact(store_url)}; wait for it to finish, or stop it and run again",
                  file=sys.stderr)
            self.exitcode = 1
            return
        try:
            self._crawl_and_report(opts, started, registry, platforms, store, store_url, run_id,
                                   lock_name, lock_token, images_store)
        finally:
            store.release_lock(lock_name, lock_token)

    def _crawl_and_report(self, opts, started, registry, platforms, store, store_url, run_id, lock_name,
                          lock_token, images_store) -> None:
        unfinished = store.unfinished_run(str(registry.path)) if not opts.run_id else None
        if unfinished:
            # We hold the lock, so a run still marked "running" on this registry was killed. Finish it:
            # nothing it stored is lost or counted twice, and what it found first is still reported as new.
            run_id = unfinished
            logger.warning("monitor: resuming run %s, which stopped before it finished", run_id)
        self.settings.set("RUN_ID", run_id, priority="cmdline")
        out_dir = Path(opts.out) / run_id
        store.ensure_run(run_id, registry=str(registry.path), platforms=platforms)
        complained = store.complaints_on_file()

        process = self.crawler_process
        crawlers = {}
        distributed_stats = None
        if opts.redis_url:  # many workers: they crawl, this process seeds, waits and reports
            distributed_stats = self._distributed(opts, platforms, registry, run_id,
                                                  heartbeat=lambda: store.heartbeat(lock_name, lock_token))
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
        open_complaints = [c for c in complained if c["status"] in ("prepared", "filed")]
        if open_complaints:
            checker = process.create_crawler("check_removed")
            process.crawl(checker, listings=[self._detail(store, c) for c in open_complaints])
        progress = _Progress(crawlers, live=not opts.no_progress and sys.stderr.isatty(),
                             heartbeat=lambda: store.heartbeat(lock_name, lock_token))
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
                if outcome == "removed":
                    store.set_complaint_status(platform, listing_id, "removed")
                    removed.add((platform, listing_id))

        stats = {platform: dict(crawler.stats.get_stats()) for platform, crawler in crawlers.items()}
        if distributed_stats is not None:
            stats = distributed_stats
        summary = self._reports(store, registry, run_id, out_dir, images_store, stats, complained, removed)
        all_blocked = all(
            (s.get("search/blocked", 0) > 0 and s.get("search/listings", 0) == 0) for s in stats.values()
        ) and bool(stats)
        # --- sessions: no platform could crawl (skipped without a sign-in, session expired, paused): exit 3
        from crawlers.sessions.report import none_could_crawl

        all_blocked = all_blocked or none_could_crawl(stats, getattr(self, "session_skipped", {}))
        # --- end sessions
        failed = any(s.get("finish_reason") not in (None, "finished") for s in stats.values())
        self.exitcode = 3 if all_blocked else (1 if failed or getattr(process, "bootstrap_failed", False) else 0)
        summary.update(exit_code=self.exitcode, finished_at=utc_now(),
                       elapsed_seconds=round(time.monotonic() - started, 1))
        (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        store.finish_run(run_id, "blocked" if all_blocked else "finished", {p: _plain(s) for p, s in stats.items()})
        _print_summary(summary, out_dir)
        # --- sessions: which platform was skipped or whose session failed, and how to renew it
        from crawlers.sessions.report import messages

        for line in messages(summary["platforms"]):
            print(line, file=sys.stderr)
        # --- end sessions

    def _platforms(self, opts, registry) -> list[str]:
        watched = list(registry.watch.platforms)
        if not opts.platforms:
            return watched
        chosen = [p.strip() for p in opts.platforms.split(",") if p.strip()]
        unknown = [p for p in chosen if p not in PLATFORMS]
        if unknown:
            raise UsageError(f"--platforms: unknown platform(s) {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}")
        return chosen

    def _distributed(self, opts, platforms: list[str], registry, run_id: str, heartbeat) -> dict[str, dict]:
        """Seed the watch list's first search requests into Redis, wait until workers drained them."""
        from crawlers.distributed import coordinate

        classes = {}
        for platform in platforms:
            try:
                classes[platform] = self.crawler_process.spider_loader.load(SPIDER_FOR[platform])
            except KeyError:
                logger.error("monitor: no spider for platform %r in this version; skipped", platform)
        return coordinate(opts.redis_url, run_id, spider_classes=classes, registry=str(registry.path),
                          settings=self.settings, replay=self.settings.get("REPLAY_DIR"), heartbeat=heartbeat)

    @staticmethod
    def _detail(store, complaint: dict) -> dict:
        row = store.listing(complaint["platform"], complaint["listing_id"]) or {}
        from crawlers.normalize import canonical_url

        url = row.get("url") or canonical_url(complaint["platform"], complaint["listing_id"])
        return {"platform": complaint["platform"], "listing_id": complaint["listing_id"], "url": url}

    # ------------------------------------------------------------------------------------
    def _reports(self, store, registry, run_id, out_dir: Path, images_store: str, stats: dict,
                 complained: list[dict], removed: set) -> dict:
        from exports.incremental import annotate
        from exports.report_html import write_report_html
        from exports.review_csv import write_review_csv

        out_dir.mkdir(parents=True, exist_ok=True)
        decisions = store.review_decisions()
        counts: dict[str, Counter] = {p: Counter() for p in stats}
        statuses: Counter = Counter()
        listings_path = out_dir / "listings.jsonl"
        with listings_path.open("w", encoding="utf-8") as out:
            for listing in annotate(store.run_listings(run_id), run_id=run_id, complained=complained,
                                    decisions=decisions):
                platform = listing["platform"]
                counts.setdefault(platform, Counter())
                counts[platform]["listings"] += 1
                statuses[listing["status"]] += 1
                if listing["status"] == "new":
                    counts[platform]["new"] += 1
                if listing.get("verdict") in FLAGGED:
                    counts[platform]["flagged"] += 1
                    listing["image_evidence"] = _comparison(listing, registry, images_store, out_dir)
                out.write(json.dumps(listing, ensure_ascii=False, default=str) + "\n")
            for platform, listing_id in sorted(removed):
                row = store.listing(platform, listing_id) or {}
                data = json.loads(row["data"]) if row.get("data") else {"platform": platform, "listing_id": listing_id}
                data.update(status="removed", first_seen=row.get("first_seen"), last_seen=row.get("last_seen"))
                statuses["removed"] += 1
                counts.setdefault(platform, Counter())["removed"] += 1
                out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        # both read listings.jsonl again as a stream: memory does not grow with the run
        reviewed = write_review_csv(_to_review(listings_path), out_dir / "review.csv", registry)
        cards = write_report_html(_to_review(listings_path), out_dir / "report.html", registry=registry,
                                  images_store=images_store, run_id=run_id)
        per_platform = {}
        for platform in sorted(set(counts) | set(stats)):
            s = stats.get(platform, {})
            c = counts.get(platform, Counter())
            per_platform[platform] = {
                "pages": s.get("search/pages", 0),
                "listings": c["listings"],
                "new": c["new"],
                "flagged": c["flagged"],
                "removed": c["removed"],
                "blocked": sum(v for k, v in s.items() if k.startswith("blocked/") and k.count("/") == 1),
                "replay_misses": s.get("replay/miss", 0),
                "errors": (s.get("search/failed", 0) - s.get("search/blocked", 0)) + s.get("format/unrecognized", 0)
                + s.get("item/invalid", 0) + s.get("item/malformed", 0),
                "unrecognized": s.get("format/unrecognized", 0),
                "crawled": platform in stats,
            }
        # --- sessions: "skipped" (why) and "session" (profile, state, how to renew) per platform
        from crawlers.sessions.report import session_summary

        for platform, entry in getattr(self, "session_skipped", {}).items():
            row = per_platform.setdefault(platform, {key: 0 for key in ("pages", "listings", "new", "flagged",
                                                                        "removed", "blocked", "replay_misses",
                                                                        "errors", "unrecognized")})
            row.update(entry, crawled=False)
        for platform, platform_stats in stats.items():
            session = session_summary(platform_stats, platform)
            if session is not None and platform in per_platform:
                per_platform[platform]["session"] = session
        # --- end sessions
        return {
            "run_id": run_id,
            "registry": str(registry.path),
            "rights_holder": registry.rights_holder.name,
            "replay": self.settings.get("REPLAY_DIR"),
            "store": _redact(self.settings.get("STORE_URL")),
            "platforms": per_platform,
            "statuses": dict(statuses),
            "review_rows": reviewed,
            "report_cards": cards,
            "reports": {name: str(out_dir / name) for name in ("listings.jsonl", "review.csv", "report.html",
                                                               "summary.json")},
        }


def _to_review(listings_path: Path):
    """The rows a reviewer sees: flagged listings not already settled, and complained ones now removed."""
    with listings_path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("status") == "removed" or (item.get("verdict") in FLAGGED and item.get("review_again", True)):
                yield item


def _comparison(listing: dict, registry, images_store: str, out_dir: Path) -> str:
    """The side-by-side picture for a listing with an image hit; its path relative to the report folder."""
    hit = listing.get("image_hit")
    if not isinstance(hit, dict) or not hit.get("listing_image_path") or not hit.get("registered_image"):
        return ""
    try:
        from exports.evidence import safe_component
        from matchers.comparison import make_comparison

        listing_image = Path(images_store) / hit["listing_image_path"]
        registered = Path(registry.path).parent / hit["registered_image"]
        name = f"{safe_component(listing['platform'])}-{safe_component(listing['listing_id'])}.png"
        target = out_dir / "comparisons" / name
        make_comparison(listing_image, registered, target, distance=int(hit.get("distance", 0)),
                        stage=str(hit.get("stage", "")), listing_label=listing.get("url", ""),
                        registered_label=hit["registered_image"])
        return str(target.relative_to(out_dir))
    except Exception as exc:  # evidence is best effort; the listing is still reported
        logger.warning("comparison picture for %s %s failed: %s", listing.get("platform"),
                       listing.get("listing_id"), exc)
        return ""


def _redact(url: str | None) -> str | None:
    """A store URL without its password."""
    if not url or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _plain(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if isinstance(v, int | float | str)}


class _Progress:
    """Per-platform progress: a live table on a terminal, a log line every 30 s otherwise."""

    def __init__(self, crawlers: dict, live: bool, interval: float = 30.0, heartbeat=None):
        self.crawlers = crawlers
        self.heartbeat = heartbeat
        self._beats = 0
        self.live_wanted = live
        self.interval = 1.0 if live else interval
        self._loop = None
        self._live = None

    def rows(self):
        for platform, crawler in self.crawlers.items():
            stats = crawler.stats.get_stats() if crawler.stats else {}
            yield platform, {
                "pages": stats.get("search/pages", 0),
                "listings": stats.get("search/listings", 0),
                "flagged": stats.get("score/infringing", 0) + stats.get("score/suspect", 0),
                "blocked": stats.get(f"blocked/{platform}", 0),
                "misses": stats.get("replay/miss", 0),
            }

    def render(self):
        from rich.table import Table

        table = Table(title="ipwatch monitor")
        for column in ("platform", "pages", "listings", "flagged", "blocked", "replay misses"):
            table.add_column(column, justify="right" if column != "platform" else "left")
        for platform, row in self.rows():
            table.add_row(platform, *(str(v) for v in row.values()))
        return table

    def tick(self):
        self._beats += 1
        if self.heartbeat is not None and (self._live is None or self._beats % 30 == 0):
            try:
                self.heartbeat()
            except Exception as exc:  # the store may be busy; the next beat will do
                logger.debug("heartbeat failed: %s", exc)
        if self._live is not None:
            self._live.update(self.render())
            return
        for platform, row in self.rows():
            logger.info("progress %s: %s", platform, ", ".join(f"{k} {v}" for k, v in row.items()))

    def start(self):
        from twisted.internet import task

        if self.live_wanted:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self.render(), console=Console(stderr=True), refresh_per_second=2)
            self._live.start()
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(self.interval, now=False)

    def stop(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._live is not None:
            self._live.stop()


def _print_summary(summary: dict, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {summary['run_id']}")
    columns = ("pages", "listings", "new", "flagged", "removed", "blocked", "replay_misses", "errors")
    table.add_column("platform")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for platform, row in summary["platforms"].items():
        table.add_row(platform, *(str(row.get(c, 0)) for c in columns))
    console = Console(stderr=False, width=120)
    console.print(table)
    console.print(f"reports: {out_dir}/ (review.csv: {summary['review_rows']} rows; exit code {summary['exit_code']})")
