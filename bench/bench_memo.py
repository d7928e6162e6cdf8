"""The image memo (``matchers/images/memo.py``): a replayed Taobao monitor that sees the same pictures as a run
before it, with the memo against without it (``-s IMAGE_MEMO=0``), side by side.

    python -m bench.bench_memo [--rounds N] [--quick]

One run of the demo registry on the bundled cassettes fills the memo (and the OCR cache both sides share,
so reading text is in neither figure). Then each round runs the monitor twice on a fresh store and images
store, once reusing the memo and once without it, in turn: the CPU of each process (user + system, its own
accounting) and the ratio with/without, round by round. Both report the same listings; a difference is a
failure, not a figure. Results: bench/results/memo.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.corpus import ROOT, SCRAPY, scrapy_env

RESULTS = ROOT / "bench" / "results" / "memo.md"


def _monitor(work: Path, env: dict, *extra: str) -> tuple[float, dict]:
    """One replayed Taobao monitor in ``work``: (its CPU seconds, its listings without the run's own fields)."""
    command = [SCRAPY, "monitor", "--registry", str(ROOT / "fixtures" / "registry" / "demo.yaml"), "--replay",
               str(ROOT / "fixtures" / "cassettes"), "--platforms", "taobao", "--out", str(work / "reports"),
               "--store", f"sqlite:///{work / 'store.db'}", "--images-store", str(work / "images"), "--no-progress",
               "-L", "WARNING", *extra]
    work.mkdir(parents=True)
    with (work / "monitor.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the monitor failed, see {work / 'monitor.log'}")
    (listings,) = (work / "reports").glob("*/listings.jsonl")
    rows = {}
    for line in listings.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[row["listing_id"]] = {k: v for k, v in row.items()
                                   if k not in ("first_run", "first_seen", "last_seen", "crawled_at")}
    return usage.ru_utime + usage.ru_stime, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="two rounds")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    with tempfile.TemporaryDirectory(prefix="bench-memo-") as temp:
        base = Path(temp)
        env = scrapy_env(OCR_CACHE_DIR=str(base / "ocr"), IMAGE_MEMO_DIR=str(base / "memo"))
        filled, expected = _monitor(base / "fill", env)
        kept = sum(1 for _ in (base / "memo").rglob("*.*"))
        with_memo, without, ratios = [], [], []
        for n in range(rounds):
            a, rows_a = _monitor(base / f"with-{n}", env)
            b, rows_b = _monitor(base / f"without-{n}", env, "-s", "IMAGE_MEMO=0")
            if not rows_a == rows_b == expected:
                raise SystemExit("the runs with and without the memo reported different listings")
            with_memo.append(a)
            without.append(b)
            ratios.append(a / b)
    lines = [
        f"# The image memo: a second run of the same pictures ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores)",
        "",
        f"Replayed Taobao monitor of the demo registry ({len(expected)} listings); the memo filled by one run "
        f"({kept} entries, {filled:.2f} s of CPU); the OCR cache shared by both sides.",
        "",
        "| | CPU s (median) | per round |",
        "|---|---|---|",
        f"| with the memo | {statistics.median(with_memo):.2f} | {', '.join(f'{x:.2f}' for x in with_memo)} |",
        f"| without (`IMAGE_MEMO=0`) | {statistics.median(without):.2f} | {', '.join(f'{x:.2f}' for x in without)} |",
        f"| **with / without** | **{statistics.median(ratios):.2f}** | {', '.join(f'{x:.2f}' for x in ratios)} |",
        "",
        "Each figure is a whole `scrapy monitor` process, its start-up (about 2 s of imports) included. Both sides "
        "reported the same listings, field by field.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
