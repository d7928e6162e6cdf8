"""The lines the suite covers, to show that a faster suite covers no less.

    coverage_lines.py dump DATA_FILE OUT.json     the covered lines of each shipped file, from combined data
    coverage_lines.py diff BEFORE.json AFTER.json  lines covered before and not after; exit 1 when there are any

`make coverage` writes `.coverage-data/lines.json`. A percentage can hold while lines move; the comparison is by
line, so a reshaped test that stops reaching a branch shows up by file and line number.
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


def diff(before: str, after: str) -> int:
    old = json.loads(Path(before).read_text(encoding="utf-8"))
    new = json.loads(Path(after).read_text(encoding="utf-8"))
    lost = {name: sorted(set(lines) - set(new.get(name, []))) for name, lines in old.items()}
    lost = {name: lines for name, lines in lost.items() if lines}
    gained = sum(len(set(lines) - set(old.get(name, []))) for name, lines in new.items())
    for name, lines in sorted(lost.items()):
        print(f"{name}: no longer covered: {', '.join(map(str, lines))}")
    total_old, total_new = sum(map(len, old.values())), sum(map(len, new.values()))
    print(f"covered lines {total_old} -> {total_new}: {sum(map(len, lost.values()))} lost, {gained} gained")
    return 1 if lost else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        sys.exit(diff(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
