"""A library of vcrpy cassettes, indexed by replay key.

Cassettes are the files vcrpy writes (``version: 1``, ``interactions: [{request, response}]``),
stored as YAML under a folder, any depth. Binary bodies are YAML ``!!binary`` (as vcrpy writes
them); text bodies are plain strings, always UTF-8.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from contract.data import load_yaml
from crawlers.replay.keys import request_key

logger = logging.getLogger(__name__)


class CassetteError(ValueError):
    """A cassette file that cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Recorded:
    """One recorded response."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source: str  # "<cassette path>#<interaction index>", for diagnostics

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def _body_bytes(body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, dict):
        body = body.get("string", body.get("base64_string", b""))
    if isinstance(body, bytes):
        return body
    return str(body).encode("utf-8")


def _headers(raw) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, values in (raw or {}).items():
        if isinstance(values, list | tuple):
            pairs.extend((str(name), str(v)) for v in values)
        else:
            pairs.append((str(name), str(values)))
    return tuple(pairs)


def _request_content_type(headers) -> str | None:
    for name, values in (headers or {}).items():
        if str(name).lower() == "content-type":
            return values[0] if isinstance(values, list) and values else str(values)
    return None


def load_cassette(path: Path) -> list[tuple[str, Recorded]]:
    """(key, response) for every interaction of one cassette, in recorded order."""
    try:
        data = load_yaml(path.read_bytes())
    except yaml.YAMLError as exc:
        raise CassetteError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{path}: not a vcrpy cassette (no 'interactions' list)")
    entries = []
    for index, interaction in enumerate(data["interactions"]):
        try:
            request, response = interaction["request"], interaction["response"]
            key = request_key(
                request["method"], request["uri"], _body_bytes(request.get("body")),
                _request_content_type(request.get("headers")),
            )
            status = response.get("status") or {}
            entries.append((key, Recorded(
                status=int(status.get("code", 200)),
                message=str(status.get("message", "")),
                headers=_headers(response.get("headers")),
                body=_body_bytes(response.get("body")),
                source=f"{path}#{index}",
            )))
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"{path}: interaction {index}: {exc!r}") from exc
    return entries


# Cassettes parsed ahead of time by ``keep_parsed``: path -> (size, modification time in ns, entries).
_KEPT: dict[Path, tuple[int, int, list[tuple[str, Recorded]]]] = {}


def keep_parsed(root: str | Path) -> int:
    """Parse the cassettes under ``root`` now and keep them in this process, for every library it, or a process
    forked from it, makes later; a file changed since (size or modification time) is parsed again. Returns how
    many were kept; a broken one is left to the library to report.

    For a process that forks many replays: the test suite's fork server (tests/forkserver.py) parses the
    bundled cassettes once, not once per ``scrapy`` command (0.1 s of CPU each). The commands do not call it:
    their library keeps large bodies on disk, and a kept parse holds every body in memory.
    """
    kept = 0
    for path in _cassette_paths(Path(root)):
        try:
            stat = path.stat()
            _KEPT[path.resolve()] = (stat.st_size, stat.st_mtime_ns, load_cassette(path))
        except (OSError, CassetteError):
            continue
        kept += 1
    return kept


def _cassette_paths(root: Path) -> list[Path]:
    return sorted(root.rglob("*.yaml")) + sorted(root.rglob("*.yml"))


def _parsed(path: Path) -> list[tuple[str, Recorded]]:
    """``load_cassette(path)``, or its kept parse if the file is unchanged since (``keep_parsed``)."""
    if _KEPT:
        kept = _KEPT.get(path.resolve())
        if kept is not None:
            stat = path.stat()
            if (stat.st_size, stat.st_mtime_ns) == kept[:2]:
                return kept[2]
    return load_cassette(path)


class _BodySpill:
    """Response bodies kept in an unlinked temporary file instead of memory, read back with ``pread``.

    A replayed monitor may hold tens of thousands of search pages and images: kept in memory, the
    library alone would grow with the corpus (about 75 MB for 20,000 listings and 5,000 images). Here
    memory holds only the keys and small bodies; ``os.pread`` needs no shared file position, so
    lookups from several threads are safe. The file is removed by the OS when the library is dropped.
    """

    INLINE = 1024  # bodies up to this size stay in memory: not worth a system call

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="replay-bodies-")  # noqa: SIM115 (lives as long as the library)
        self._size = 0
        self.usable = True  # False once a write failed: later bodies stay in memory

    def put(self, body: bytes) -> tuple[int, int]:
        offset = self._size
        self._file.write(body)
        self._size += len(body)
        return offset, len(body)

    def seal(self) -> None:
        self._file.flush()

    def get(self, offset: int, length: int) -> bytes:
        return os.pread(self._file.fileno(), length, offset)


@dataclass(frozen=True)
class _Stored:
    """A ``Recorded`` whose body may be in the spill file (``body`` None, ``offset``/``length`` set)."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    offset: int
    length: int
    source: str


class CassetteLibrary:
    """Every cassette under a folder, looked up by replay key.

    Identical requests (same key) get their recordings in recorded order (files in sorted path
    order, interactions in file order). Once they are used up, the last one repeats when
    ``allow_repeats`` is true (vcrpy's ``allow_playback_repeats``), otherwise the request is a miss.

    Cassettes are read once, when the library is made (a broken one is reported then); bodies larger
    than ``_BodySpill.INLINE`` are then kept on disk, not in memory (see ``_BodySpill``).
    """

    def __init__(self, root: str | Path, *, allow_repeats: bool = True):
        self.root = Path(root)
        if not self.root.is_dir():
            raise CassetteError(f"{self.root}: replay folder not found")
        self.allow_repeats = allow_repeats
        self._recordings: dict[str, list[_Stored]] = defaultdict(list)
        self._cursor: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._spill = _BodySpill() if hasattr(os, "pread") else None
        self.errors: list[str] = []
        self.files = 0
        for path in _cassette_paths(self.root):
            try:
                entries = _parsed(path)
            except CassetteError as exc:
                # one broken cassette must not hide the others
                logger.error("replay: skipping cassette: %s", exc)
                self.errors.append(str(exc))
                continue
            self.files += 1
            for key, recorded in entries:
                self._recordings[key].append(self._store(recorded))
        if self._spill is not None:
            self._spill.seal()

    def _store(self, recorded: Recorded) -> _Stored:
        body: bytes | None = recorded.body
        offset, length = 0, len(recorded.body)
        if self._spill is not None and self._spill.usable and length > _BodySpill.INLINE:
            try:
                offset, length = self._spill.put(recorded.body)
                body = None
            except OSError as exc:  # no room in the temporary folder: keep the rest in memory, as before
                logger.warning("replay: cannot spill cassette bodies to a temporary file (%s); keeping them "
                               "in memory", exc)
                self._spill.usable = False
        return _Stored(recorded.status, recorded.message, recorded.headers, body, offset, length, recorded.source)

    def _recorded(self, stored: _Stored) -> Recorded:
        body = stored.body if stored.body is not None else self._spill.get(stored.offset, stored.length)
        return Recorded(status=stored.status, message=stored.message, headers=stored.headers, body=body,
                        source=stored.source)

    def fresh_copy(self) -> CassetteLibrary:
        """The same recordings with playback positions of its own (each crawl replays from the start)."""
        copy = object.__new__(CassetteLibrary)
        copy.root, copy.allow_repeats = self.root, self.allow_repeats
        copy._recordings, copy._spill = self._recordings, self._spill
        copy._cursor = defaultdict(int)
        copy._lock = threading.Lock()
        copy.errors, copy.files = list(self.errors), self.files
        return copy

    def __len__(self) -> int:
        return sum(len(v) for v in self._recordings.values())

    def keys(self) -> list[str]:
        return list(self._recordings)

    def lookup(self, method: str, url: str, body: bytes | str | None = None,
               content_type: str | None = None) -> Recorded | None:
        return self.lookup_key(request_key(method, url, body, content_type))

    def lookup_key(self, key: str) -> Recorded | None:
        with self._lock:
            recordings = self._recordings.get(key)
            if not recordings:
                return None
            position = self._cursor[key]
            if position >= len(recordings):
                if not self.allow_repeats:
                    return None
                position = len(recordings) - 1
            self._cursor[key] = position + 1
            stored = recordings[position]
        return self._recorded(stored)
