"""Real services for the scale-out tests: a ``redis-server`` and a PostgreSQL cluster on loopback.

Each is started on a free port in a fresh temporary folder and torn down after the session; nothing
is faked. Import the fixtures into a test module (``from tests.services import postgres_url, ...``)
or register this module as a plugin (``pytest_plugins = ["tests.services"]``).

Each test module that imports a session fixture holds its own copy of it, so the servers are kept in
``_RUNNING``: one ``redis-server`` and one PostgreSQL per test process (per xdist worker), whichever modules
ask, torn down after the session by the copy that started them. Tests stay apart all the same: ``redis_url``
empties Redis before each test and ``postgres_url`` is a new database each time.

PostgreSQL refuses to run as root: when we are root the cluster is created and run by the
``postgres`` system user (``runuser -u postgres``), in a folder that user owns.

The binaries come from Debian's ``redis-server`` and ``postgresql`` packages, which
``scripts/system-deps.sh`` (run by ``make test``) installs. When they are missing the tests fail
with that instruction, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class ServiceMissing(RuntimeError):
    def __init__(self, what: str):
        super().__init__(f"{what} not found: run scripts/system-deps.sh (make test does) to install it")


def _require(found, what: str) -> None:
    if found is not None:
        return
    pytest.fail(str(ServiceMissing(what)))  # never skipped: make test installs the services


def _redis_binary() -> str | None:
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                            else None)


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Redis -------------------------------------------------------------------------------------
@contextmanager
def redis_service() -> Iterator[str]:
    """A ``redis-server`` on a free loopback port, for the duration; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    binary = _redis_binary()
    if binary is None:
        raise ServiceMissing("redis-server")
    folder = Path(tempfile.mkdtemp(prefix="ipwatch-redis-"))
    port = free_port()
    log = folder / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--dir", str(folder), "--save", "", "--appendonly", "no",
         "--protected-mode", "yes", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process, "redis-server", log)
        yield f"redis://{HOST}:{port}/0"
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


_RUNNING: dict[str, str] = {}  # service name -> URL of the one this test process started


@contextmanager
def _once_per_process(name: str, start: Callable[[], AbstractContextManager[str]]) -> Iterator[str]:
    """The service ``name`` started by ``start`` unless this process already runs it; stopped by the first."""
    if name in _RUNNING:
        yield _RUNNING[name]
        return
    with start() as url:
        _RUNNING[name] = url
        try:
            yield url
        finally:
            del _RUNNING[name]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    _require(_redis_binary(), "redis-server")
    with _once_per_process("redis", redis_service) as url:
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The session's Redis, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    yield redis_server


# --- PostgreSQL ------------------------------------------------------------------------------------
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL will not run as root: run it as the ``postgres`` system user then."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in command)]


@contextmanager
def postgres_service() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port (trust auth), for the duration; yields the
    server's SQLAlchemy URL without a database name."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise ServiceMissing("PostgreSQL (initdb)")
    folder = Path(tempfile.mkdtemp(prefix="ipwatch-pg-"))
    data, sockets, log = folder / "data", folder / "run", folder / "postgres.log"
    sockets.mkdir()
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:
        folder.chmod(0o755)
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    subprocess.run(_as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user,
                                      "-E", "UTF8", "--locale", "C", "--no-sync"]),
                   check=True, capture_output=True, text=True)
    port = free_port()
    options = f"-p {port} -h {HOST} -k {sockets} -c fsync=off -c full_page_writes=off -c max_connections=200"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    # pg_ctl, not a child process: a wrapper such as runuser would not pass our signals on to postgres
    started = subprocess.run(_as_postgres_user([*pg_ctl, "-o", options, "-l", str(log), "start"]),
                             capture_output=True, text=True)
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"postgres did not start: {started.stdout}{started.stderr}")
    try:
        url = f"postgresql+psycopg2://{user}@{HOST}:{port}"
        _wait_for_sql(f"{url}/postgres", log)
        yield url
    finally:
        subprocess.run(_as_postgres_user([*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    _require(_pg_bin(), "PostgreSQL (initdb)")
    with _once_per_process("postgres", postgres_service) as url:
        yield url


def create_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    from sqlalchemy import create_engine, text

    name = "ipwatch_" + uuid.uuid4().hex[:12]
    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url}/{name}"


def _wait_for_sql(url: str, log: Path, timeout: float = 30.0) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres does not answer:\n{_tail(log)}") from None
                time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL; its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    url = create_database(postgres_server)
    try:
        yield url
    finally:
        admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = url.rsplit("/", 1)[1]
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
