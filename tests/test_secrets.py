"""Session cookies never leak: a planted secret is looked for in every file a run writes and in its log
(RELIABILITY.md, "Secrets").

The platforms' answers are made to set the cookies a logged-in session carries (``cookie2``, ``x5sec``,
``_m_h5_tk``, ``sgcookie``, ``unb``, ``_tb_token_``, ``lgc``/``tracknick``) to a planted value; monitor, crawl,
complaints (with evidence captured in the browser) and a live recording against a local server are run, and
the planted value must be nowhere in what they wrote.
"""

from __future__ import annotations

import csv
import http.server
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import CASSETTES, DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env

# libyaml where installed: planting the image cassettes with the pure-Python parser takes seconds
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

PLANTED = "PLANTEDs3cr3tQ7Zx"
SECRET_COOKIES = {
    "cookie2": f"{PLANTED}c2",
    "x5sec": f"{PLANTED}x5",
    "sgcookie": f"{PLANTED}sg",
    "unb": f"{PLANTED}unb",
    "_tb_token_": f"{PLANTED}tb",
    "lgc": f"{PLANTED}lgc",
    "tracknick": f"{PLANTED}nick",
    "cookie17": f"{PLANTED}c17",
}
TOKEN = f"{PLANTED}tk_1793611800000"


def _set_cookies(with_token: bool) -> list[str]:
    cookies = [f"{name}={value}; Domain=.taobao.com; Path=/; HttpOnly" for name, value in SECRET_COOKIES.items()]
    if with_token:
        cookies.append(f"_m_h5_tk={TOKEN}; Domain=.taobao.com; Path=/")
    return cookies


def _plant(source: Path, target: Path) -> None:
    """A copy of the cassettes whose every response also sets the secret cookies."""
    for path in source.rglob("*.yaml"):
        data = yaml.load(path.read_bytes(), Loader=YAML_LOADER)
        for interaction in data.get("interactions", []):
            headers = interaction["response"].setdefault("headers", {}) or {}
            interaction["response"]["headers"] = headers
            existing = next((key for key in headers if key.lower() == "set-cookie"), None)
            values = list(headers.pop(existing, [])) if existing else []
            has_token = any(v.startswith("_m_h5_tk=") for v in values)
            headers["Set-Cookie"] = values + _set_cookies(with_token=not has_token)
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.dump(data, Dumper=YAML_DUMPER, allow_unicode=True), encoding="utf-8")


def _leaks(folder: Path, *, skip: Path | None = None) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if not path.is_file() or (skip is not None and skip in path.parents):
            continue
        if PLANTED.encode() in path.read_bytes():
            found.append(str(path.relative_to(folder)))
    return found


ROWS_FILED_PER_REASON = 2  # two sellers' listings for one right and reason: packed into one batch


def _file_a_few_rows_per_reason(review: Path) -> int:
    """Reject every row of ``review`` but the first ROWS_FILED_PER_REASON of each verdict and reason, which
    stay for ``--auto-approve-above``: every kind of complaint, batch and evidence is still written, without a
    browser capture for each of the run's listings. Returns how many rows are left to file."""
    with review.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    kept = Counter()
    for row in rows:
        kind = (row["verdict"], row["reason"])
        kept[kind] += 1
        if kept[kind] > ROWS_FILED_PER_REASON:
            row["decision"] = "reject"
    with review.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return sum(min(count, ROWS_FILED_PER_REASON) for count in kept.values())


def _run(workdir: Path, *args: str, timeout: int = 240, log_level: str = "DEBUG") -> subprocess.CompletedProcess:
    env = scrapy_env(LOG_LEVEL=log_level)
    return subprocess.run([SCRAPY, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("planted")
    for platform in ("taobao", "details", "images"):  # images too: a picture not fetched is an error now
        _plant(CASSETTES / platform, folder / "cassettes" / platform)
    return folder


@pytest.mark.browser
def test_planted_session_cookies_appear_in_no_report_store_image_complaint_evidence_or_log(planted, tmp_path):
    cassettes = planted / "cassettes"
    assert PLANTED.encode() in next(cassettes.rglob("*.yaml")).read_bytes()  # the trap is set
    workdir = tmp_path / "work"
    workdir.mkdir()
    monitor = _run(workdir, "monitor", "--registry", str(DEMO_REGISTRY), "--replay", str(cassettes),
                   "--platforms", "taobao", "--out", str(workdir / "reports"),
                   "--store", f"sqlite:///{workdir / 'store.db'}", "--images-store", str(workdir / "images"),
                   "--no-progress")
    assert monitor.returncode == 0, monitor.stderr[-3000:]
    review = next((workdir / "reports").glob("*/review.csv"))
    left = _file_a_few_rows_per_reason(review)
    complaints = _run(workdir, "complaints", "--registry", str(DEMO_REGISTRY), "--review", str(review),
                      "--out", str(workdir / "complaints"), "--auto-approve-above", "0", "--replay", str(cassettes),
                      "--store", f"sqlite:///{workdir / 'store.db'}")
    assert complaints.returncode == 0, complaints.stderr[-3000:]
    metas = list((workdir / "complaints" / "evidence").glob("*/meta.json"))
    assert metas, "no evidence was captured: the test would prove nothing about meta.json"
    assert len(metas) == left >= 5  # counterfeit, stolen image (with comparison pictures), trademark misuse
    crawl = _run(workdir, "crawl", "taobao", "-a", "query=露莫拉", "-a", "pages=2", "-s", f"REPLAY_DIR={cassettes}",
                 "-s", "STORE_URL=", "-O", str(workdir / "crawl.jsonl"), "-s", f"STATS_FILE={workdir / 'stats.json'}")
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert (workdir / "crawl.jsonl").stat().st_size > 0
    for name, run in (("monitor", monitor), ("complaints", complaints), ("crawl", crawl)):
        (workdir / f"{name}.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    assert _leaks(workdir) == []


class _SecretServer(http.server.BaseHTTPRequestHandler):
    """A platform that sets login cookies, echoes them in the page, and sends a slider URL with x5secdata."""

    def do_GET(self):
        if self.path.startswith("/slider"):
            self.send_response(302)
            self.send_header("Location", f"/ok?x5secdata={PLANTED}slider&q=1")
            payload = b""
        else:
            cookie = self.headers.get("Cookie", "")
            payload = f"<html><body>hello; you sent: {cookie}; x5sec={SECRET_COOKIES['x5sec']}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        for header in _set_cookies(with_token=True):
            self.send_header("Set-Cookie", header.replace("Domain=.taobao.com; ", ""))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def live_echo(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """One live crawl of the secret-setting server, recorded (RECORD_DIR) and logged at DEBUG, shared by the
    tests below that only read what it wrote: the cassettes it recorded and its log. At DEBUG Scrapy prints
    every request URL and every item (here: the page echoing the cookies back), so its log holds every line
    an INFO log would, and more. No politeness delays: the server is local and the tests count no time.
    Returns (its folder, the URLs it fetched, the finished run)."""
    workdir = tmp_path_factory.mktemp("live-echo")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SecretServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = f"{base}/first {base}/second {base}/slider"  # the second request carries the cookies back
        live = _run(workdir, "runspider", str(ROOT / "tests" / "spiders" / "echo.py"), "-a", f"urls={urls}",
                    "-s", f"RECORD_DIR={workdir / 'recorded'}", "-s", "STORE_URL=", "-s", "CONCURRENT_REQUESTS=1",
                    "-s", "BLOCK_BACKOFF_BASE=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
                    "-O", str(workdir / "live.jsonl"), log_level="DEBUG")
    finally:
        server.shutdown()
    assert live.returncode == 0, live.stderr[-3000:]
    return workdir, urls, live


def test_a_recording_of_a_live_crawl_keeps_no_cookie_token_or_slider_secret(live_echo, tmp_path):
    workdir, urls, live = live_echo
    record_dir = workdir / "recorded"
    cassettes = list(record_dir.rglob("*.yaml"))
    assert cassettes and "you sent" in cassettes[0].read_text(encoding="utf-8")
    assert _leaks(record_dir) == []
    assert PLANTED not in live.stdout + live.stderr
    replay_dir = tmp_path / "replayed"
    replay_dir.mkdir()
    shutil.copytree(record_dir, replay_dir / "cassettes")
    replayed = _run(replay_dir, "runspider", str(ROOT / "tests" / "spiders" / "echo.py"), "-a", f"urls={urls}",
                    "-s", f"REPLAY_DIR={replay_dir / 'cassettes'}", "-s", "STORE_URL=", "-O", str(replay_dir / "out.jsonl"), log_level="INFO")
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert PLANTED not in replayed.stdout + replayed.stderr
    assert _leaks(replay_dir) == []


def test_a_debug_log_of_a_live_crawl_shows_no_cookie_or_slider_token(live_echo):
    # each log record is redacted as it is made, before any handler writes it
    _workdir, _urls, live = live_echo
    log = live.stdout + live.stderr
    assert "Scraped from" in log and "cookie2=<redacted>" in log  # the lines are there, without their secrets
    assert PLANTED not in log, [line for line in log.splitlines() if PLANTED in line][:3]


def test_redaction_keeps_the_line_and_drops_only_the_values():
    from crawlers.extensions import redact

    line = "Redirecting (302) to <GET https://s.taobao.com/ok?x5secdata=abcDEF123&q=1> from <GET https://s.taobao.com/x>"
    assert redact(line) == line.replace("abcDEF123", "<redacted>")
    assert redact("you sent: cookie2=v1; _m_h5_tk=tok_9; unb=42") == (
        "you sent: cookie2=<redacted>; _m_h5_tk=<redacted>; unb=<redacted>"
    )
    assert redact("tokenizer=1 funb=2 price=3") == "tokenizer=1 funb=2 price=3"  # only whole names
