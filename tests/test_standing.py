"""The Good-Faith standing, exact on a synthetic three-month history whose outcomes are known."""

from __future__ import annotations

from datetime import date

import pytest

from enforcement.standing import compute_standing, status_line


def _rows(reason: str, filed_on: str, states: dict[str, int]) -> list[dict]:
    return [{"reason": reason, "state": state, "filed_on": filed_on, "case_state": "filed"}
            for state, count in states.items() for _ in range(count)]


HISTORY = (
    # counterfeit: 50 decided, 46 supported (92 %: a warning), 2 of 46 reversed (4.3 %: a warning too)
    _rows("counterfeit", "2026-09-15", {"removed": 20, "rejected": 2})
    + _rows("counterfeit", "2026-10-20", {"removed": 14, "upheld": 3, "reinstated": 1, "rejected": 2})
    + _rows("counterfeit", "2026-11-10", {"supported": 6, "withdrawn": 1, "replied": 1, "pending": 5})
    # stolen_image: 10 decided, 8 supported (80 %: below), none reversed
    + _rows("stolen_image", "2026-10-01", {"removed": 8, "rejected": 2})
    # trademark_misuse: 20 decided, all supported, none reversed: ok
    + _rows("trademark_misuse", "2026-11-20", {"removed": 20})
    # outside the window (before 2026-09-01), never counted
    + _rows("counterfeit", "2026-08-30", {"rejected": 40})
    # a prepared case that was never filed is not a complaint
    + [{"reason": "counterfeit", "state": "pending", "filed_on": None, "case_state": "prepared"}]
)


@pytest.fixture(scope="module")
def standing():
    return compute_standing(HISTORY, date(2026, 12, 1))


def test_the_window_is_the_last_three_months(standing):
    assert (standing.window_start, standing.as_of) == ("2026-09-01", "2026-12-01")


def test_counterfeit_figures(standing):
    row = standing.row("counterfeit")
    assert (row["filed"], row["decided"], row["supported"], row["pending"]) == (55, 50, 46, 5)
    assert row["success_rate"] == 0.92
    assert (row["counter_notices"], row["counter_notices_succeeded"]) == (6, 2)
    assert row["counter_notice_rate"] == round(2 / 46, 4)
    assert row["status"] == "warning"


def test_a_reason_code_under_ninety_percent_is_below(standing):
    row = standing.row("stolen_image")
    assert (row["success_rate"], row["status"]) == (0.8, "below")
    assert standing.below() == {"stolen_image"}


def test_a_clean_reason_code_is_ok(standing):
    row = standing.row("trademark_misuse")
    assert (row["success_rate"], row["counter_notice_rate"], row["status"]) == (1.0, 0.0, "ok")


def test_overall_adds_every_reason_code(standing):
    row = standing.row("overall")
    assert (row["filed"], row["decided"], row["supported"]) == (85, 80, 74)
    assert row["success_rate"] == round(74 / 80, 4)
    assert row["status"] == "warning"  # 92.5 %


def test_one_point_per_month_and_reason_for_the_chart(standing):
    points = {(p["month"], p["reason"]): p for p in standing.months}
    assert points[("2026-10", "counterfeit")]["success_rate"] == 0.9
    assert points[("2026-10", "overall")]["decided"] == 30
    assert ("2026-08", "counterfeit") not in points


def test_a_successful_counter_notice_rate_above_five_percent_is_below():
    history = _rows("counterfeit", "2026-11-01", {"removed": 18, "reinstated": 2})
    row = compute_standing(history, date(2026, 12, 1)).row("counterfeit")
    assert (row["success_rate"], row["counter_notice_rate"], row["status"]) == (1.0, 0.1, "below")


def test_the_status_line_says_what_the_figures_mean(standing):
    assert status_line(standing.row("stolen_image")) == (
        "stolen_image: 80.0 % supported (8 of 10 decided), 0.0 % of takedowns reversed by counter-notice (0 of 8) "
        "— BELOW IPP's thresholds: 80.0 % supported is below IPP's 90 % minimum; the account can be dropped from "
        "Good-Faith")
    assert status_line(standing.row("counterfeit")).endswith(
        "— WARNING: 92.0 % supported is within 5 points of IPP's 90 % minimum; 4.3 % reversed is within 5 points of "
        "IPP's 5 % maximum")


def test_no_decided_complaint_is_no_data():
    row = compute_standing(_rows("counterfeit", "2026-11-01", {"pending": 3}), date(2026, 12, 1)).row("overall")
    assert (row["status"], row["success_rate"]) == ("no-data", None)
