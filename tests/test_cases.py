"""Complaint cases: every step of IPP's path is recorded, and a step out of order is refused with a reason."""

from __future__ import annotations

import pytest

from enforcement.casebook import CaseBook, CaseError, ListingRef, case_label, parse_case_id
from enforcement.lifecycle import ListingState, TransitionError, add_business_days
from store import Store

A = ListingRef("taobao", "100001")
B = ListingRef("taobao", "100002")


@pytest.fixture
def book(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield CaseBook(store.engine, "lumora")
    store.close()


def _open(book: CaseBook) -> int:
    return book.open_case(platform="taobao", ipr_id="LUMORA-CN-25", reason="counterfeit",
                          batch="taobao/LUMORA-CN-25/counterfeit/batch-001", folder="/tmp/complaints",
                          listings=[{"platform": r.platform, "listing_id": r.listing_id,
                                     "url": f"https://item.taobao.com/item.htm?id={r.listing_id}",
                                     "seller": "某某店"} for r in (A, B)])


def _state(book: CaseBook, case_id: int, ref: ListingRef) -> str:
    return next(r["state"] for r in book.case(case_id)["listings"] if r["listing_id"] == ref.listing_id)


def test_a_written_batch_opens_a_prepared_case_with_every_listing_pending(book):
    case_id = _open(book)
    case = book.case(case_id)
    assert case["state"] == "prepared" and case_label(case_id) == "C-0001"
    assert [r["state"] for r in case["listings"]] == ["pending", "pending"]


def test_filing_records_ipps_complaint_number_and_day(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-778899", on="2026-11-02")
    case = book.case(case_id)
    assert (case["state"], case["ipp_number"], case["filed_on"]) == ("filed", "IPP-778899", "2026-11-02")


def test_filing_twice_is_refused_with_the_first_filing(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    with pytest.raises(TransitionError, match="already filed on 2026-11-02 as IPP complaint IPP-1"):
        book.file(case_id, ipp_number="IPP-2", on="2026-11-03")


def test_a_result_before_the_filing_is_refused(book):
    case_id = _open(book)
    with pytest.raises(TransitionError, match=r"record the filing .* before its result"):
        book.result(case_id, "supported", on="2026-11-03")


def test_a_result_without_a_listing_decides_every_pending_listing(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    assert book.result(case_id, "supported", on="2026-11-03") == 2
    assert _state(book, case_id, A) == _state(book, case_id, B) == "supported"


def test_a_rejection_keeps_ipps_reason(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "rejected", on="2026-11-03", listings=[B], ipp_reason="证据不足")
    row = next(r for r in book.case(case_id)["listings"] if r["listing_id"] == B.listing_id)
    assert (row["state"], row["ipp_reason"], row["decided_on"]) == ("rejected", "证据不足", "2026-11-03")
    assert _state(book, case_id, A) == "pending"


def test_a_second_result_for_one_listing_is_refused(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03", listings=[A])
    with pytest.raises(TransitionError, match="cannot record result while the listing is supported"):
        book.result(case_id, "rejected", on="2026-11-04", listings=[A])


def test_an_unknown_outcome_is_refused_with_the_choices(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    with pytest.raises(TransitionError, match="takes the outcome rejected, supported"):
        book.result(case_id, "maybe", on="2026-11-03", listings=[A])


def test_the_monitor_seeing_a_supported_listing_gone_marks_it_removed_with_the_day(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    assert book.removed(A, on="2026-11-04") == [case_id]
    row = next(r for r in book.case(case_id)["listings"] if r["listing_id"] == A.listing_id)
    assert (row["state"], row["removed_on"]) == ("removed", "2026-11-04")


def test_a_listing_gone_before_the_result_becomes_removed_when_supported(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.removed(A, on="2026-11-03")
    assert _state(book, case_id, A) == "pending"
    book.result(case_id, "supported", on="2026-11-04", listings=[A])
    assert _state(book, case_id, A) == "removed"


def test_counter_notice_reply_and_outcome_upheld(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    notice = book.counter_notice(case_id, A, received="2026-11-06", kind="invoice", files=["invoice.pdf"])
    assert notice["deadline"] == "2026-11-11"  # Friday + 3 working days: Mon, Tue, Wed
    assert _state(book, case_id, A) == "counter_noticed"
    assert [n["listing_id"] for n in book.awaiting_reply()] == [A.listing_id]
    book.reply(case_id, A, on="2026-11-09")
    assert _state(book, case_id, A) == "replied" and book.awaiting_reply() == []
    book.outcome(case_id, A, "upheld", on="2026-11-12")
    assert _state(book, case_id, A) == "upheld"


def test_counter_notice_outcome_reinstated(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    book.counter_notice(case_id, A, received="2026-11-06", kind="authorization")
    book.reply(case_id, A, on="2026-11-09")
    book.outcome(case_id, A, "reinstated", on="2026-11-12")
    assert _state(book, case_id, A) == "reinstated"


def test_withdrawing_answers_a_counter_notice(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    book.counter_notice(case_id, A, received="2026-11-06", kind="other")
    book.withdraw(case_id, A, on="2026-11-07")
    assert _state(book, case_id, A) == ListingState.WITHDRAWN


@pytest.mark.parametrize(("step", "message"), [
    (lambda b, c: b.reply(c, A, on="2026-11-05"), "cannot record reply while the listing is supported"),
    (lambda b, c: b.withdraw(c, A, on="2026-11-05"), "cannot record withdraw while the listing is supported"),
    (lambda b, c: b.outcome(c, A, "upheld", on="2026-11-05"), "cannot record outcome while the listing is supported"),
])
def test_answers_without_a_counter_notice_are_refused(book, step, message):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    with pytest.raises(TransitionError, match=message):
        step(book, case_id)
    assert _state(book, case_id, A) == "supported"  # nothing written


def test_a_counter_notice_on_a_rejected_listing_is_refused(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "rejected", on="2026-11-03", listings=[A])
    with pytest.raises(TransitionError, match="C-0001 taobao:100001: cannot record counter-notice while the "
                                              "listing is rejected: a counter-notice follows a supported result"):
        book.counter_notice(case_id, A, received="2026-11-06", kind="invoice")


def test_a_listing_not_in_the_case_is_named(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    with pytest.raises(CaseError, match="taobao:999: this listing is not in the case"):
        book.result(case_id, "supported", on="2026-11-03", listings=[ListingRef("taobao", "999")])


def test_a_bad_date_and_a_bad_case_id_are_named():
    from enforcement.casebook import parse_day

    with pytest.raises(CaseError, match="received: '2026-13-45' is not a date"):
        parse_day("2026-13-45", what="received")
    with pytest.raises(CaseError, match="'case-x' is not a case id"):
        parse_case_id("case-x")
    assert parse_case_id("C-0012") == parse_case_id("12") == 12


def test_another_rights_holders_cases_are_invisible(book):
    case_id = _open(book)
    other = CaseBook(book.engine, "someone-else")
    with pytest.raises(CaseError, match="no such case for this rights holder"):
        other.case(case_id)
    assert other.all_cases() == [] and other.listing_history() == []


def test_every_step_is_kept_in_the_audit_log(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-1", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03", listings=[A])
    events = [(e["event"], e["outcome"], e["happened_on"]) for e in book.events(case_id)]
    assert events[1:] == [("filed", None, "2026-11-02"), ("result", "supported", "2026-11-03")]


def test_business_days_skip_the_weekend():
    from datetime import date

    assert add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday -> Monday


# --- cases.csv --------------------------------------------------------------------------------------
def _sheet(tmp_path, text: str):
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_cases_csv_records_the_whole_path(book, tmp_path):
    from enforcement.cases_csv import import_cases_csv

    case_id = _open(book)
    sheet = _sheet(tmp_path, "case,event,listing,date,outcome,ipp_number,ipp_reason,kind,notes\n"
                             "C-0001,filed,,2026-11-02,,IPP-42,,,our own note\n"
                             "C-0001,result,100001,2026-11-03,supported,,,,\n"
                             "C-0001,result,taobao:100002,2026-11-03,rejected,,证据不足,,\n"
                             "C-0001,removed,taobao:100001,2026-11-04,,,,,\n"
                             "C-0001,counter-notice,taobao:100001,2026-11-05,,,,invoice,\n"
                             "C-0001,reply,taobao:100001,2026-11-06,,,,,\n"
                             "C-0001,outcome,taobao:100001,2026-11-09,upheld,,,,\n")
    result = import_cases_csv(sheet, book)
    assert result.ok and result.applied == 7
    assert (_state(book, case_id, A), _state(book, case_id, B)) == ("upheld", "rejected")
    assert book.case(case_id)["ipp_number"] == "IPP-42"


def test_cases_csv_names_every_bad_row_and_writes_nothing(book, tmp_path):
    from enforcement.cases_csv import import_cases_csv

    case_id = _open(book)
    sheet = _sheet(tmp_path, "case,event,listing,date,outcome,ipp_number\n"
                             "C-0001,filed,,2026-11-02,,IPP-42\n"
                             "C-0001,reply,taobao:100001,2026-11-03,,\n"
                             "C-0009,filed,,2026-11-02,,IPP-43\n"
                             "C-0001,result,taobao:100002,2026-13-01,supported,\n"
                             "C-0001,appeal,taobao:100002,2026-11-05,,\n")
    result = import_cases_csv(sheet, book)
    assert not result.ok and result.applied == 0
    assert result.errors == [
        "cases.csv row 3: C-0001 taobao:100001: cannot record reply while the listing is pending: a reply answers "
        "an open counter-notice",
        "cases.csv row 4: C-0009: no such case for this rights holder",
        "cases.csv row 5: result on: '2026-13-01' is not a date (write it as 2026-11-30)",
        "cases.csv row 6: event 'appeal': choose one of filed, result, counter-notice, reply, withdraw, outcome, "
        "removed",
    ]
    assert book.case(case_id)["state"] == "prepared"  # the good row 2 was not kept either


def test_cases_csv_without_its_columns_says_which(book, tmp_path):
    from enforcement.cases_csv import import_cases_csv

    result = import_cases_csv(_sheet(tmp_path, "case,when\nC-0001,2026-11-02\n"), book)
    assert result.errors == [f"{tmp_path / 'cases.csv'}: missing column(s) event, date"]


def test_a_listing_still_live_days_after_supported_is_raised(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-9", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    book.seen_live(A, on="2026-11-04")  # the next day: within the grace, not yet an alert
    assert book.alerts("2026-11-04") == []
    book.seen_live(A, on="2026-11-09")
    alerts = book.alerts("2026-11-09")
    assert [(a["listing_id"], a["alert"]) for a in alerts] == [(A.listing_id, "still-live")]
    assert alerts[0]["message"] == ("C-0001 taobao:100001: still live on 2026-11-09, 6 days after IPP supported the "
                                    "complaint (2026-11-03); tell IPP, quoting IPP-9")


def test_a_listing_reinstated_after_a_counter_notice_is_raised(book):
    case_id = _open(book)
    book.file(case_id, ipp_number="IPP-9", on="2026-11-02")
    book.result(case_id, "supported", on="2026-11-03")
    book.removed(A, on="2026-11-04")
    book.counter_notice(case_id, A, received="2026-11-05", kind="authorization")
    book.reply(case_id, A, on="2026-11-06")
    book.outcome(case_id, A, "reinstated", on="2026-11-10")
    book.seen_live(A, on="2026-11-12")
    alerts = book.alerts("2026-11-12")
    assert [(a["listing_id"], a["alert"]) for a in alerts] == [(A.listing_id, "reinstated")]
    assert "seen live on 2026-11-12" in alerts[0]["message"]
