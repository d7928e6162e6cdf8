"""`scrapy monitor` as an analyst starts it by hand: in a real pseudo-terminal, without `--no-progress`.

The output goes through pyte, a terminal emulator, so the assertions are on what the screen shows (after
cursor moves, redraws of the live table and line wrapping), not on the raw bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import termios
import time
from pathlib import Path

import pyte

from tests.conftest import CASSETTES, DEMO_REGISTRY, REAL_SCRAPY, scrapy_env
from tests.monitor_runs import one_page_registry

COLUMNS, ROWS = 120, 40


def run_in_terminal(workdir: Path, *args: str, timeout: float = 240) -> tuple[int, list[str]]:
    """Run `scrapy ARGS` in a new pty of COLUMNS x ROWS, exec'd as a user runs it (not forked: see
    tests/forkserver.py); its exit code and every line the screen showed (the lines scrolled off the top
    included)."""
    pid, master = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the pty's terminal side
        try:
            os.chdir(workdir)
            os.execve(REAL_SCRAPY, [REAL_SCRAPY, *args], scrapy_env(TERM="xterm-256color", COLUMNS=str(COLUMNS),
                                                          LINES=str(ROWS)))
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    return os.waitstatus_to_exitcode(status), screen_lines(bytes(output))


def screen_lines(output: bytes) -> list[str]:
    screen = pyte.HistoryScreen(COLUMNS, ROWS, history=20000, ratio=0.5)
    screen.set_mode(pyte.modes.LNM)  # the pty turns "\n" into "\r\n"; keep the emulator in step
    pyte.ByteStream(screen).feed(output)
    scrolled = ["".join(line[x].data for x in range(COLUMNS)).rstrip() for line in screen.history.top]
    return scrolled + [line.rstrip() for line in screen.display]


def monitor_args(workdir: Path, replay: Path, *extra: str, registry: Path = DEMO_REGISTRY) -> list[str]:
    return ["monitor", "--replay", str(replay), "--registry", str(registry), "--out", str(workdir / "reports"),
            "--store", f"sqlite:///{workdir / 'store.db'}", "--images-store", str(workdir / "images"), *extra]


def only_run(workdir: Path) -> Path:
    (run,) = sorted((workdir / "reports").iterdir())
    return run


def test_the_interactive_monitor_shows_a_live_table_and_the_summary_without_scrapys_banner(tmp_path):
    # every platform, one result page each: the subject is the screen, not the number of pages
    registry = one_page_registry(tmp_path / "registry")
    code, screen = run_in_terminal(tmp_path, *monitor_args(tmp_path, CASSETTES, registry=registry))
    text = "\n".join(screen)
    assert code == 0, text[-4000:]
    assert "ipwatch monitor" in text  # the live table's title
    for platform in ("taobao", "tmall", "1688", "alibaba"):
        assert any(line.lstrip("│┃ ").startswith(platform) for line in screen), platform
    # Scrapy's start-up banner and INFO chatter go to the run's log file, not above the table
    assert "Scrapy 2." not in text and "[scrapy" not in text and " INFO: " not in text
    assert "'downloader/" not in text  # the stats dump
    run = only_run(tmp_path)
    assert f"run {run.name}" in text and "reports:" in text and "exit code 0" in text
    log = (run / "monitor.log").read_text(encoding="utf-8")
    assert "Scrapy 2." in log and "Spider closed (finished)" in log
    assert f"log: {run / 'monitor.log'}" in text.replace("\n", "")


def test_each_failure_is_one_short_line_with_a_readable_url(tmp_path):
    replay = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, replay)
    (replay / "taobao" / "search-lumora-jacket.yaml").unlink()  # its mtop URLs (3 kB each) now miss
    code, screen = run_in_terminal(tmp_path, *monitor_args(tmp_path, replay, "--platforms", "taobao"))
    text = "\n".join(screen)
    assert code == 1, text[-4000:]  # listings were lost: not a success
    run = only_run(tmp_path)
    log = (run / "monitor.log").read_text(encoding="utf-8")
    logged_failures = [line for line in log.splitlines() if " ERROR: " in line or " WARNING: " in line]
    assert logged_failures, log[-3000:]
    shown = [line for line in screen if line.startswith(("error ", "warning "))]
    assert len(shown) == len(logged_failures), "\n".join(shown)
    # one line each: never wrapped, and no query string dumped
    assert all(len(line) < COLUMNS for line in shown)
    assert "%22" not in text and "appKey" not in text and "Traceback" not in text
    assert any("h5api.m.taobao.com/h5/" in line and "…" in line for line in shown)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["errors"] > 0 and summary["problems"]
    for problem in summary["problems"]:  # the problems are printed at the end, too
        assert problem[:60] in text.replace("\n", "")
