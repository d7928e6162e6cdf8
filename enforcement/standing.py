"""The Good-Faith standing: the figures a rights holder's IPP account lives by.

IPP assesses a complainant over the last 3 months, overall and for each reason code: the takedown success
rate must stay at or above 90 %, and the rate of successful counter-notices at or below 5 %. An account that
falls below is dropped from the Good-Faith program and waits 3 months to re-join.

How we count (one row per listing URL in a filed case, since IPP decides each URL of a complaint):

- **filed**: listings in cases filed within the window (by the filing day);
- **decided**: those with IPP's result; **supported**: the result took the listing down
  (``lifecycle.TAKEN_DOWN``); ``success_rate = supported / decided``;
- **counter-notices**: supported listings whose seller filed one; **succeeded**: withdrawn by us or
  reinstated by IPP; ``counter_notice_rate = succeeded / supported`` (of the takedowns, the share the sellers
  reversed; the smaller denominator makes it the stricter reading);
- a figure within ``WARN_POINTS`` of its threshold is a warning; beyond it, ``below``.

The work is tabular, so it is done with pandas over ``CaseBook.listing_history()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from enforcement.lifecycle import COUNTER_NOTICE_SUCCEEDED, COUNTER_NOTICED, DECIDED, TAKEN_DOWN

MIN_SUCCESS = 0.90
MAX_COUNTER = 0.05
WARN_POINTS = 0.05
WINDOW_MONTHS = 3
OVERALL = "overall"


@dataclass(frozen=True)
class Standing:
    as_of: str
    window_start: str
    rows: list[dict]  # one per reason code, then "overall"
    months: list[dict]  # one per (month, reason code): the chart's points

    def row(self, reason: str) -> dict:
        return next(r for r in self.rows if r["reason"] == reason)

    def below(self) -> set[str]:
        """Reason codes (and maybe "overall") under a threshold right now."""
        return {r["reason"] for r in self.rows if r["status"] == "below"}

    def as_dict(self) -> dict:
        return {"as_of": self.as_of, "window_start": self.window_start, "thresholds": {
            "min_success_rate": MIN_SUCCESS, "max_counter_notice_rate": MAX_COUNTER, "warn_points": WARN_POINTS},
            "reasons": self.rows, "months": self.months}


def window_start(as_of: date, months: int = WINDOW_MONTHS) -> date:
    return (pd.Timestamp(as_of) - pd.DateOffset(months=months)).date()


def compute_standing(history: list[dict], as_of: date, *, months: int = WINDOW_MONTHS) -> Standing:
    start = window_start(as_of, months)
    frame = _frame(history)
    in_window = frame[(frame["filed"] >= pd.Timestamp(start)) & (frame["filed"] <= pd.Timestamp(as_of))]
    rows = [_figures(group, reason) for reason, group in sorted(in_window.groupby("reason"))]
    rows.append(_figures(in_window, OVERALL))
    months_rows = []
    if not in_window.empty:
        by_month = in_window.assign(month=in_window["filed"].dt.strftime("%Y-%m"))
        for (month, reason), group in sorted(by_month.groupby(["month", "reason"])):
            months_rows.append({"month": month, **_figures(group, reason)})
        for month, group in sorted(by_month.groupby("month")):
            months_rows.append({"month": month, **_figures(group, OVERALL)})
    return Standing(as_of=as_of.isoformat(), window_start=start.isoformat(), rows=rows, months=months_rows)


def _frame(history: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(history, columns=["reason", "state", "filed_on", "case_state"])
    frame = frame[frame["case_state"] == "filed"].copy()
    frame["filed"] = pd.to_datetime(frame["filed_on"], errors="coerce")
    frame = frame.dropna(subset=["filed"])
    frame["decided"] = frame["state"].isin([str(s) for s in DECIDED])
    frame["supported"] = frame["state"].isin([str(s) for s in TAKEN_DOWN])
    frame["counter_noticed"] = frame["state"].isin([str(s) for s in COUNTER_NOTICED])
    frame["counter_succeeded"] = frame["state"].isin([str(s) for s in COUNTER_NOTICE_SUCCEEDED])
    return frame


def _figures(group: pd.DataFrame, reason: str) -> dict:
    filed, decided = len(group), int(group["decided"].sum())
    supported = int(group["supported"].sum())
    noticed, succeeded = int(group["counter_noticed"].sum()), int(group["counter_succeeded"].sum())
    success_rate = supported / decided if decided else None
    counter_rate = succeeded / supported if supported else None
    return {"reason": reason, "filed": filed, "decided": decided, "supported": supported,
            "success_rate": _round(success_rate), "counter_notices": noticed, "counter_notices_succeeded": succeeded,
            "counter_notice_rate": _round(counter_rate),
            "status": _status(success_rate, counter_rate), "pending": filed - decided,
            "concerns": _concerns(success_rate, counter_rate)}


def _concerns(success_rate: float | None, counter_rate: float | None) -> list[str]:
    """Which figure is below, or near, its threshold, in words."""
    concerns = []
    if success_rate is not None and success_rate < MIN_SUCCESS + WARN_POINTS:
        where = "below" if success_rate < MIN_SUCCESS else f"within {WARN_POINTS * 100:.0f} points of"
        concerns.append(f"{success_rate * 100:.1f} % supported is {where} IPP's {MIN_SUCCESS * 100:.0f} % minimum")
    if counter_rate is not None and counter_rate > MAX_COUNTER - WARN_POINTS:
        where = "above" if counter_rate > MAX_COUNTER else f"within {WARN_POINTS * 100:.0f} points of"
        concerns.append(f"{counter_rate * 100:.1f} % reversed is {where} IPP's {MAX_COUNTER * 100:.0f} % maximum")
    return concerns


def _status(success_rate: float | None, counter_rate: float | None) -> str:
    """ok, warning (within WARN_POINTS of a threshold), below (past one), or no-data."""
    if success_rate is None and counter_rate is None:
        return "no-data"
    below = (success_rate is not None and success_rate < MIN_SUCCESS) or (
        counter_rate is not None and counter_rate > MAX_COUNTER)
    if below:
        return "below"
    near = (success_rate is not None and success_rate < MIN_SUCCESS + WARN_POINTS) or (
        counter_rate is not None and counter_rate > MAX_COUNTER - WARN_POINTS)
    return "warning" if near else "ok"


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def status_line(row: dict) -> str:
    """One sentence for the terminal and the report: "counterfeit: 92.0 % supported (46 of 50) — warning…"."""
    if row["status"] == "no-data":
        return f"{row['reason']}: no decided complaint in the window ({row['filed']} filed, all pending)"
    parts = [f"{row['reason']}: "]
    if row["success_rate"] is not None:
        parts.append(f"{row['success_rate'] * 100:.1f} % supported ({row['supported']} of {row['decided']} decided)")
    if row["counter_notice_rate"] is not None:
        parts.append(f", {row['counter_notice_rate'] * 100:.1f} % of takedowns reversed by counter-notice "
                     f"({row['counter_notices_succeeded']} of {row['supported']})")
    concerns = "; ".join(row["concerns"])
    verdict = {"ok": "within IPP's thresholds",
               "warning": f"WARNING: {concerns}",
               "below": f"BELOW IPP's thresholds: {concerns}; the account can be dropped from Good-Faith"}
    parts.append(f" — {verdict[row['status']]}")
    return "".join(parts)
