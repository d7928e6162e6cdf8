"""Which run a monitor start continues (the caller holds the registry's lock: ``store.locks``).

A run is *open* until it has a ``finished_at``: killed (still ``running``) or stopped by SIGTERM / Ctrl-C
(``interrupted``). At each start, holding the registry's lock:

- with ``--run-id X``: X is resumed (or re-run) whatever its age — asked for by name; every other open run
  of the registry is closed;
- without: the latest open run of the registry is resumed if it started less than ``RESUME_MAX_AGE``
  seconds ago and for the same platforms; otherwise it is closed, and a new run starts.

Closing a run marks it ``interrupted`` with a ``finished_at`` and the reason in its stats: never resumed
later, so listings gone since last week cannot be reported as new this week.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.exceptions import UsageError


def run_age(run: dict, now: datetime | None = None) -> float:
    """Seconds since ``run`` started."""
    started = datetime.strptime(run["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - started).total_seconds()


def _platform_set(run: dict) -> set[str]:
    return {p for p in (run.get("platforms") or "").split(",") if p}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds < 48 * 3600 else f"{seconds / 86400:.1f} days"


def why_not_resumable(run: dict, platforms: list[str], max_age: float) -> str | None:
    """Why the open ``run`` may not be continued by this start; None when it may."""
    age = run_age(run)
    if age > max_age:
        return f"it started {_hours(age)} ago, more than RESUME_MAX_AGE ({_hours(max_age)})"
    if _platform_set(run) != set(platforms):
        return (f"it crawled {', '.join(sorted(_platform_set(run))) or 'no platform'}, not "
                f"{', '.join(sorted(platforms))}")
    return None


def choose_run(store, registry: str, platforms: list[str], *, requested: str | None, new_id: str,
               max_age: float) -> tuple[str, list[str]]:
    """(the run id this start uses, what was decided, for the log). The caller holds the registry's lock."""
    notes: list[str] = []
    if requested:
        existing = store.run(requested)
        if existing and existing.get("registry") and existing["registry"] != registry:
            raise UsageError(f"--run-id {requested}: that run is of another registry ({existing['registry']})")
        for run in store.open_runs(registry):
            if run["run_id"] != requested:
                _close(store, run, f"run {requested} was started by name instead", notes)
        if existing:
            store.reopen_run(requested)
            notes.append(f"continuing run {requested}, as asked (--run-id)")
        return requested, notes
    chosen = None
    for run in store.open_runs(registry):  # latest first
        reason = why_not_resumable(run, platforms, max_age) if chosen is None else "a later run was resumed"
        if reason is None:
            chosen = run["run_id"]
            store.reopen_run(chosen)
            notes.append(f"resuming run {chosen}, which stopped before it finished")
        else:
            _close(store, run, reason, notes)
    return (chosen or new_id), notes


def _close(store, run: dict, reason: str, notes: list[str]) -> None:
    store.close_run(run["run_id"], reason)
    notes.append(f"run {run['run_id']} stopped before it finished and is not resumed: {reason}; closed as "
                 "interrupted")
