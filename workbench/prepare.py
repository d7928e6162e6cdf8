"""What the workbench hands to ``scrapy complaints``: the run's review.csv with the store's decisions, and the
batches that command builds from it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.decisions import DecisionBook
from workbench.queue import Queue

PROJECT = Path(__file__).resolve().parent.parent  # where scrapy.cfg is: `scrapy complaints` runs there
COMPLAINTS_TIMEOUT = 1800  # seconds; evidence for a long queue takes a while


def review_csv_text(queue: Queue, book: DecisionBook, registry: Any) -> str:
    """The run's review.csv, with the store's decisions in the ``decision`` column (a changed listing's
    decision left blank: it is asked again)."""
    from exports.review_csv import REVIEW_COLUMNS, review_row

    decisions = book.current()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REVIEW_COLUMNS)
    for card in queue.cards:
        row = review_row(card, registry)
        state = queue.decision_state(card, decisions)
        row[0] = state if state in ("approve", "reject") else ""
        writer.writerow(row)
    return buffer.getvalue()


def prepare_complaints(config: Any, queue: Queue, book: DecisionBook, evidence: bool) -> dict:
    """Build the batches exactly as ``scrapy complaints`` does: the same command, on the store's decisions,
    in ``<out>/<run_id>/workbench-<time>/complaints``. Returns what the page shows."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = Path(config.complaints_root) / config.run_id / f"workbench-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "review.csv").write_text(review_csv_text(queue, book, config.registry), encoding="utf-8-sig")
    with (work / "listings.jsonl").open("w", encoding="utf-8") as out:
        for card in queue.cards:
            out.write(json.dumps(card, ensure_ascii=False, default=str) + "\n")
    folder = work / "complaints"
    command = [str(Path(sys.executable).with_name("scrapy")), "complaints", "--registry", str(config.registry.path),
               "--review", str(work / "review.csv"), "--out", str(folder), "--store", config.store_url,
               "-s", f"IMAGES_STORE={config.images_store}"]
    if not evidence:
        command.append("--no-evidence")
    if config.replay:
        command += ["--replay", config.replay]
    environment = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPLAINTS_TIMEOUT, cwd=PROJECT,
                              env=environment)
        code, output = done.returncode, (done.stdout + done.stderr).splitlines()
    except subprocess.TimeoutExpired:
        code, output = 1, [f"scrapy complaints did not finish in {COMPLAINTS_TIMEOUT} s; nothing was recorded"]
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    return {"exit_code": code, "folder": str(folder), "output": output,
            "batches": [{"file": b["files"]["txt"], "urls": b["urls"], "ipr_id": b["ipr_id"], "reason": b["reason"]}
                        for b in data.get("batches", [])],
            "refused": data.get("refused", []), "counts": data.get("counts", {})}
