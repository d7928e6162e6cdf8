"""`make demo`: the whole flow on the bundled fixtures, offline.

1. `scrapy monitor` on fixtures/registry/demo.yaml, replaying fixtures/cassettes;
2. `scrapy complaints` on that run's review.csv, auto-approving scores above 90, with evidence
   screenshots of the replayed detail pages;
3. prints where everything is.

The demo store also holds an invented history of past complaints (``fixtures/history``), loaded once, so the
report shows a Good-Faith standing panel, counter-notices waiting and the seller section.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "fixtures" / "registry" / "demo.yaml"
CASSETTES = ROOT / "fixtures" / "cassettes"
REPORTS = ROOT / "reports"
STORE = f"sqlite:///{ROOT / 'data' / 'demo.db'}"


def scrapy(*args: str) -> int:
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    command = [str(Path(sys.executable).with_name("scrapy")), *args]
    print("$ scrapy " + " ".join(args), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def main() -> int:
    from fixtures.history.seed import seed

    added = seed(STORE, REGISTRY)  # invented past cases, so the standing panel and the seller section have data
    if added:
        print(f"demo: loaded an invented complaint history ({added} past cases, fixtures/history/past_cases.yaml)")
    before = {p.name for p in REPORTS.glob("*")} if REPORTS.exists() else set()
    code = scrapy("monitor", "--registry", str(REGISTRY), "--replay", str(CASSETTES), "--out", str(REPORTS),
                  "--store", STORE, "--no-progress", "-L", "WARNING")
    runs = sorted(p for p in REPORTS.glob("*") if p.name not in before and (p / "summary.json").exists())
    if not runs:
        print("demo: the monitor wrote no report", file=sys.stderr)
        return code or 1
    run = runs[-1]
    complaints_dir = run / "complaints"
    complaint_code = scrapy("complaints", "--registry", str(REGISTRY), "--review", str(run / "review.csv"),
                            "--out", str(complaints_dir), "--auto-approve-above", "90", "--replay", str(CASSETTES),
                            "--store", STORE, "-L", "WARNING")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    print()
    print(f"Reports for run {summary['run_id']}:")
    for name in ("review.csv", "report.html", "listings.jsonl", "summary.json"):
        print(f"  {run / name}")
    if (complaints_dir / "manifest.json").exists():
        print(f"Complaint batches: {complaints_dir} (manifest.json, complaints.xlsx, evidence/)")
    print("Review this run in the browser (the workbench, on 127.0.0.1; Ctrl-C stops it):")
    print(f"  .venv/bin/scrapy review --registry {REGISTRY.relative_to(ROOT)} --store {STORE} "
          f"--run {summary['run_id']} --replay {CASSETTES.relative_to(ROOT)}")
    return code if code not in (0,) else complaint_code


if __name__ == "__main__":
    sys.exit(main())
