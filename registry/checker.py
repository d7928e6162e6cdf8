"""The checks every value of a registry goes through. Each problem is appended to ``errors`` with its key
path (``products[2].images[0]: file not found: /abs/path``) and a usable value, or None, is returned, so a
rights holder sees every problem of the file in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from registry.photos import document_problem, photo_problem
from registry.yaml_loader import NotADate

_MISSING = object()


class Checker:
    """Collects a registry's problems while its sections are read (``registry.sections``)."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.errors: list[str] = []
        # ids written in the registry, usable or not: a product naming a trademark whose own entry has
        # an error is not reported a second time as "unknown"
        self.declared: set[str] = set()

    def err(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str]) -> dict | None:
        if not isinstance(value, dict):
            self.err(key, f"must be a mapping, got {type_name(value)}")
            return None
        for k in value:
            if k not in allowed:
                self.err(f"{key}.{k}" if key else str(k), "unknown key")
        for k in sorted(required):
            if k not in value:
                self.err(f"{key}.{k}" if key else k, "missing required key")
        return value

    def items(self, value: Any, key: str) -> list:
        """The entries of a section that must be a list (none, after reporting, when it is not)."""
        if not isinstance(value, list):
            self.err(key, f"must be a list, got {type_name(value)}")
            return []
        return value

    def entries(self, value: Any, section: str, allowed: set[str], required: set[str]) -> Iterator[tuple[str, dict]]:
        """Each entry of a list section that is a mapping, with its key path (``products[2]``)."""
        for i, item in enumerate(self.items(value, section)):
            key = f"{section}[{i}]"
            d = self.mapping(item, key, allowed, required)
            if d is not None:
                yield key, d

    def entry_id(self, d: dict, key: str, kind: str, taken: Container[str]) -> str | None:
        """The entry's ``id``, remembered as written (usable or not); one already ``taken`` is reported."""
        eid = self.string(d, "id", key)
        self.declared.add(f"{kind}:{eid}")
        if eid and eid in taken:
            self.err(f"{key}.id", f"duplicate id {eid!r}")
        return eid

    def string(self, d: dict, k: str, key: str, *, required: bool = True) -> str | None:
        value = d.get(k, _MISSING)
        if value is _MISSING or (value is None and not required):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.err(f"{key}.{k}", f"must be a string, got {type_name(value)}")
            return None
        text = str(value).strip()
        if not text:
            self.err(f"{key}.{k}", "must not be empty")
            return None
        return text

    def string_list(self, d: dict, k: str, key: str) -> tuple[str, ...]:
        value = d.get(k, _MISSING)
        if value is _MISSING or value is None:
            return ()
        if not isinstance(value, list):
            self.err(f"{key}.{k}", f"must be a list, got {type_name(value)}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
                self.err(f"{key}.{k}[{i}]", f"must be a non-empty string, got {item!r}")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def a_date(self, d: dict, k: str, key: str) -> date | None:
        value = d.get(k, _MISSING)
        if value is _MISSING:
            return None
        if isinstance(value, NotADate):  # unquoted, shaped like a date, but no real day
            self.err(f"{key}.{k}", f"not a date: {value} (line {value.line})")
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.err(f"{key}.{k}", f"not a date (YYYY-MM-DD): {value!r}")
        return None

    def file(self, value: Any, key: str) -> Path | None:
        """A product photo or logo: inside the registry's folder and decodable (``registry.photos``)."""
        return self._path(value, key, photo_problem)

    def document(self, value: Any, key: str) -> Path | None:
        """A certificate or letter: a file inside the registry's folder (any format: scans are often PDF)."""
        return self._path(value, key, document_problem)

    def _path(self, value: Any, key: str, problem_of: Callable[[str, Path], tuple[Path, str | None]]) -> Path | None:
        if not isinstance(value, str) or not value.strip():
            self.err(key, f"must be a file path, got {value!r}")
            return None
        path, problem = problem_of(value.strip(), self.base_dir)
        if problem:
            self.err(key, problem)
            return None
        return path

    def photos(self, d: dict, k: str, key: str) -> tuple[Path, ...]:
        value = d.get(k) or []
        if not isinstance(value, list):
            self.err(f"{key}.{k}", f"must be a list, got {type_name(value)}")
            return ()
        found = (self.file(item, f"{key}.{k}[{j}]") for j, item in enumerate(value))
        return tuple(path for path in found if path is not None)

    def documents(self, d: dict, k: str, key: str) -> tuple[Path, ...]:
        value = d.get(k)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.err(f"{key}.{k}", f"must be a file path or a list of them, got {type_name(value)}")
            return ()
        found = (self.document(item, f"{key}.{k}[{j}]") for j, item in enumerate(value))
        return tuple(path for path in found if path is not None)


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
