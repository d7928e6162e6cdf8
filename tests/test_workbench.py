"""The review workbench over real HTTP: the real `scrapy review` on a store with two real monitor runs.

Token off loopback, the Host check on loopback, CSRF on every change, no file outside its folders, the
fingerprint rule, undo by batch, review.csv both ways. The browser itself: test_workbench_browser.py.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from store import Store
from tests.test_workbench_support import DemoStore, card_states, csrf_of, demo_store, workbench

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def store(tmp_path_factory, tmp_path, demo_monitor_run) -> DemoStore:
    return demo_store(tmp_path_factory, tmp_path, demo_monitor_run)


def _decisions(store: DemoStore) -> dict:
    from registry import load_registry
    from tests.conftest import DEMO_REGISTRY

    database = Store(store.url)
    try:
        return database.review_decisions(load_registry(DEMO_REGISTRY))
    finally:
        database.close()


def _post(session: requests.Session, base: str, path: str, body: dict, csrf: str | None) -> requests.Response:
    headers = {"x-csrf-token": csrf} if csrf else {}
    return session.post(base + path, json=body, headers=headers, timeout=30)


def test_off_loopback_every_request_needs_the_printed_token(store):
    with workbench(store, host="0.0.0.0") as running:
        token = running.token
        assert token and len(token) >= 20, running.url
        anyone = requests.get(running.base + "/queue", timeout=10)
        assert anyone.status_code == 403 and "token" in anyone.text
        assert requests.get(running.base + "/queue?token=wrong", timeout=10).status_code == 403
        assert requests.get(running.base + "/static/app.js", timeout=10).status_code == 403
        # the printed URL: a redirect that keeps the token in a cookie and takes it out of the address
        session = requests.Session()
        first = session.get(f"{running.base}/queue?token={token}", timeout=10, allow_redirects=False)
        assert first.status_code == 303 and "token" not in first.headers["location"]
        assert [cookie.name for cookie in session.cookies if cookie.value == token] == [f"ipwatch_token_{running.port}"]
        assert session.get(running.base + "/queue", timeout=10).status_code == 200
        # any name the machine is reached by (the Host check is for loopback only; here the token guards)
        page = requests.get(running.base + "/queue", timeout=10, headers={
            "host": "workbench.example:8765", "cookie": f"ipwatch_token_{running.port}={token}"})
        assert page.status_code == 200 and 'class="card' in page.text
        # the token is no CSRF token: a change still needs the page's own
        key = next(iter(card_states(page.text)))
        assert _post(session, running.base, "/decide", {"key": key, "decision": "reject"}, None).status_code == 403
        assert _post(session, running.base, "/decide", {"key": key, "decision": "reject"},
                     csrf_of(page.text)).status_code == 200


def test_on_loopback_a_foreign_host_name_is_refused(store):
    with workbench(store) as running:
        assert running.token is None
        assert requests.get(running.base + "/queue", timeout=10).status_code == 200
        rebound = requests.get(running.base + "/queue", timeout=10, headers={"host": "attacker.example"})
        assert rebound.status_code == 403


def test_every_change_needs_the_pages_csrf_token_and_own_origin(store):
    with workbench(store) as running:
        session = requests.Session()
        page = session.get(running.base + "/queue", timeout=10)
        csrf, key = csrf_of(page.text), next(iter(card_states(page.text)))
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        decision = {"key": key, "decision": "approve"}
        assert _post(session, running.base, "/decide", decision, None).status_code == 403
        assert _post(session, running.base, "/decide", decision, "not-the-token").status_code == 403
        foreign = session.post(running.base + "/decide", json=decision, timeout=10,
                               headers={"x-csrf-token": csrf, "origin": "http://attacker.example"})
        assert foreign.status_code == 403
        # a cross-site form can post a file, but it cannot add the header
        upload = session.post(running.base + "/import", files={"file": ("review.csv", b"decision\n")}, timeout=10)
        assert upload.status_code == 403
        for path in ("/undo", "/bulk", "/complaints"):
            assert _post(session, running.base, path, {}, None).status_code == 403, path
        assert session.put(running.base + "/decide", json=decision, timeout=10).status_code == 403
        assert _decisions(store) == {}
        assert _post(session, running.base, "/decide", decision, csrf).status_code == 200
        assert _decisions(store)[tuple(key.split(":", 1))]["decision"] == "approve"


def _plant_crafted_listings(store: DemoStore) -> tuple[dict, dict]:
    """Two listings in the latest run whose stored picture paths point out of their folders."""
    database = Store(store.url)
    try:
        real = next(item for item in database.run_listings(store.run_ids[-1])
                    if item.get("verdict") == "infringing" and item.get("images"))
        outside = {**real, "listing_id": "990000000001", "images": [{**real["images"][0], "path": "../../store.db"}],
                   "signals": {**real.get("signals", {}), "image": {"registered_image": "demo.yaml"}}}
        absolute = {**real, "listing_id": "990000000002",
                    "images": [{**real["images"][0], "path": str(store.db)}],
                    "signals": {**real.get("signals", {}), "image": {"registered_image": "../../pyproject.toml"}}}
        database.save_listings(store.run_ids[-1], [outside, absolute])
        return real, outside
    finally:
        database.close()


def test_no_file_outside_the_images_and_registry_folders(store):
    real, crafted = _plant_crafted_listings(store)
    with workbench(store) as running:
        base = running.base
        fine = requests.get(f"{base}/image/listing/{real['platform']}/{real['listing_id']}", timeout=10)
        assert fine.status_code == 200 and fine.headers["content-type"].startswith("image/")
        refused = [
            f"/image/listing/{crafted['platform']}/990000000001",  # stored path ../../store.db
            f"/image/listing/{crafted['platform']}/990000000002",  # stored absolute path
            f"/image/registered/{crafted['platform']}/990000000001",  # registry.yaml itself
            f"/image/registered/{crafted['platform']}/990000000002",  # ../../pyproject.toml
            "/image/listing/..%2F..%2F..%2Fetc/passwd",
            f"/image/listing/{real['platform']}/..%2F..%2Fstore.db",
            f"/image/listing/{real['platform']}/%2e%2e%2f%2e%2e%2fstore.db",
            "/image/listing/%2e%2e/%2e%2e",
            "/static/..%2Fapp.py", "/static/%2e%2e/app.py", "/static/../../pyproject.toml",
            "/prepared/..%2F..%2Fstore.db", "/prepared/../../store.db", "/prepared/manifest.json",
        ]
        for path in refused:
            answer = requests.get(base + path, timeout=10)
            assert answer.status_code in (400, 404), (path, answer.status_code)
            assert b"SQLite format" not in answer.content and b"rights_holder" not in answer.content, path
            assert b"[project]" not in answer.content and b"root:" not in answer.content, path


def _change_title(store: DemoStore, platform: str, listing_id: str) -> None:
    database = Store(store.url)
    try:
        item = next(i for i in database.run_listings(store.run_ids[-1])
                    if (i["platform"], i["listing_id"]) == (platform, listing_id))
        database.save_listings(store.run_ids[-1], [{**item, "title": item["title"] + " 新款 2027"}])
    finally:
        database.close()


def test_a_listing_whose_title_changed_since_the_decision_is_asked_again(store):
    with workbench(store) as running:
        session = requests.Session()
        page = session.get(running.base + "/queue", timeout=10).text
        first, second = list(card_states(page))[:2]
        for key in (first, second):
            assert _post(session, running.base, "/decide", {"key": key, "decision": "reject"},
                         csrf_of(page)).status_code == 200
        assert first not in card_states(session.get(running.base + "/queue", timeout=10).text)
    _change_title(store, *first.split(":", 1))
    with workbench(store) as running:
        page = requests.get(running.base + "/queue", timeout=10).text  # the default view: what needs a person
        states = card_states(page)
        assert states.get(first) == "changed" and second not in states
        assert "decide again" in page


def test_undo_takes_back_the_latest_key_press_only(store):
    with workbench(store) as running:
        session = requests.Session()
        page = session.get(running.base + "/queue", timeout=10).text
        csrf, keys = csrf_of(page), list(card_states(page))[:3]
        for key, decision in zip(keys, ("approve", "reject", "approve"), strict=True):
            _post(session, running.base, "/decide", {"key": key, "decision": decision}, csrf).raise_for_status()
        _post(session, running.base, "/decide", {"key": keys[2], "decision": "reject"}, csrf).raise_for_status()
        undone = _post(session, running.base, "/undo", {}, csrf).json()["reverted"]
        assert undone == [{"key": keys[2], "decision": "approve"}]  # back to what it was before, not undecided
        undone = _post(session, running.base, "/undo", {}, csrf).json()["reverted"]
        assert undone == [{"key": keys[2], "decision": "undecided"}]
        decided = _decisions(store)
        assert [decided[tuple(k.split(":", 1))]["decision"] for k in keys[:2]] == ["approve", "reject"]
        assert tuple(keys[2].split(":", 1)) not in decided
        assert decided[tuple(keys[0].split(":", 1))]["reviewer"] == "tester"


def test_review_csv_out_of_the_browser_and_back_in_from_excel(store):
    with workbench(store) as running:
        session = requests.Session()
        page = session.get(running.base + "/queue", timeout=10).text
        csrf, keys = csrf_of(page), list(card_states(page))
        _post(session, running.base, "/decide", {"key": keys[0], "decision": "approve"}, csrf).raise_for_status()
        exported = session.get(running.base + "/export.csv", timeout=10)
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        by_key = {f"{r['platform']}:{r['listing_id']}": r for r in rows}
        assert by_key[keys[0]]["decision"] == "approve" and by_key[keys[1]]["decision"] == ""
        # a reviewer's edits in Excel: one rejection, one approval of a title that is not the listing's now
        by_key[keys[1]]["decision"] = "reject"
        by_key[keys[2]].update(decision="approve", title="an older title")
        edited = io.StringIO()
        writer = csv.DictWriter(edited, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
        upload = session.post(running.base + "/import", headers={"x-csrf-token": csrf}, timeout=30,
                              files={"file": ("review.csv", edited.getvalue().encode("utf-8-sig"), "text/csv")})
        assert upload.status_code == 200, upload.text
        assert upload.json() == {"approve": 0, "reject": 1, "unchanged": 1, "changed": 1, "unknown": 0}
        decided = _decisions(store)
        assert decided[tuple(keys[1].split(":", 1))]["decision"] == "reject"
        assert tuple(keys[2].split(":", 1)) not in decided
        again = list(csv.DictReader(io.StringIO(session.get(running.base + "/export.csv", timeout=10)
                                                .content.decode("utf-8-sig"))))
        assert {f"{r['platform']}:{r['listing_id']}": r["decision"] for r in again}[keys[1]] == "reject"
        broken = session.post(running.base + "/import", headers={"x-csrf-token": csrf}, timeout=30,
                              files={"file": ("mine.csv", b"decision,platform,listing_id\nmaybe,taobao,1\n")})
        assert broken.status_code == 400 and "mine.csv" in broken.json()["error"] and "row 2" in broken.json()["error"]


def test_the_audit_log_keeps_every_change(store):
    from sqlalchemy import create_engine, text

    with workbench(store) as running:
        session = requests.Session()
        page = session.get(running.base + "/queue", timeout=10).text
        csrf, key = csrf_of(page), next(iter(card_states(page)))
        for body in ({"key": key, "decision": "approve"}, {"key": key, "decision": "reject"}):
            _post(session, running.base, "/decide", body, csrf).raise_for_status()
        _post(session, running.base, "/undo", {}, csrf).raise_for_status()
    engine = create_engine(store.url)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(text(
            "SELECT decision, previous, reviewer, source, undone, at FROM review_audit ORDER BY id")).mappings()]
    engine.dispose()
    assert [(r["decision"], r["previous"], r["source"], r["undone"]) for r in rows] == [
        ("approve", None, "web", 0), ("reject", "approve", "web", 1), ("approve", "reject", "undo", 0)]
    assert {r["reviewer"] for r in rows} == {"tester"} and all(r["at"].endswith("Z") for r in rows)
    assert json.dumps(rows)  # plain values, as an export of the log would need


def test_a_missing_run_or_a_taken_port_is_said_plainly_with_its_exit_code(store):
    import socket
    import subprocess

    from tests.conftest import DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env

    command = [SCRAPY, "review", "--registry", str(DEMO_REGISTRY), "--store", store.url, "--no-browser"]
    missing = subprocess.run([*command, "--run", "no-such-run"], cwd=ROOT, env=scrapy_env(), capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and "--run no-such-run: no such run in the store" in missing.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([*command, "--port", str(port)], cwd=ROOT, env=scrapy_env(), capture_output=True,
                              text=True, timeout=120)
    assert busy.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "open http" not in busy.stdout  # no address printed that nothing answers on
