"""What the monitor asks about sessions: which platforms can crawl at all, and what became of each session.

- :func:`preflight` before crawling: platforms without a usable session are skipped with one message
  each ("taobao needs a sign-in: run `scrapy login taobao`"), not after twenty failed requests;
- :func:`session_summary` after crawling: the ``session`` entry of a platform in ``summary.json``
  (profile, state, how to renew), from the stats the session middleware kept;
- :func:`none_could_crawl`: exit code 3 when every platform was skipped, stopped or blocked.
"""

from __future__ import annotations

import logging

from contract import stats as stats_keys
from crawlers.sessions.middleware import live_crawl
from crawlers.sessions.outcome import STOPPED_STATES, stopped_reason
from crawlers.sessions.socks_bridge import CREDENTIALS_REFUSED
from crawlers.sessions.state import readiness
from crawlers.sessions.store import SessionError, SessionStore

logger = logging.getLogger(__name__)

def preflight(settings, platforms: list[str]) -> tuple[list[str], dict[str, dict]]:
    """The platforms that can crawl, and for the others ``{platform: {"skipped": why, "session": {...}}}``.

    Replay needs no session: every platform can crawl."""
    if not live_crawl(settings):
        return list(platforms), {}
    store = SessionStore.from_settings(settings)
    ready, skipped = [], {}
    for platform in platforms:
        profiles = settings.getdict("SESSION_PROFILES").get(platform) or None
        try:
            verdict = readiness(store, platform, profiles)
        except SessionError as exc:
            skipped[platform] = {"skipped": str(exc), "session": {"state": "unreadable"}}
            logger.error("monitor: %s: %s; skipped", platform, exc)
            continue
        if verdict.can_crawl:
            ready.append(platform)
            continue
        renew = verdict.message.rsplit("run ", 1)[-1].strip("`")
        skipped[platform] = {"skipped": verdict.message,
                             "session": {"profile": (profiles or ["default"])[0], "state": "missing",
                                         "renew": renew}}
        logger.error("monitor: %s; skipped", verdict.message)
    return ready, skipped


def session_summary(stats: dict, platform: str) -> dict | None:
    """``{"profile", "state", "renew", "at"}`` for a crawled platform, or None when no session was involved."""
    state = stats.get(stats_keys.session("state", platform))
    if state is None:
        return None
    summary = {"profile": stats.get(stats_keys.session("profile", platform), ""), "state": state,
               "renew": stats.get(stats_keys.session("renew", platform), "")}
    if stats.get(stats_keys.session("at", platform)):
        summary["at"] = stats[stats_keys.session("at", platform)]
    if state == "in use":
        summary["state"] = "ok"
    return summary


def none_could_crawl(stats_by_platform: dict[str, dict], skipped: dict[str, dict]) -> bool:
    """Every platform skipped before crawling, or stopped by its session, or blocked with no listing."""
    if not stats_by_platform and not skipped:
        return False
    for platform, stats in stats_by_platform.items():
        if stopped_reason(stats, platform) in STOPPED_STATES and not stats.get(stats_keys.SEARCH_LISTINGS):
            continue
        if stats.get(stats_keys.SEARCH_BLOCKED, 0) > 0 and stats.get(stats_keys.SEARCH_LISTINGS, 0) == 0:
            continue
        return False
    return True


def messages(summary_platforms: dict[str, dict]) -> list[str]:
    """One line per platform that was skipped or whose session failed, for the end of the run."""
    lines = []
    for platform, row in summary_platforms.items():
        session = row.get("session") or {}
        if row.get("skipped"):
            lines.append(f"{platform}: skipped: {row['skipped']}")
        elif session.get("state") == "proxy":
            lines.append(f"{platform}: the socks5 proxy {CREDENTIALS_REFUSED}; {session.get('renew')}")
        elif session.get("state") in ("expired", "paused", "budget", "invalid"):
            when = f" at {session['at']}" if session.get("at") else ""
            lines.append(f"{platform}: session {session.get('profile') or '(unreadable)'} {session['state']}{when}; "
                         f"{session.get('renew')}")
    return lines


def add_to_summary(rows: dict[str, dict], stats: dict[str, dict], skipped: dict[str, dict]) -> None:
    """``summary.json``'s platforms gain ``skipped`` (why) and ``session`` (profile, state, how to renew)."""
    empty = dict.fromkeys(("pages", "listings", "new", "flagged", "removed", "blocked", "replay_misses", "errors",
                           "unrecognized"), 0)
    for platform, entry in skipped.items():
        rows.setdefault(platform, dict(empty)).update(entry, crawled=False)
    for platform, platform_stats in stats.items():
        session = session_summary(platform_stats, platform)
        if session is not None and platform in rows:
            rows[platform]["session"] = session
