"""What ``scrapy cases`` does for each action; the command itself only parses arguments."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from enforcement.casebook import CaseBook, CaseError, ListingRef, case_label, parse_case_id
from store import Store, rights_holder_key


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def run_action(action: str, args: list[str], opts: Any, *, registry: Any, store_url: str, settings: Any,
               out: TextIO = sys.stdout) -> int:
    store = Store(store_url)
    try:
        book = CaseBook(store.engine, rights_holder_key(registry))
        handler = ACTIONS[action]
        return handler(book, args, opts, registry=registry, store=store, settings=settings, out=out)
    finally:
        store.close()


def _case_arg(args: list[str]) -> int:
    if not args:
        raise CaseError("which case? give its id, e.g. C-0012 (scrapy cases list shows them)")
    return parse_case_id(args[0])


def _one_listing(book: CaseBook, case_id: int, opts: Any) -> ListingRef:
    if len(opts.listing) != 1:
        raise CaseError("--listing is needed once (platform:listing_id, or the listing id)")
    return _ref(book, case_id, opts.listing[0])


def _ref(book: CaseBook, case_id: int, text: str) -> ListingRef:
    if ":" in text:
        platform, _, listing_id = text.partition(":")
        return ListingRef(platform.strip(), listing_id.strip())
    matches = [r for r in book.case(case_id)["listings"] if r["listing_id"] == text.strip()]
    if len(matches) != 1:
        raise CaseError(f"{case_label(case_id)}: listing {text!r} is {'not in the case' if not matches else 'ambiguous'}")
    return ListingRef(matches[0]["platform"], matches[0]["listing_id"])


def _list(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    cases = book.all_cases()
    if not cases:
        print("cases: none yet (scrapy complaints opens one per batch)", file=out)
    for case in cases:
        states: dict[str, int] = {}
        for row in book.case(case["id"])["listings"]:
            states[row["state"]] = states.get(row["state"], 0) + 1
        filed = f"filed {case['filed_on']} as {case['ipp_number']}" if case["ipp_number"] else "prepared, not filed"
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"{case_label(case['id'])}  {case['platform']:8} {case['ipr_id']:16} {case['reason']:17} {filed}; "
              f"{counts}  ({case['batch']})", file=out)
    return 0


def _show(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    case = book.case(_case_arg(args))
    print(json.dumps({**case, "events": book.events(case["id"])}, ensure_ascii=False, indent=2, default=str),
          file=out)
    return 0


def _filed(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    case_id = _case_arg(args)
    book.file(case_id, ipp_number=opts.ipp_number or "", on=opts.date or today())
    print(f"cases: {case_label(case_id)} filed as IPP complaint {opts.ipp_number}", file=out)
    return 0


def _result(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    case_id = _case_arg(args)
    refs = [_ref(book, case_id, text) for text in opts.listing]
    count = book.result(case_id, opts.outcome or "", on=opts.date or today(), listings=refs,
                        ipp_reason=opts.ipp_reason)
    print(f"cases: {case_label(case_id)}: {count} listing(s) {opts.outcome}", file=out)
    return 0


def _step(method: str, done: str):
    def handler(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
        case_id = _case_arg(args)
        ref = _one_listing(book, case_id, opts)
        extra = {"outcome": opts.outcome or ""} if method == "outcome" else {}
        if method == "outcome":
            book.outcome(case_id, ref, extra["outcome"], on=opts.date or today())
        else:
            getattr(book, method)(case_id, ref, on=opts.date or today())
        print(f"cases: {case_label(case_id)} {ref}: {done}{' ' + extra['outcome'] if extra else ''}", file=out)
        return 0
    return handler


def _counter_notice(book: CaseBook, args, opts, *, registry, store, settings, out: TextIO) -> int:
    from enforcement.counter_notice import pack_folder, write_response_pack

    case_id = _case_arg(args)
    ref = _one_listing(book, case_id, opts)
    if not opts.received or not opts.kind:
        raise CaseError("a counter-notice needs --received DATE and --kind invoice|authorization|other")
    case = book.case(case_id)
    notice = book.counter_notice(case_id, ref, received=opts.received, kind=opts.kind, files=opts.files)
    root = Path(opts.out) if opts.out else Path(case.get("folder") or ".") / "counter-notices"
    folder = pack_folder(root, case_id, ref.platform, ref.listing_id, notice["received_on"])
    listing = _listing_data(store, ref, case)
    capture = None if opts.no_capture else _fresh_capture(ref, listing["url"], opts.replay, settings)
    result = write_response_pack(folder, notice=notice, case=case, listing=listing, registry=registry,
                                 capture=capture)
    book.set_pack(notice["id"], str(folder))
    print(f"cases: {case_label(case_id)} {ref}: counter-notice ({notice['kind']}) recorded; reply by "
          f"{notice['deadline']}", file=out)
    print(f"cases: response pack written to {folder} (drafts: reply-zh.txt, reply-en.txt)", file=out)
    for note in result.notes:
        print(f"cases: note: {note}", file=out)
    return 0


def _listing_data(store: Store, ref: ListingRef, case: dict) -> dict:
    row = store.listing(ref.platform, ref.listing_id) or {}
    data = json.loads(row["data"]) if row.get("data") else {}
    entry = next((r for r in case["listings"] if r["platform"] == ref.platform and r["listing_id"] == ref.listing_id), {})
    data.setdefault("url", entry.get("url") or row.get("url") or "")
    data.setdefault("seller_name", entry.get("seller_name") or row.get("seller_name") or "")
    return data


def _fresh_capture(ref: ListingRef, url: str, replay_dir: str | None, settings: Any):
    def capture(folder: Path) -> str:
        from exports.evidence import EvidenceRequest, capture_evidence, replay_fetch

        fetch = replay_fetch(replay_dir) if replay_dir else None
        results = capture_evidence([EvidenceRequest(ref.platform, ref.listing_id, url)], folder, fetch=fetch,
                                   executable_path=settings.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or None)
        result = results[(ref.platform, ref.listing_id)]
        captured = result.folder
        for path in captured.iterdir():  # flatten evidence/<platform>-<id>/ into fresh/
            path.rename(folder / path.name)
        captured.rmdir()
        captured.parent.rmdir()
        return "removed" if result.removed else result.status
    return capture


def _import(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    from enforcement.cases_csv import import_cases_csv

    if not args:
        raise CaseError("which sheet? scrapy cases import cases.csv")
    result = import_cases_csv(args[0], book)
    if not result.ok:
        for error in result.errors:
            print(f"cases: {error}", file=sys.stderr)
        print(f"cases: nothing imported from {args[0]}: fix the row(s) above and import again", file=sys.stderr)
        return 2
    print(f"cases: {result.applied} step(s) imported from {args[0]}", file=out)
    return 0


def _alerts(book: CaseBook, args, opts, *, out: TextIO, **_) -> int:
    alerts = book.alerts(opts.date or today())
    waiting = book.awaiting_reply()
    for alert in alerts:
        print(f"alert: {alert['message']}", file=out)
    for notice in waiting:
        print(f"counter-notice: {case_label(notice['case_id'])} {notice['platform']}:{notice['listing_id']} "
              f"({notice['kind']}) waits for a reply by {notice['deadline']}", file=out)
    if not alerts and not waiting:
        print("cases: nothing needs you", file=out)
    return 0


ACTIONS = {
    "list": _list, "show": _show, "filed": _filed, "result": _result, "counter-notice": _counter_notice,
    "reply": _step("reply", "reply recorded"), "withdraw": _step("withdraw", "complaint withdrawn"),
    "outcome": _step("outcome", "IPP's outcome:"), "import": _import, "alerts": _alerts,
}
