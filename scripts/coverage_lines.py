"""The lines the suite covers, to show that a faster suite covers no less.

    coverage_lines.py dump DATA_FILE OUT.json     the covered lines of each shipped file, from combined data
    coverage_lines.py diff BEFORE.json AFTER.json [BEFORE_TREE AFTER_TREE]
                                                   lines covered before and not after; exit 1 when there are any

`make coverage` writes `.coverage-data/lines.json`. A percentage can hold while lines move; the comparison is by
line, so a reshaped test that stops reaching a branch shows up by file and line number. Given the two source trees
(checkouts of the two commits), a file edited in between is compared line by line through a diff of its text:
a covered line still present, unchanged, must still be covered; lines rewritten or removed are counted apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dump(data_file: str, out: str) -> None:
    from coverage import CoverageData

    data = CoverageData(basename=data_file)
    data.read()
    lines = {}
    for name in data.measured_files():
        path = Path(name)
        key = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else name
        lines[key] = sorted(data.lines(name) or [])
    Path(out).write_text(json.dumps(lines, indent=0, sort_keys=True), encoding="utf-8")
    print(f"{out}: {sum(map(len, lines.values()))} lines covered in {len(lines)} files")


def _moved(name: str, trees: tuple[Path, Path] | None) -> tuple[dict[int, int], set[int]]:
    """Each unchanged line's number before -> after, and the lines rewritten or removed, for one file."""
    import difflib

    if trees is None:
        return {}, set()
    texts = []
    for root in trees:
        try:
            texts.append((root / name).read_text(encoding="utf-8").splitlines())
        except OSError:
            texts.append([])
    if texts[0] == texts[1]:
        return {}, set()
    moved, changed = {}, set(range(1, len(texts[0]) + 1))
    for block in difflib.SequenceMatcher(None, texts[0], texts[1], autojunk=False).get_matching_blocks():
        for k in range(block.size):
            moved[block.a + k + 1] = block.b + k + 1
            changed.discard(block.a + k + 1)
    return moved, changed


def diff(before: str, after: str, trees: tuple[Path, Path] | None = None) -> int:
    old = json.loads(Path(before).read_text(encoding="utf-8"))
    new = json.loads(Path(after).read_text(encoding="utf-8"))
    lost, rewritten = {}, 0
    for name, lines in old.items():
        covered = set(new.get(name, []))
        moved, changed = _moved(name, trees)
        gone = [n for n in lines if n not in changed and moved.get(n, n) not in covered]
        rewritten += sum(1 for n in lines if n in changed)
        if gone:
            lost[name] = gone
    for name, lines in sorted(lost.items()):
        print(f"{name}: no longer covered: {', '.join(map(str, lines))}")
    total_old, total_new = sum(map(len, old.values())), sum(map(len, new.values()))
    print(f"covered lines {total_old} -> {total_new}: {sum(map(len, lost.values()))} lost"
          + (f" ({rewritten} covered lines rewritten or removed in between)" if trees else ""))
    return 1 if lost else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (4, 6) and sys.argv[1] == "diff":
        roots = (Path(sys.argv[4]), Path(sys.argv[5])) if len(sys.argv) == 6 else None
        sys.exit(diff(sys.argv[2], sys.argv[3], roots))
    else:
        sys.exit(__doc__)
