"""A replayed ``scrapy monitor``: images, hashing, scoring, the store and the reports, on a synthetic corpus.

    python -m bench.bench_monitor [--quick | --full] [--listings N --images N] [--scale A,B]

Corpora (bench/corpus.py, in a temporary folder): Taobao mtop search cassettes (vcrpy format) with fresh
ids, varied titles, prices and sellers from the demo catalogue; images: small JPEGs derived from
``fixtures/registry/images/*`` (crop, mirror, colour, brightness, resize, JPEG quality) for 30% of them and
unrelated pictures for the rest, each shared by several listings; a copy of the demo registry whose
watch list is exactly the corpus' queries (Taobao, 3 pages each). The store is a fresh SQLite file.
``pipelines.images.ListingImagesPipeline`` is added to the pipelines when the settings do not list it.

Three measurements, each a separate process whose peak RSS is its own (``os.wait4``; the RSS is also
sampled until ``listings.jsonl`` appears, i.e. the crawl phase apart from the reports phase):

1. **the whole monitor** (``--listings``/``--images``): images downloaded, hashed and matched against the
   registry's photos, scoring, store, reports with comparison pictures; listings/s and peak RSS, and the
   ratio to the bare spider (bench/bench_crawl.py) replaying the same corpus;
2. **where the time goes**: the same on a small corpus under cProfile (top functions);
3. **does memory stream** (``--scale``, default 5,000 and 20,000 listings, a quarter as many images):
   the whole monitor with a registry copy without product photos, so every image is downloaded, hashed
   and stored but there is nothing to match it against (image matching costs ~0.1 s per listing and
   would not fit the budget); peak RSS at each size and the growth between them.

Goals: peak RSS <= 500 MB at 20,000 listings / 5,000 images; RSS growth < 1.5x (the brief's 20,000 ->
100,000 is ``--full``, which also runs step 1 at 20,000 / 5,000: hours, because of image matching).
Results: bench/results/monitor.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "monitor.md"
ROOT = Path(__file__).resolve().parents[1]
RSS_GOAL_MB = 500
GROWTH_GOAL = 1.5
IMAGES_PIPELINE = "pipelines.images.ListingImagesPipeline"


def _pipelines(with_images: bool) -> dict:
    from crawlers import settings

    pipelines = dict(settings.ITEM_PIPELINES)
    if with_images and not any("Images" in name for name in pipelines):
        pipelines[IMAGES_PIPELINE] = 300
    if not with_images:
        pipelines = {name: order for name, order in pipelines.items() if "Images" not in name}
    return pipelines


def _monitor(work: Path, name: str, listings: int, images: int, *, with_images: bool = True,
             photos: bool = True, profile: bool = False) -> dict:
    from bench.corpus import SCRAPY, build_taobao_corpus, registry_copy, run_measured

    folder = work / name
    corpus = build_taobao_corpus(folder / "replay", listings, images=images, seed=11)
    registry = registry_copy(folder / "registry", corpus.queries, corpus.pages, photos=photos)
    command = [SCRAPY, "monitor", "--registry", str(registry), "--replay", str(corpus.root),
               "--out", str(folder / "reports"), "--store", f"sqlite:///{folder / 'store.db'}",
               "--images-store", str(folder / "images"), "--no-progress", "-L", "WARNING",
               "-s", f"ITEM_PIPELINES={json.dumps(_pipelines(with_images))}",
               "-s", f"FORMAT_DIAG_DIR={folder / 'diag'}", "-s", f"STATS_FILE={folder / 'stats.json'}"]
    prof = folder / "monitor.prof"
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", str(prof), *command]
    stage = "images, matching" if with_images and photos else "images, no registered photos" if with_images else \
        "no image stage"
    print(f"monitor: {name}: {corpus.listings} listings, {images} images ({stage}"
          f"{', under cProfile' if profile else ''}); corpus built in {corpus.build_seconds:.1f} s", flush=True)
    measured = run_measured(command, cwd=folder, log=folder / "monitor.log", timeout=7200,
                            marker=(folder / "reports", "*/listings.jsonl"))
    summaries = sorted((folder / "reports").glob("*/summary.json"))
    if measured.returncode != 0 or not summaries:
        tail = measured.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"monitor {name} failed (exit {measured.returncode}):\n{tail}")
    summary = json.loads(summaries[-1].read_text(encoding="utf-8"))
    found = sum(p.get("listings", 0) for p in summary["platforms"].values())
    misses = sum(p.get("replay_misses", 0) for p in summary["platforms"].values())
    result = {
        "name": name, "corpus_listings": corpus.listings, "images": images, "with_images": with_images,
        "photos": photos, "crawl_rss_mb": measured.rss_before_marker_mb, "crawl_s": measured.marker_seconds,
        "listings": found, "flagged": sum(p.get("flagged", 0) for p in summary["platforms"].values()),
        "review_rows": summary.get("review_rows"), "replay_misses": misses, "wall_s": measured.seconds,
        "per_s": found / measured.seconds, "rss_mb": measured.peak_rss_mb,
        "corpus_mb": sum(p.stat().st_size for p in corpus.root.rglob("*.yaml")) / 2**20,
        "corpus": corpus, "profile": prof if profile else None,
        "second_looks": _second_looks(folder / "stats.json"),
    }
    print(f"  {found} listings in {measured.seconds:.1f} s ({result['per_s']:.1f}/s), peak RSS "
          f"{measured.peak_rss_mb:.0f} MB (until the reports: {measured.rss_before_marker_mb or 0:.0f} MB, "
          f"{measured.marker_seconds or 0:.1f} s), {result['flagged']} flagged, {misses} replay misses", flush=True)
    return result


def _second_looks(stats_file: Path) -> dict:
    """The scoring pipeline's looks inside the main image (pipelines/scoring.py): how many listings reached
    the local-feature stage and OCR, and the time they took."""
    try:
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("images/local/checked", "images/local/matched", "images/local/seconds", "ocr/read", "ocr/cached",
            "ocr/skipped_budget", "ocr/off", "ocr/seconds", "item_scraped_count", "images/matched")
    return {k: stats.get(k, 0) for k in keys}


def second_looks_lines(row: dict) -> list[str]:
    looks, n = row.get("second_looks") or {}, max(row["listings"], 1)
    if not looks:
        return []
    checked, ocr = looks["images/local/checked"], looks["ocr/read"]
    return [
        f"- Second looks in the scoring pipeline ({row['listings']:,} listings, {looks['images/matched']:,} matched by "
        f"the hash stages): the local-feature stage reached **{checked:,} listings ({100 * checked / n:.0f} %)**, "
        f"{1000 * looks['images/local/seconds'] / max(checked, 1):.0f} ms each, {looks['images/local/matched']:,} "
        f"found; OCR read **{ocr:,} pictures ({100 * ocr / n:.0f} % of listings)**, "
        f"{1000 * looks['ocr/seconds'] / max(ocr, 1):.0f} ms each; {looks['ocr/cached']:,} from the cache, "
        f"{looks['ocr/skipped_budget']:,} over the budget, {looks['ocr/off']:,} with OCR off.",
    ]


def _bare(work: Path, corpus) -> dict:
    from bench.bench_crawl import _crawl_once

    result = _crawl_once("bare", corpus, work, 0)
    print(f"  bare spider on the same corpus: {result['items']} items in {result['wall_s']:.1f} s wall "
          f"({result['wall_per_s']:.0f}/s)", flush=True)
    return result


def run(sizes: dict) -> dict:
    from bench.corpus import profile_summary

    out: dict = {"sizes": sizes}
    with tempfile.TemporaryDirectory(prefix="ipwatch-bench-monitor-") as tmp:
        work = Path(tmp)
        whole = _monitor(work, "whole", sizes["listings"], sizes["images"])
        out["whole"] = whole
        out["whole_bare"] = _bare(work / "whole", whole["corpus"])
        profiled = _monitor(work, "profiled", sizes["profile_listings"], sizes["profile_images"], profile=True)
        out["profile_rows"] = profile_summary(profiled["profile"], limit=14)
        out["profiled"] = profiled
        scale = []
        for count in sizes["scale"]:  # images downloaded and hashed, nothing to match them against
            scale.append(_monitor(work, f"scale-{count}", count, count // 4, photos=False))
        out["scale"] = scale
        out["scale_bare"] = _bare(work / f"scale-{sizes['scale'][-1]}", scale[-1]["corpus"])
    small, large = out["scale"][0], out["scale"][-1]
    out["growth"] = large["rss_mb"] / small["rss_mb"]
    return out


def write_results(out: dict, command: str) -> None:
    whole, bare = out["whole"], out["whole_bare"]
    small, large = out["scale"][0], out["scale"][-1]
    rows = [("whole monitor: images matched against the registry photos", whole, bare)]
    rows += [("monitor, images hashed, registry without photos", r, out["scale_bare"] if r is large else None)
             for r in out["scale"]]
    lines = [
        "# Replayed monitor",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores (shared: other jobs running).",
        f"Command: `{command}`",
        "",
        "Synthetic Taobao corpus in vcrpy cassettes (bench/corpus.py), a copy of the demo registry watching its "
        "queries, a fresh SQLite store; `scrapy monitor --replay … --no-progress`. Peak RSS: the monitor "
        "process' `ru_maxrss`; 'RSS, crawl': the highest RSS sampled before the reports began (`listings.jsonl` "
        "created). Listings/s over the process' wall time (start-up, cassette loading and the reports "
        "included). The bare spider (bench/bench_crawl.py) replays the same cassettes with no pipelines.",
        "",
        "| run | listings | images | flagged | wall s | of which reports s | listings/s | bare spider listings/s | "
        "ratio | RSS, crawl MB | peak RSS MB | corpus MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row, floor in rows:
        floor_rate = f"{floor['wall_per_s']:.0f}" if floor else ""
        ratio = f"{row['per_s'] / floor['wall_per_s']:.3f}" if floor else ""
        reports_s = f"{row['wall_s'] - row['crawl_s']:.1f}" if row.get("crawl_s") else ""
        lines.append(f"| {label} | {row['listings']:,} | {row['images']:,} | {row['flagged']:,} | {row['wall_s']:.1f} | "
                     f"{reports_s} | {row['per_s']:.1f} | {floor_rate} | {ratio} | {row['crawl_rss_mb'] or 0:.0f} | "
                     f"{row['rss_mb']:.0f} | {row['corpus_mb']:.0f} |")
    growth_ok = out["growth"] < GROWTH_GOAL
    crawl_growth = (large["crawl_rss_mb"] or 0) / max(small["crawl_rss_mb"] or 1, 1)
    lines += [
        "",
        f"- Peak RSS at {large['listings']:,} listings / {large['images']:,} images (no photo matching): "
        f"**{large['rss_mb']:.0f} MB** (goal <= {RSS_GOAL_MB} MB: {'met' if large['rss_mb'] <= RSS_GOAL_MB else 'MISSED'}); "
        f"until the reports began: {large['crawl_rss_mb'] or 0:.0f} MB.",
        f"- Peak RSS growth {small['listings']:,} -> {large['listings']:,} listings: **{out['growth']:.2f}x** "
        f"(goal < {GROWTH_GOAL}x: {'met' if growth_ok else 'MISSED'}); crawl phase alone: {crawl_growth:.2f}x.",
        f"- With image matching: {whole['per_s']:.1f} listings/s at {whole['listings']:,} listings / "
        f"{whole['images']:,} images, {whole['per_s'] / bare['wall_per_s']:.3f}x the bare spider; peak RSS "
        f"{whole['rss_mb']:.0f} MB.",
        *second_looks_lines(whole),
        "",
        f"## Where the time goes (cProfile, whole monitor, {out['profiled']['listings']:,} listings, "
        f"{out['profiled']['images']:,} images, {out['profiled']['wall_s']:.0f} s under the profiler)",
        "",
        *out["profile_rows"],
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=300, help="listings of the whole-monitor run (default 300)")
    parser.add_argument("--images", type=int, default=100, help="images of the whole-monitor run (default 100)")
    parser.add_argument("--scale", default="5000,20000", help="listings of the scaling runs (default 5000,20000)")
    parser.add_argument("--quick", action="store_true", help="150 listings / 50 images; scale 1,000 and 5,000")
    parser.add_argument("--full", action="store_true", help="the brief's sizes: 20,000 listings / 5,000 images; "
                                                            "scale 20,000 and 100,000 (hours)")
    args = parser.parse_args(argv)
    sizes = {"listings": args.listings, "images": args.images,
             "scale": [int(x) for x in args.scale.split(",")], "profile_listings": 100, "profile_images": 40}
    if args.quick:
        sizes.update(listings=150, images=50, scale=[1000, 5000], profile_listings=60, profile_images=20)
    if args.full:
        sizes.update(listings=20_000, images=5_000, scale=[20_000, 100_000])
    out = run(sizes)
    whole, bare = out["whole"], out["whole_bare"]
    print(f"monitor: whole: {whole['per_s']:.1f} listings/s, x{whole['per_s'] / bare['wall_per_s']:.3f} the bare spider; "
          f"peak RSS {whole['rss_mb']:.0f} MB; RSS growth {out['scale'][0]['listings']:,}->{out['scale'][-1]['listings']:,}: "
          f"{out['growth']:.2f}x (goal < {GROWTH_GOAL})")
    flag = " --quick" if args.quick else " --full" if args.full else (
        f" --listings {args.listings} --images {args.images} --scale {args.scale}")
    write_results(out, "python -m bench.bench_monitor" + flag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
