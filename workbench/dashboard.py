"""The dashboard: runs over time, the oldest undecided listings, and the enforcement figures.

Per run, per platform and per reason: listings seen, new, flagged, filed, removed and re-listed. The
figures are tabular work over the store's runs, sightings, listings and complaints, done with pandas.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from contract import COMPLAINT_TAKEN_DOWN, FLAGGED, ListingStatus
from exports.incremental import annotate
from store import complaints, listings, runs, sightings

COUNTS = ("listings", "new", "flagged", "filed", "removed", "relisted")


@dataclass
class Trend:
    runs: pd.DataFrame  # one row per run: started_at and COUNTS
    by_platform: pd.DataFrame  # one row per (run, platform)
    by_reason: pd.DataFrame  # one row per (run, reason): flagged listings


def registry_runs(store: Any, registry: Any) -> list[dict]:
    """The runs made with this registry file, oldest first; when the file has moved since (runs name the path
    they were given), the runs of a registry file with the same name."""
    with store.engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(runs).order_by(runs.c.started_at)).mappings()]
    exact = [r for r in rows if r["registry"] == str(registry.path)]
    return exact or [r for r in rows if Path(str(r["registry"] or "")).name == Path(registry.path).name]


def trend(store: Any, registry: Any) -> Trend:
    run_rows = registry_runs(store, registry)
    complained = store.complaints_on_file(registry)
    filed = pd.DataFrame(_complaint_rows(store, registry), columns=["platform", "filed_at", "status", "status_at"])
    records = []
    for index, run in enumerate(run_rows):
        window_end = run_rows[index + 1]["started_at"] if index + 1 < len(run_rows) else "9999"
        seen = annotate(_run_listings(store, run["run_id"]), run_id=run["run_id"],
                        complained=[c for c in complained if (c.get("filed_at") or "") < window_end], decisions={})
        for item in seen:
            records.append({"run_id": run["run_id"], "started_at": run["started_at"], "platform": item["platform"],
                            "reason": item.get("reason") or "", "new": item.get("status") == ListingStatus.NEW,
                            "flagged": item.get("verdict") in FLAGGED, "relisted": item.get("status") == ListingStatus.RELISTED})
        in_window = filed[(filed["filed_at"] >= run["started_at"]) & (filed["filed_at"] < window_end)] \
            if len(filed) else filed
        removed = filed[filed["status"].isin(COMPLAINT_TAKEN_DOWN) & (filed["status_at"].fillna("") >= run["started_at"])
                        & (filed["status_at"].fillna("") < window_end)] if len(filed) else filed
        for platform, group in in_window.groupby("platform"):
            records.append({"run_id": run["run_id"], "started_at": run["started_at"], "platform": platform,
                            "filed": len(group), "_event": True})
        for platform, group in removed.groupby("platform"):
            records.append({"run_id": run["run_id"], "started_at": run["started_at"], "platform": platform,
                            "removed": len(group), "_event": True})
    frame = pd.DataFrame(records, columns=["run_id", "started_at", "platform", "reason", "new", "flagged",
                                           "relisted", "filed", "removed", "_event"])
    frame["listings"] = frame["_event"].isna().astype(int)
    for column in ("new", "flagged", "relisted"):
        frame[column] = frame[column].fillna(False).astype(bool).astype(int)
    for column in ("filed", "removed"):
        frame[column] = frame[column].fillna(0).astype(int)
    by_platform = frame.groupby(["run_id", "started_at", "platform"], as_index=False)[list(COUNTS)].sum()
    totals = frame.groupby(["run_id", "started_at"], as_index=False)[list(COUNTS)].sum().sort_values("started_at")
    reasons = frame[frame["flagged"] == 1].groupby(["run_id", "reason"], as_index=False)["flagged"].sum()
    return Trend(runs=totals, by_platform=by_platform.sort_values(["started_at", "platform"]), by_reason=reasons)


def _run_listings(store: Any, run_id: str):
    return store.run_listings(run_id)


def _complaint_rows(store: Any, registry: Any) -> list[dict]:
    from store import scope as _scope

    query = select(complaints.c.platform, complaints.c.filed_at, complaints.c.status, complaints.c.status_at)
    scope = _scope(registry)
    if scope is not None:
        query = query.where(complaints.c.registry.in_(scope))
    with store.engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def oldest_undecided(store: Any, registry: Any, limit: int = 20) -> list[dict]:
    """Flagged listings nobody has decided on, longest waiting first."""
    decided = store.review_decisions(registry)
    own_runs = [r["run_id"] for r in registry_runs(store, registry)]
    query = (select(listings.c.platform, listings.c.listing_id, listings.c.title, listings.c.first_seen,
                    listings.c.score, listings.c.verdict, listings.c.url).distinct()
             .join(sightings, (sightings.c.platform == listings.c.platform)
                   & (sightings.c.listing_id == listings.c.listing_id))
             .where(sightings.c.run_id.in_(own_runs))
             .where(listings.c.verdict.in_(FLAGGED))
             .order_by(listings.c.first_seen, listings.c.platform, listings.c.listing_id))
    found = []
    with store.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            if (row["platform"], row["listing_id"]) not in decided:
                found.append(dict(row))
                if len(found) >= limit:
                    break
    return found


def trend_chart_svg(totals: pd.DataFrame) -> str:
    """Listings, new, flagged, filed, removed and re-listed per run, as an inline SVG."""
    if totals.empty:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3), dpi=100)
    # one position per run: two runs in the same minute must stay two points, so labels are not the x values
    positions = list(range(len(totals)))
    labels = [f"{str(s)[:16].replace('T', ' ')}\n{run_id[-4:]}" for s, run_id in zip(totals["started_at"],
                                                                                       totals["run_id"], strict=True)]
    for column in COUNTS:
        axes.plot(positions, totals[column], marker="o", label=column.replace("relisted", ListingStatus.RELISTED))
    axes.set_xticks(positions, labels)
    axes.set_xlim(-0.5, len(positions) - 0.5)
    axes.set_title("per run", fontsize=10)
    axes.grid(alpha=0.3)
    axes.tick_params(labelsize=8)
    axes.legend(fontsize=7, ncol=3)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def as_records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records")) if len(frame) else []
