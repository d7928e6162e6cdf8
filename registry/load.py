"""One registry per process, found one way.

``load_registry(path)`` reads and checks the file once and then hands every caller (the command, each
spider, each pipeline of each platform's crawl) the same ``Registry``, for as long as neither the YAML nor
any file it names (photos, logos, certificates) has changed: each is compared by modification time, size
and inode, so an edit, a ``touch`` or a file replaced by another is read again on the next call. A
registry that fails to load is never kept: the next call reads the file again and reports again. The day
is part of what is compared too, since the warnings about expired marks are worked out when loading.

A crawl finds its registry in one place, ``path_from_settings``: the spider's ``-a registry=PATH`` when
given, else the ``REGISTRY_PATH`` setting (which ``scrapy monitor`` and the workers set).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from registry.model import Registry, today_utc
from registry.sections import parse_registry

REGISTRY_SETTING = "REGISTRY_PATH"

FileState = tuple[int, int, int, int, int] | None  # mtime_ns, ctime_ns, size, inode, device; None: missing


class _Seen(NamedTuple):
    registry_file: FileState
    named_files: tuple[FileState, ...]
    day: date


_lock = threading.Lock()  # one parse at a time: threads asking for the same file wait for the first
_cache: dict[Path, tuple[_Seen, Registry]] = {}
_parses: Counter[Path] = Counter()


def load_registry(path: str | Path) -> Registry:
    """The registry at ``path``, read and checked once per process while it is unchanged.

    Raises ``RegistryError`` listing every problem found, each naming its key path.
    """
    path = Path(path).resolve()
    with _lock:
        cached = _cache.get(path)
        if cached is not None and _still(cached[0], path, cached[1]):
            return cached[1]
        _cache.pop(path, None)
        # taken before reading: a change made while the file is read is seen by the next call
        registry_file = _state(path)
        _parses[path] += 1
        registry = parse_registry(path)  # a RegistryError leaves nothing cached
        seen = _Seen(registry_file, tuple(_state(f) for f in registry.files()), today_utc())
        _cache[path] = (seen, registry)
        return registry


def parse_count(path: str | Path | None = None) -> int:
    """How many times this process has read and checked a registry file (``path``'s, or any)."""
    if path is None:
        return sum(_parses.values())
    return _parses[Path(path).resolve()]


def path_from_settings(settings: Any, spider: Any = None) -> str | None:
    """The registry a crawl runs against: the spider's ``-a registry=PATH``, else ``REGISTRY_PATH``."""
    path = getattr(spider, "registry_path", None) or settings.get(REGISTRY_SETTING)
    return str(path) if path else None


def from_settings(settings: Any, spider: Any = None) -> Registry | None:
    """The crawl's registry (``path_from_settings``), loaded once per process; None when it has none."""
    path = path_from_settings(settings, spider)
    return load_registry(path) if path else None


def _still(seen: _Seen, path: Path, registry: Registry) -> bool:
    return (seen.registry_file == _state(path) and seen.day == today_utc()
            and seen.named_files == tuple(_state(f) for f in registry.files()))


def _state(path: Path) -> FileState:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev
