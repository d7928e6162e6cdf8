"""Reading a registry's YAML safely: plain data only, no alias bombs, no duplicate keys, no crash on a bad date.

PyYAML's ``SafeLoader`` builds only plain data, but it still accepts three things a hand-written registry
must not get through silently:

- alias bombs ("billion laughs"): refused by counting aliases and the nodes they expand to;
- duplicate keys: YAML keeps the last one, so a second ``products:`` drops the whole first list and a
  second ``mark:`` changes the mark a complaint cites. Every duplicate is reported with its key path and
  both line numbers;
- impossible dates (``valid_until: 2031-13-45``, unquoted): the timestamp constructor raises a bare
  ``ValueError`` (a traceback). Here such a value becomes a :class:`NotADate`, which the registry's
  checks report with its key path and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from registry.model import RegistryError

MAX_REGISTRY_BYTES = 2_000_000

MAX_YAML_ALIASES = 1_000  # a hand-written registry needs a handful
MAX_YAML_EXPANDED_NODES = 100_000  # nodes once every alias is expanded: "billion laughs" needs ~10^9
_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeys(yaml.YAMLError):
    """The document repeats keys; ``problems`` names each one (key path and both lines)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class NotADate(str):
    """An unquoted value shaped like a date or timestamp that is no real day (``2031-13-45``).

    It stays the text as written, so where a string is expected it is one; the registry's date checks
    report it with ``line`` (1-based).
    """

    line: int

    def __new__(cls, text: str, line: int) -> NotADate:
        value = super().__new__(cls, text)
        value.line = line
        return value


class RegistryLoader(yaml.SafeLoader):
    """SafeLoader that refuses alias bombs and duplicate keys, and keeps impossible dates as :class:`NotADate`."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._alias_count += 1
            if self._alias_count > MAX_YAML_ALIASES:
                raise yaml.YAMLError(
                    f"more than {MAX_YAML_ALIASES} YAML aliases (refusing a possible alias bomb)"
                )
        return super().compose_node(parent, index)

    def compose_document(self) -> Any:  # type: ignore[override]
        node = super().compose_document()
        if node is not None and _expanded_size(node) > MAX_YAML_EXPANDED_NODES:
            raise yaml.YAMLError(
                f"the document expands to more than {MAX_YAML_EXPANDED_NODES} nodes through YAML aliases "
                "(refusing a possible alias bomb)"
            )
        if node is not None:
            problems = duplicate_keys(node)
            if problems:
                raise DuplicateKeys(problems)
        return node

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):  # month 13, day 45, February 30th, year 0
            return NotADate(str(node.value), node.start_mark.line + 1)


RegistryLoader.add_constructor("tag:yaml.org,2002:timestamp", RegistryLoader.construct_yaml_timestamp)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once aliases (shared nodes) are expanded; memoised, so cheap."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # guards against recursive structures
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        total = min(total, MAX_YAML_EXPANDED_NODES + 1)
        sizes[key] = total
        return total

    return size(root)


def duplicate_keys(root: yaml.Node) -> list[str]:
    """Every key repeated within one mapping, at any depth: ``<key path>: duplicate key (lines A and B)``.

    Merge keys (``<<: *anchor``) are YAML's own way to override and are not duplicates. A node shared
    through an alias is checked once, under the first path it is met at.
    """
    problems: list[str] = []
    visited: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            children = []
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    continue
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "<complex key>"
                child_path = f"{path}.{name}" if path else name
                line = key.start_mark.line + 1
                identity = (key.tag, name)
                if isinstance(key, yaml.ScalarNode) and identity in first_line:
                    problems.append(f"{child_path}: duplicate key (lines {first_line[identity]} and {line}); "
                                    "YAML would keep only the last")
                else:
                    first_line.setdefault(identity, line)
                children.append((value, child_path))
            stack.extend(reversed(children))
    return problems


def read_yaml(path: Path) -> Any:
    """The registry file's plain data; a ``RegistryError`` naming the file for anything unreadable or unsafe."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RegistryError(path, [f"cannot read registry: {exc.strerror or exc}"]) from exc
    if size > MAX_REGISTRY_BYTES:
        raise RegistryError(path, [f"file is {size} bytes; a registry may be at most {MAX_REGISTRY_BYTES}"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(path, [f"not UTF-8 text: {exc}"]) from exc
    except OSError as exc:  # a folder, a permission problem, ...
        raise RegistryError(path, [f"cannot read registry: {exc.strerror or exc}"]) from exc
    try:
        return yaml.load(text, Loader=RegistryLoader)
    except DuplicateKeys as exc:
        raise RegistryError(path, exc.problems) from exc
    except yaml.constructor.ConstructorError as exc:
        mark = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise RegistryError(path, [f"unsafe or unknown YAML tag{mark}: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise RegistryError(path, [f"invalid YAML: {exc}"]) from exc
    except RecursionError as exc:
        raise RegistryError(path, ["invalid YAML: nested too deeply"]) from exc
