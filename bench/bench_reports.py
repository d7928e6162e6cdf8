"""Complaints and reports on 100,000 flagged listings: time and peak RSS, against a streaming floor.

    python -m bench.bench_reports [--listings N] [--small N] [--quick]

Each step runs in its own Python process (so its peak RSS is its own, read with ``os.wait4``), on the
same lazily generated flagged listings (bench/corpus.py ``flagged_listings``; registry
``fixtures/registry/demo.yaml`` via ``registry.load_registry``):

* ``review_csv``: ``exports.review_csv.write_review_csv`` (filter, external sort by score, CSV stream);
* ``report_html``: ``exports.report_html.write_report_html`` (one card per listing, no images on disk);
* ``complaints``: ``exports.complaints.plan_batches`` + ``write_complaints`` without evidence (the 300-URL
  split, per-batch .txt/.csv, complaints.xlsx, manifest.json);
* ``floor``: the same listings generated and written as CSV rows with ``csv.writer``, one at a time: the
  cost of producing and writing the data at all, in constant memory.

Each step runs at ``--small`` and ``--listings`` sizes: the RSS growth between the two says whether the
step streams (about 1x) or holds everything (about the size ratio). Ratios are to the floor at the same
size. Results: bench/results/reports.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "reports.md"
ROOT = Path(__file__).resolve().parents[1]
STEPS = ("floor", "review_csv", "report_html", "complaints")
RSS_GROWTH_GOAL = 1.5


def _step(name: str, count: int, out: Path) -> dict:
    """Run one step in this process; what it wrote."""
    from bench.corpus import DEMO_REGISTRY, flagged_listings
    from registry import load_registry

    registry = load_registry(DEMO_REGISTRY)
    listings = flagged_listings(count)
    out.mkdir(parents=True, exist_ok=True)
    if name == "floor":
        with (out / "floor.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for listing in listings:
                writer.writerow([listing["score"], listing["verdict"], listing["reason"], listing["platform"],
                                 listing["listing_id"], listing["url"], listing["title"], listing["price_min"],
                                 listing["currency"], listing["seller_name"], listing["ipr_id"],
                                 listing["explanation"], listing["first_seen"], listing["last_seen"],
                                 listing["status"]])
        return {"rows": count}
    if name == "review_csv":
        from exports.review_csv import write_review_csv

        return {"rows": write_review_csv(listings, out / "review.csv", registry)}
    if name == "report_html":
        from exports.report_html import write_report_html

        cards = write_report_html(listings, out / "report.html", registry=registry, run_id="bench")
        return {"cards": cards, "bytes": (out / "report.html").stat().st_size}
    if name == "complaints":
        from exports.complaints import plan_batches, write_complaints

        plan = plan_batches(listings, registry)
        manifest = write_complaints(plan, out / "complaints", registry)
        return {"batches": manifest["counts"]["batches"], "filed": manifest["counts"]["filed"],
                "refused": manifest["counts"]["refused"]}
    raise ValueError(f"unknown step {name!r}")


def _measure(name: str, count: int, work: Path) -> dict:
    from bench.corpus import run_measured, scrapy_env

    out = work / f"{name}-{count}"
    result_file = work / f"{name}-{count}.json"
    command = [sys.executable, "-m", "bench.bench_reports", "--one", name, "--listings", str(count),
               "--out", str(out), "--result", str(result_file)]
    measured = run_measured(command, cwd=ROOT, log=work / f"{name}-{count}.log", env=scrapy_env())
    if measured.returncode != 0 or not result_file.exists():
        tail = measured.log.read_text(encoding="utf-8", errors="replace")[-2000:]
        return {"step": name, "listings": count, "error": f"exit {measured.returncode}: {tail}"}
    inner = json.loads(result_file.read_text(encoding="utf-8"))
    return {"step": name, "listings": count, "seconds": inner["seconds"], "rss_mb": measured.peak_rss_mb,
            "detail": inner["detail"]}


def run(large: int, small: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="ipwatch-bench-reports-") as tmp:
        for count in (small, large):
            for name in STEPS:
                row = _measure(name, count, Path(tmp))
                rows.append(row)
                if "error" in row:
                    print(f"reports: {name} at {count}: FAILED {row['error'][-500:]}", flush=True)
                else:
                    print(f"reports: {name:11s} {count:7d} listings: {row['seconds']:7.2f} s, "
                          f"peak RSS {row['rss_mb']:6.0f} MB  {row['detail']}", flush=True)
    return rows


def summarise(rows: list[dict], large: int, small: int) -> list[dict]:
    by = {(r["step"], r["listings"]): r for r in rows if "error" not in r}
    summary = []
    for name in STEPS:
        big, little = by.get((name, large)), by.get((name, small))
        floor = by.get(("floor", large))
        if big is None:
            summary.append({"step": name, "error": next((r["error"] for r in rows if r["step"] == name
                                                         and "error" in r), "not run")})
            continue
        growth = big["rss_mb"] / little["rss_mb"] if little else None
        summary.append({
            "step": name, "seconds": big["seconds"], "rss_mb": big["rss_mb"],
            "per_s": large / big["seconds"] if big["seconds"] else 0.0,
            "time_ratio": big["seconds"] / floor["seconds"] if floor else None,
            "rss_ratio": big["rss_mb"] / floor["rss_mb"] if floor else None,
            "small_rss_mb": little["rss_mb"] if little else None, "growth": growth,
            "streams": growth is not None and growth < RSS_GROWTH_GOAL, "detail": big["detail"],
        })
    return summary


def write_results(summary: list[dict], large: int, small: int, command: str) -> None:
    lines = [
        f"# Reports and complaints on {large:,} flagged listings",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores (shared: other jobs running).",
        f"Command: `{command}`",
        "",
        "Each step in its own process; peak RSS is that process' `ru_maxrss` (Python, imports and the registry "
        f"included: the floor shows that base). `growth`: peak RSS at {large:,} / at {small:,} listings "
        f"(streaming: < {RSS_GROWTH_GOAL}×).",
        "",
        f"| step | seconds | listings/s | × floor time | peak RSS MB | × floor RSS | RSS at {small:,} MB | growth | streams? | output |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary:
        if "error" in row:
            lines.append(f"| {row['step']} | failed | | | | | | | | {row['error'][:200]!r} |")
            continue
        lines.append(
            f"| {row['step']} | {row['seconds']:.2f} | {row['per_s']:.0f} | {row['time_ratio']:.2f} | "
            f"{row['rss_mb']:.0f} | {row['rss_ratio']:.2f} | {row['small_rss_mb']:.0f} | {row['growth']:.2f} | "
            f"{'yes' if row['streams'] else 'NO'} | {json.dumps(row['detail'])} |")
    lines.append("")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000, help="the large size (default 100,000)")
    parser.add_argument("--small", type=int, default=20_000, help="the small size, for RSS growth (default 20,000)")
    parser.add_argument("--quick", action="store_true", help="10,000 and 2,000 listings")
    parser.add_argument("--one", choices=STEPS, help=argparse.SUPPRESS)  # internal: run one step here
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        started = time.perf_counter()
        detail = _step(args.one, args.listings, Path(args.out))
        Path(args.result).write_text(json.dumps({"seconds": time.perf_counter() - started, "detail": detail}))
        return 0
    large, small = (10_000, 2_000) if args.quick else (args.listings, args.small)
    summary = summarise(run(large, small), large, small)
    for row in summary:
        if "error" not in row:
            print(f"reports: {row['step']:11s} x{row['time_ratio']:.2f} floor time, x{row['rss_ratio']:.2f} floor RSS, "
                  f"RSS growth {small:,}->{large:,}: {row['growth']:.2f} ({'streams' if row['streams'] else 'NOT streaming'})")
    command = "python -m bench.bench_reports" + (" --quick" if args.quick else f" --listings {large} --small {small}")
    write_results(summary, large, small, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
