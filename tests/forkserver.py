"""The suite's `scrapy` commands, forked from a process that has already imported the libraries they load.

Nine in ten of the suite's CPU seconds were spent in the processes it starts, most of them `scrapy` commands,
and each of those spent 0.5-2 s importing Scrapy, Twisted, numpy, scipy, OpenCV, pandas, SQLAlchemy and pypinyin
again, then building the same word and character tables.
The run starts one server (``python -m tests.forkserver SOCKET``, from tests/conftest.py before the xdist
workers, which share it) that imports them once; ``SCRAPY`` (tests/bin/scrapy) is a small client that hands its
argument list, folder, environment, limits and its own stdin, stdout and stderr to the server, which forks a
child that runs ``scrapy.cmdline.execute`` on them.

The child is a real process of its own: its own pid, files, signals and exit status. The client stays in its
place and passes on what the test does to it: the signals a test or terminal sends go to the child, the
child's exit status (or the signal it died of) becomes the client's, and a client killed outright (SIGKILL,
a timeout) takes the child with it. What differs from an exec'd `scrapy` is what was already imported: the
third-party libraries, Scrapy's default components and our modules, never ``crawlers.settings`` (it reads the
environment when imported), the tables of WARM and the parsed cassettes of KEPT_CASSETTES (a changed file is
parsed again); and its end, which closes what the command left open but does not tear the preloaded modules
down (``_end``: 0.3 s of CPU a process). A module that uses a submodule it never imports would work here and
fail exec'd; `make coverage` runs every command exec'd. A test that must replace one of our functions before
anything imports it (tests/test_registry_load.py) runs its own interpreter. tests/test_forkserver.py checks that
a forked command ends as an exec'd one does.

``PYTHON`` (tests/bin/python) does the same for ``python SCRIPT``, ``python -c CODE`` and ``python -m MODULE``
(after ``-u`` or ``-B``), the crawl scripts a few tests run, and for the xdist workers themselves: once the server
is ready, tests/conftest.py starts them as ``popen//python=PYTHON``, so a worker starts with the libraries and our
modules imported (never a test module: pytest rewrites their asserts as it imports them) and collects in a second
or two instead of 5-7 s of CPU.

Tests that need the pid of the process doing the work, or a SIGKILL that lands at once, use ``REAL_SCRAPY``;
so does the interactive terminal test. A client in another mount, network or user namespace (``unshare``) is
told so and execs the real command, as is everything under ``make coverage`` (no server then).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import io
import json
import os
import pkgutil
import random
import resource
import runpy
import selectors
import signal
import socket
import struct
import subprocess
import sys
import types
from typing import NoReturn

# Imported once by the server, in this order: third-party modules (none installs a Twisted reactor),
PRELOAD = (
    "scrapy.cmdline", "scrapy.crawler", "scrapy.core.engine", "scrapy.core.scraper",
    "scrapy.core.downloader.contextfactory", "scrapy.http", "scrapy.pipelines.images", "scrapy.utils.test",
    "twisted.internet.asyncioreactor", "twisted.web.client", "parsel", "lxml.html",
    "w3lib.html", "tldextract", "yaml", "jinja2", "rich.console", "rich.live", "rich.table", "numpy", "PIL.Image",
    "PIL.ImageDraw", "PIL.ImageFont", "PIL.ImageOps", "PIL.PngImagePlugin", "PIL.JpegImagePlugin", "scipy.ndimage",
    "scipy.fftpack", "imagehash", "cv2", "pandas", "sqlalchemy", "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql", "psycopg2", "redis", "pypinyin", "openpyxl", "english_words",
    "rapidfuzz.distance", "shapely", "pyclipper", "python_socks.async_.asyncio", "queuelib", "platformdirs",
    "threadpoolctl", "netrc", "email.policy", "xml.sax.saxutils", "code",
    # and what the xdist workers forked from the server import to run the tests (tests/conftest.py): pytest and the
    # test files' libraries, never a test module or a plugin (pytest rewrites their asserts as it imports them;
    # pyproject.toml lets it pass over the plugin packages that come in anyway: anyio with our workbench's
    # Starlette, hypothesis and its _hypothesis_globals)
    "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.assertion.rewrite", "execnet", "hypothesis",
    "hypothesis.strategies", "filelock", "vcr", "pyte", "requests", "playwright.sync_api", "qrcode",
)
# Scrapy's own components, which every crawl loads by name from its settings (SCRAPY_DEFAULTS), then ours (OURS):
# every module but the settings (they read the environment when imported) and the demo. Not onnxruntime: a child
# forked with it loaded aborts at exit (C++ threads of the parent's).
SCRAPY_DEFAULTS = "scrapy.settings.default_settings"
OURS = ("contract", "registry", "matchers", "store", "pipelines", "exports", "enforcement", "workbench", "crawlers")
OURS_NOT = ("crawlers.settings", "crawlers.demo")
# And built once: our tables that are a pure function of installed data (the English word list, every character's
# reading, the folding table), which every scoring process builds first (about 0.3 s); the report's compiled
# templates (0.06 s a monitor); and the public-suffix table Scrapy's cookie middleware builds on a crawl's first
# response (0.07 s; a name gone in another Scrapy is skipped).
WARM = (("matchers.forms", "_english_words", ()), ("matchers.forms", "_sound_table", ()),
        ("matchers.text_fold", "fold_table", ()),
        ("exports.report_html", "report_template", ()), ("enforcement.report", "panel_template", ()),
        ("scrapy.downloadermiddlewares.cookies", "_is_public_domain", ("taobao.com",)))
# And parsed once: the bundled cassettes, which most of the suite's commands replay (0.1 s of CPU each).
KEPT_CASSETTES = ("fixtures/cassettes", "fixtures/cassettes-week2")
SIGNALS_PASSED_ON = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                     signal.SIGWINCH)
NAMESPACES = ("mnt", "net", "user", "pid", "uts", "ipc")  # a client in others (unshare) gets an exec'd scrapy
PYTHON_OPTIONS = ("-u", "-B")  # the interpreter options a forked `python` takes (xdist starts its workers with -u)
LIMITS = ("RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_CPU", "RLIMIT_CORE")
_WORD = struct.Struct("!q")
_MESSAGE_MAX = 1 << 20
_kept: list = []  # the server's sockets and selector: never finalised in a child, which closes their numbers
_serving = False  # "ready" said


# --- the client (tests/bin/scrapy runs it with -S -E: the standard library only, no site-packages) ------------

def client(argv: list[str], kind: str = "scrapy") -> None:
    """Run ``scrapy ARGV`` (or ``python ARGV``: ``kind`` "python") through the server named by
    $IPWATCH_TEST_FORKSERVER, or exec the real one."""
    path = os.environ.get("IPWATCH_TEST_FORKSERVER")
    real = os.environ["IPWATCH_TEST_REAL_SCRAPY" if kind == "scrapy" else "IPWATCH_TEST_PYTHON"]
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        if not path:
            raise OSError("no server")
        if kind == "python":
            rest = _interpreter_options(argv)[1]
            if not rest or (rest[0].startswith("-") and rest[0] not in ("-c", "-m")):
                raise OSError("an interpreter option the server does not take")
        connection.connect(path)
    except OSError:
        connection.close()
        os.execv(real, [real, *argv])
    for fd in (0, 1, 2):  # a closed standard stream is /dev/null for the child, as for an exec'd process
        try:
            os.fstat(fd)
        except OSError:
            os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    mask = os.umask(0)
    os.umask(mask)
    request = {"kind": kind, "argv": [real, *argv], "cwd": os.getcwd(), "env": dict(os.environ), "umask": mask,
               "limits": {name: resource.getrlimit(getattr(resource, name)) for name in LIMITS},
               "namespaces": _namespaces(),
               # a signal this process ignores (a background job's SIGINT) the command ignores too, as when exec'd
               "ignored": [int(n) for n in SIGNALS_PASSED_ON if signal.getsignal(n) == signal.SIG_IGN]}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    reply = connection.recv(_WORD.size)
    if len(reply) != _WORD.size:
        sys.exit(f"tests/forkserver: the server did not start {argv[:1]}")
    (pid,) = _WORD.unpack(reply)
    if pid < 0:  # the server cannot make this process (another mount or network namespace)
        connection.close()
        os.execv(real, [real, *argv])
    for number in set(SIGNALS_PASSED_ON) - set(request["ignored"]):
        signal.signal(number, lambda received, _frame: os.kill(pid, received))
    reply = connection.recv(_WORD.size)
    if len(reply) != _WORD.size:
        sys.exit("tests/forkserver: the server went away")
    (status,) = _WORD.unpack(reply)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status))


def _interpreter_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """The leading PYTHON_OPTIONS of a `python` argument list, and what follows them."""
    count = 0
    while count < len(argv) and argv[count] in PYTHON_OPTIONS:
        count += 1
    return argv[:count], argv[count:]


# --- the server --------------------------------------------------------------------------------------------

def serve(path: str) -> None:
    """Import PRELOAD, listen on ``path``, print "ready", and fork a child per request until stdin closes.
    Prints why not instead of "ready" where it cannot (a kernel older than Linux 5.3 has no pidfd)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole terminal; the run stops us (stdin)
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError) as exc:
        print(f"no pidfd on this system ({exc})", flush=True)
        return
    importlib.import_module("crawlers")  # first: it points tldextract at its own suffix list (no download)
    for name in [*PRELOAD, *_scrapy_components(), *_ours()]:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
        if {"twisted.internet.reactor", "crawlers.settings", "onnxruntime"} & sys.modules.keys():
            sys.exit(f"tests/forkserver: importing {name} installed a Twisted reactor, read the settings or "
                     "loaded onnxruntime; the children need their own")
    for module, function, args in WARM:
        with contextlib.suppress(AttributeError):
            getattr(importlib.import_module(module), function)(*args)
    from crawlers.replay.library import keep_parsed

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder in KEPT_CASSETTES:
        keep_parsed(os.path.join(root, folder))
    gc.freeze()  # the preloaded objects out of the collector's sight: a child's collections neither walk nor copy them
    # the interpreter's own path (the standard library, site-packages and what their .pth files add), as a
    # process without PYTHONPATH has it; a child puts its script's folder and its own PYTHONPATH before it
    own_path = "import json, sys; print(json.dumps(sys.path[1:]))"
    base_path = json.loads(subprocess.run([sys.executable, "-E", "-c", own_path], capture_output=True, text=True,
                                          check=True).stdout)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    _kept.extend([listener, selector])
    selector.register(listener, selectors.EVENT_READ, ("accept", None))
    selector.register(sys.stdin, selectors.EVENT_READ, ("parent", None))
    children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (the client's connection, pidfd)
    global _serving
    _serving = True
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            kind, data = key.data
            if kind == "parent":  # the test run is over (or its process gone)
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                return
            if kind == "accept":
                connection, _ = listener.accept()
                _kept.append(connection)
                selector.register(connection, selectors.EVENT_READ, ("request", None))
            elif kind == "request":
                _start(key.fileobj, selector, children, base_path)
            elif kind == "client":  # the client closed (died) while its child runs: the child goes too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(data, signal.SIGKILL)
                selector.unregister(key.fileobj)
            elif kind == "exited":
                _reap(data, selector, children)


def _scrapy_components() -> list[str]:
    """The modules of every class Scrapy's default settings name (middlewares, extensions, download handlers,
    the scheduler and its queues, the stats), but the remote control our settings leave out, and of its
    commands, which ``scrapy`` imports to list them."""
    defaults = importlib.import_module(SCRAPY_DEFAULTS)
    paths = set()
    for value in vars(defaults).values():
        for pair in (value.items() if isinstance(value, dict) else [(value, None)]):
            paths.update(p for p in pair if isinstance(p, str) and p.startswith("scrapy.") and "." in p[7:])
    modules = {path.rpartition(".")[0] for path in paths if "remote_control" not in path}
    commands = importlib.import_module("scrapy.commands")
    modules.update(info.name for info in pkgutil.iter_modules(commands.__path__, "scrapy.commands."))
    return sorted(modules)


def _ours() -> list[str]:
    found = []
    for package in OURS:
        path = importlib.import_module(package).__path__
        found += [info.name for info in pkgutil.walk_packages(path, package + ".") if info.name not in OURS_NOT]
    return found


def _start(connection: socket.socket, selector, children: dict, base_path: list[str]) -> None:
    selector.unregister(connection)
    try:
        message, fds, _, _ = socket.recv_fds(connection, _MESSAGE_MAX, 3)
        request = json.loads(message)
    except (OSError, ValueError):
        connection.close()
        return
    if request.get("namespaces") != _namespaces():
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            connection.send(_WORD.pack(-1))
        connection.close()
        return
    pid = os.fork()
    if pid == 0:
        _child(request, fds, base_path)  # never returns
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    children[pid] = (connection, pidfd)
    connection.send(_WORD.pack(pid))
    selector.register(connection, selectors.EVENT_READ, ("client", pid))
    selector.register(pidfd, selectors.EVENT_READ, ("exited", pid))


def _reap(pid: int, selector, children: dict) -> None:
    connection, pidfd = children.pop(pid)
    _, status = os.waitpid(pid, 0)
    selector.unregister(pidfd)
    os.close(pidfd)
    with contextlib.suppress(KeyError, ValueError):
        selector.unregister(connection)
    with contextlib.suppress(OSError):
        connection.send(_WORD.pack(status))
    connection.close()


def _namespaces() -> dict[str, str]:
    out = {}
    for name in NAMESPACES:
        with contextlib.suppress(OSError):
            out[name] = os.readlink(f"/proc/self/ns/{name}")
    return out


def _python_path(env: dict) -> list[str]:
    return [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]


def _child(request: dict, fds: list[int], base_path: list[str]) -> NoReturn:
    """In the forked child: become the process the client would have exec'd, run the command, and end as
    that process would (:func:`_end`)."""
    for number in (*SIGNALS_PASSED_ON, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in request.get("ignored", ()):
        signal.signal(number, signal.SIG_IGN)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for obj in _kept:  # the server's sockets and selector let go of their descriptors: nothing closes them later
        if isinstance(obj, socket.socket):
            fd = obj.detach()
            if fd >= 0:
                os.close(fd)
        else:
            obj.close()
    # every other descriptor closed too: other clients' connections (a client's death must reach the server)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    env = request["env"]
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)
    os.umask(request["umask"])
    for name, limit in request["limits"].items():
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(getattr(resource, name), tuple(limit))
    argv = request["argv"]
    sys.argv = argv
    sys.path[:] = [os.path.dirname(argv[0]), *_python_path(env), *base_path]
    python = request.get("kind") == "python"
    if python:
        sys.path.pop(0)  # _python() puts the script's folder, or the current one, first
    options, args = _interpreter_options(argv[1:]) if python else ([], argv[1:])
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE")) or "-B" in options
    _standard_streams(env, unbuffered="-u" in options)
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    status, interrupted = 0, False
    try:
        if python:
            _python(args)
        else:
            from scrapy.cmdline import execute

            execute(argv)
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except KeyboardInterrupt as interrupt:
        _print_uncaught(interrupt)
        interrupted = True
    except BaseException as error:  # printed and made the exit status, as the interpreter does
        _print_uncaught(error)
        status = 1
    _end(status, interrupted)


def _exit_status(code) -> int:
    """The exit status of ``sys.exit(code)``: None is 0, a number itself, anything else printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


def _print_uncaught(error: BaseException) -> None:
    """The traceback the interpreter prints, starting at the command's own frames, not the server's."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.excepthook(type(error), error.with_traceback(tb), tb)


def _end(status: int, interrupted: bool) -> NoReturn:
    """End the child as the interpreter ends a process, but without tearing down the preloaded modules.

    The interpreter's end of a process waits for its threads, runs the atexit functions, then deallocates every
    module and object; in a child of this server that last step walked the whole preloaded heap (copying its
    pages from the server's) and took 0.3 s of CPU, more than a small command itself. What it does that can be
    seen from outside is done here on the objects the command made, which are the ones the collector tracks
    (the server froze its own): files left open are closed, so their buffers are written (the outermost first:
    a gzip file writes its trailer before its file is closed), and SQLite connections left open are closed, so
    the last one folds the write-ahead log back into the store. Then the process exits with ``os._exit``, as a
    ``multiprocessing`` child does. An object's ``__del__`` with another effect would not run: `make coverage`
    execs every command, so a command relying on one is still seen ending as users run it.
    """
    with contextlib.suppress(BaseException):
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()  # the non-daemon threads, waited for as at the interpreter's end
    atexit._run_exitfuncs()
    gc.collect()  # what only a cycle held is finalised, as by the interpreter's last collections
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # as the interpreter: a stdout that cannot be written is status 120
            status = 120 if status == 0 else status
    _close_left_open()
    if interrupted:  # an uncaught Ctrl-C: the process dies of SIGINT, as an exec'd one does
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def _close_left_open() -> None:
    """Close the files and SQLite connections the command left open, each file before the one it wraps."""
    import sqlite3

    made = gc.get_objects()
    kinds = {kind for kind in set(map(type, made)) if issubclass(kind, (io.IOBase, sqlite3.Connection))}
    left = {id(obj): obj for obj in made if type(obj) in kinds}
    del made
    wraps = {key: {id(inner) for inner in _held(obj)} & left.keys() - {key} for key, obj in left.items()}
    while left:  # the outermost first: a text file's buffer into its gzip file, that one's trailer into its file
        wrapped = set().union(*(wraps[key] for key in left))
        outermost = [key for key in left if key not in wrapped] or list(left)  # a cycle: all of them
        for key in outermost:
            obj = left.pop(key)
            with contextlib.suppress(Exception):
                if isinstance(obj, sqlite3.Connection) or not (obj.closed or _standard(obj)):
                    obj.close()


def _held(obj) -> list:
    """What ``obj`` refers to, through its attribute dictionary too."""
    found = gc.get_referents(obj)
    return found + [value for inner in found if type(inner) is dict for value in inner.values()]


def _standard(file) -> bool:
    """Whether ``file`` writes to (or reads from) the standard streams, which stay open to the end."""
    try:
        return file.fileno() in (0, 1, 2)
    except Exception:  # a file with no descriptor of its own (gzip over a buffer, BytesIO)
        return False


def _python(args: list[str]) -> None:
    """``python -c CODE ARGS``, ``python -m MODULE ARGS`` or ``python SCRIPT ARGS``, as the interpreter runs them."""
    if args[:1] == ["-c"]:
        sys.argv, sys.path[:0] = ["-c", *args[2:]], [""]
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(args[1], "<string>", "exec"), main.__dict__)  # what `python -c` does
    elif args[:1] == ["-m"]:
        sys.argv, sys.path[:0] = [args[1], *args[2:]], [os.getcwd()]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv, sys.path[:0] = list(args), [os.path.dirname(os.path.abspath(args[0]))]
        runpy.run_path(args[0], run_name="__main__")


def _standard_streams(env: dict, unbuffered: bool = False) -> None:
    """New sys.stdin/stdout/stderr on the received descriptors, buffered as Python buffers them at start (``-u``
    or $PYTHONUNBUFFERED: stdout and stderr unbuffered)."""
    encoding = env.get("PYTHONIOENCODING", "").split(":")[0] or "utf-8"
    unbuffered = unbuffered or bool(env.get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding)
    for fd, name, errors in ((1, "stdout", "strict"), (2, "stderr", "backslashreplace")):
        raw = io.FileIO(fd, "w", closefd=False)
        stream = io.TextIOWrapper(raw if unbuffered else io.BufferedWriter(raw), encoding=encoding, errors=errors,
                                  line_buffering=fd == 2 or os.isatty(fd), write_through=unbuffered)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    sys.__stdin__ = sys.stdin


if __name__ == "__main__":
    try:
        serve(sys.argv[1])
    except BaseException as error:
        if not _serving:  # the tests wait for "ready": say why not instead
            print(f"failed while preloading: {error!r}", flush=True)
        raise
