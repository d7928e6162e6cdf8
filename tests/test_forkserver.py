"""A command forked from the suite's server (tests/forkserver.py) ends as the same command exec'd does: what it
left open is written and closed, its threads and atexit functions run, and its exit status, messages and death
by SIGINT are the interpreter's own. Each case runs through the suite's ``python`` and through the real one."""

from __future__ import annotations

import gzip
import os
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, fork_server_said, scrapy_env

LEFT_OPEN = """
import gzip, sqlite3, sys
out = sys.argv[1]
text = open(out + "/text.txt", "w", encoding="utf-8")
text.write("written, never flushed or closed")
packed = gzip.open(out + "/packed.gz", "wt", encoding="utf-8")
packed.write("compressed, never closed")
db = sqlite3.connect(out + "/store.db")
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE t (v TEXT)")
db.execute("INSERT INTO t VALUES ('committed')")
db.commit()
sys.stdout.write("no newline at the end")
"""

AT_THE_END = """
import atexit, pathlib, sys, threading, time
out = pathlib.Path(sys.argv[1])
def late():
    time.sleep(0.3)
    (out / "thread.txt").write_text("the thread ran to its end")
threading.Thread(target=late).start()
atexit.register(lambda: (out / "atexit.txt").write_text("atexit ran"))
"""

ENDINGS = {
    "sys.exit(3)": ("import sys; sys.exit(3)", 3, ""),
    "sys.exit(message)": ("import sys; sys.exit('stopped: a message')", 1, "stopped: a message"),
    "an uncaught error": ("raise ValueError('boom')", 1, "ValueError: boom"),
    "Ctrl-C": ("raise KeyboardInterrupt", -2, "KeyboardInterrupt"),
}


def _run(python: str, code: str, folder: Path) -> subprocess.CompletedProcess:
    folder.mkdir()
    return subprocess.run([python, "-c", code, str(folder)], cwd=ROOT, env=scrapy_env(), capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(params=["forked", "exec'd"])
def python(request) -> str:
    if request.param == "forked":
        if not os.environ.get("IPWATCH_TEST_FORKSERVER"):
            pytest.skip("no fork server in this run (coverage, IPWATCH_TEST_NO_FORKSERVER: every command exec'd)")
        said = fork_server_said(wait=120)
        assert said == "ready", f"the fork server did not start: {said!r}"
    return PYTHON if request.param == "forked" else sys.executable


def test_what_a_command_left_open_is_written_and_closed(python, tmp_path):
    done = _run(python, LEFT_OPEN, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no newline at the end"
    assert (tmp_path / "out" / "text.txt").read_text(encoding="utf-8") == "written, never flushed or closed"
    assert gzip.decompress((tmp_path / "out" / "packed.gz").read_bytes()) == b"compressed, never closed"
    assert not (tmp_path / "out" / "store.db-wal").exists()  # the last connection's close folded it back
    with sqlite3.connect(tmp_path / "out" / "store.db") as db:
        assert db.execute("SELECT v FROM t").fetchall() == [("committed",)]


def test_threads_are_waited_for_and_atexit_functions_run(python, tmp_path):
    done = _run(python, AT_THE_END, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "thread.txt").read_text() == "the thread ran to its end"
    assert (tmp_path / "out" / "atexit.txt").read_text() == "atexit ran"


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_exit_status_and_message_are_the_interpreters(python, tmp_path, ending):
    code, status, said = ENDINGS[ending]
    done = _run(python, code, tmp_path / "out")
    assert done.returncode == status
    assert said in done.stderr
    assert "forkserver.py" not in done.stderr  # the traceback starts at the command, not in the server


def test_interpreter_options_u_and_b_act_as_they_do_on_the_interpreter(python):
    """``-u``: what the command writes reaches the reader at once (xdist's workers are started so, and talk to the
    controller through these pipes); ``-B``: no bytecode written."""
    env = {name: value for name, value in scrapy_env().items() if name not in ("PYTHONUNBUFFERED",
                                                                              "PYTHONDONTWRITEBYTECODE")}
    code = "import sys; sys.stdout.write(repr(sys.dont_write_bytecode)); sys.stdin.readline()"
    process = subprocess.Popen([python, "-u", "-B", "-c", code], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "nothing written while the command runs: stdout is buffered"
        assert os.read(process.stdout.fileno(), 100) == b"True"  # written, neither flushed nor ended
        process.stdin.close()
        assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        process.kill()
        process.wait()


def test_the_xdist_workers_are_forked_from_the_server():
    """tests/conftest.py starts the workers through the suite's ``python`` once the server is ready, so a worker's
    parent is the fork server."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get("IPWATCH_TEST_FORKSERVER"):
        pytest.skip("not an xdist worker of a run with a fork server")
    parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    assert b"tests.forkserver" in parent, parent


def test_a_signal_ignored_by_whoever_starts_the_command_is_ignored_by_it(python):
    """A background job's SIGINT is ignored, and an interpreter keeps it so: a forked command does too."""
    code = ("from signal import SIGINT, SIGTERM, SIG_DFL, SIG_IGN, getsignal; "
            "print(getsignal(SIGINT) is SIG_IGN, getsignal(SIGTERM) is SIG_DFL)")
    done = subprocess.run([python, "-c", code], cwd=ROOT, env=scrapy_env(), capture_output=True, text=True,
                          timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert (done.returncode, done.stdout.split()) == (0, ["True", "True"]), done.stderr
