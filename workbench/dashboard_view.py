"""What the dashboard page shows, gathered from the store for one rights holder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from workbench.dashboard import as_records, oldest_undecided, trend, trend_chart_svg


def dashboard_context(store: Any, registry: Any) -> dict:
    from enforcement.casebook import CaseBook
    from enforcement.report import enforcement_picture, panel_html
    from store import rights_holder_key

    figures = trend(store, registry)
    book = CaseBook(store.engine, rights_holder_key(registry))
    picture = enforcement_picture(store, registry, book, as_of=datetime.now(UTC).date())
    return {
        "runs": as_records(figures.runs), "by_platform": as_records(figures.by_platform),
        "by_reason": as_records(figures.by_reason), "chart": Markup(trend_chart_svg(figures.runs)),
        "undecided": oldest_undecided(store, registry),
        "enforcement": Markup(panel_html(picture)),  # our own template, escaped inside
    }
