"""``scrapy match``: score listings that were already crawled, without crawling (docs/contract.md §5).

    scrapy match --registry REG [--images-store DIR] [--rates RATES.yaml] INPUT.jsonl -o OUTPUT.(jsonl|csv)

Each input line is a listing (docs/contract.md §4). Its image signal is, in order: an ``image_hit`` already on the
line; else its downloaded ``images[].path`` (relative to ``--images-store``) hashed and looked up against the
registry's photos and logos (``matchers.images.RegistryImageIndex``); else none (text and price only).
A bad line is skipped with a message naming its line number; the rest are still scored.

Exit codes: 0 done (even with skipped lines); 2 bad input (registry, arguments, unreadable input file).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from scrapy.exceptions import UsageError

from contract import LISTING_FIELDS, SCORE_FIELDS, Verdict
from crawlers.command_options import ProjectCommand, add_registry_option
from crawlers.extensions import install_log_redaction
from registry import Registry, RegistryError, load_registry

# a CSV's first columns: what the listing is, where and at what price (the contract's first fields), and who sells it
CSV_FIRST_COLUMNS = (*LISTING_FIELDS[: LISTING_FIELDS.index("currency") + 1], "seller_name")


class Command(ProjectCommand):
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "WARNING"}
    usage = "--registry REG [--images-store DIR] INPUT.jsonl -o OUTPUT.(jsonl|csv)"
    summary = "Score already-crawled listings against a registry, without crawling"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_registry_option(parser)
        parser.add_argument("--images-store", metavar="DIR", help="folder that images[].path is relative to")
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="output .jsonl or .csv ('-': JSON lines to stdout)"
        )
        parser.add_argument(
            "--rates", metavar="FILE", help="exchange rates overriding matchers/data/rates.yaml"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        install_log_redaction()  # before anything is logged: no cookie or token in any line
        if len(args) != 1:
            raise UsageError("give exactly one INPUT.jsonl")
        if not opts.registry:
            raise UsageError("--registry is required")
        if not opts.output:
            raise UsageError("-o OUTPUT.(jsonl|csv) is required")
        self.exitcode = run_match(
            args[0], opts.registry, opts.output, images_store=opts.images_store, rates=opts.rates
        )


def run_match(
    input_path: str | Path,
    registry_path: str | Path,
    output: str | Path,
    *,
    images_store: str | Path | None = None,
    rates: str | Path | None = None,
    err=None,
) -> int:
    """Score every line of ``input_path`` into ``output``; returns the exit code."""
    # here, not at the top: Scrapy imports every command's module whichever command runs
    from matchers.price import load_rates
    from matchers.score import Scorer

    err = err or sys.stderr
    try:
        registry = load_registry(registry_path)
    except RegistryError as error:
        print(str(error), file=err)
        return 2
    for warning in registry.warnings:
        print(f"warning: registry {registry.path}: {warning}", file=err)
    out_path = str(output)
    if out_path != "-" and Path(out_path).suffix.lower() not in (".jsonl", ".csv"):
        print(f"error: output {out_path}: use a .jsonl or .csv file name", file=err)
        return 2
    if not Path(input_path).is_file():
        print(f"error: input {input_path}: file not found", file=err)
        return 2
    try:
        rate_table = load_rates(rates) if rates else None
    except (OSError, ValueError, AttributeError) as error:
        print(f"error: rates {rates}: {error}", file=err)
        return 2
    scorer = Scorer(registry, rates=rate_table)
    images = _ImageSignal.create(registry, images_store, err)

    counts: Counter[str] = Counter()
    skipped = 0
    results: list[dict] = []
    for line_no, listing, problem in _read_jsonl(Path(input_path)):
        if problem:
            skipped += 1
            print(f"{input_path}:{line_no}: skipped: {problem}", file=err)
            continue
        try:
            hit = listing.get("image_hit") or images.hit(listing, line_no, input_path)
            result = scorer.score(listing, hit)
        except Exception as error:  # one bad row never stops the batch
            skipped += 1
            print(f"{input_path}:{line_no}: skipped: cannot score: {error!r}", file=err)
            continue
        listing.update({k: result[k] for k in SCORE_FIELDS})
        counts[result["verdict"]] += 1
        results.append(listing)

    _write(results, out_path)
    summary = ", ".join(f"{counts[v]} {v}" for v in Verdict)
    print(f"scored {len(results)} listings ({summary}); skipped {skipped} bad lines -> {out_path}", file=err)
    return 0


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict, str]]:
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield line_no, {}, f"not JSON ({error.msg} at column {error.colno})"
                continue
            if not isinstance(row, dict):
                yield line_no, {}, f"not a JSON object (got {type(row).__name__})"
                continue
            if not isinstance(row.get("title"), str):
                yield line_no, {}, "no title"
                continue
            yield line_no, row, ""


def _write(rows: list[dict], out_path: str) -> None:
    if out_path == "-":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    columns: list[str] = [c for c in CSV_FIRST_COLUMNS if any(c in r for r in rows)]
    columns += [c for c in SCORE_FIELDS]
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must not run a listing's text as a formula
    return value


class _ImageSignal:
    """Image hits for the command, from ``matchers.images`` when it is available."""

    def __init__(self, index: Any, store: Path | None, module: Any, err):
        self.index, self.store, self.module, self.err = index, store, module, err

    @classmethod
    def create(cls, registry: Registry, images_store: str | Path | None, err) -> _ImageSignal:
        if not images_store:
            return cls(None, None, None, err)
        import matchers.images as module

        index = module.RegistryImageIndex.from_registry(registry)
        return cls(index, Path(images_store), module, err)

    def hit(self, listing: dict, line_no: int, input_path: str | Path):
        if self.index is None or not isinstance(listing.get("images"), list):
            return None
        listing_images = []
        for i, image in enumerate(listing["images"]):
            if not isinstance(image, dict) or not image.get("path"):
                continue
            from exports.comparison_picture import within

            path = within(str(image["path"]), self.store)
            if path is None:
                print(f"{input_path}:{line_no}: images[{i}] {image['path']}: skipped: not a file inside "
                      f"--images-store {self.store}", file=self.err)
                continue
            try:
                hashes = self.module.hash_image_file(path)
            except (self.module.ImageError, OSError) as error:
                print(f"{input_path}:{line_no}: images[{i}] {path}: skipped: {error}", file=self.err)
                continue
            listing_images.append(
                self.module.ListingImage(image.get("url") or "", image["path"], hashes, path)
            )
        return self.index.match(listing_images) if listing_images else None
