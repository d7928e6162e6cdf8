"""Image hashing and lookup speed (``python -m bench.bench_images``).

1. Hashing throughput of ``matchers.images.hash_image_bytes`` (the first stage: decode, trim, pHash,
   dHash, quadrants, watermark-proof trim, banner cut; BLAS on one thread, as in a crawl) against the
   floor of decoding the same JPEGs with Pillow and resizing them to 32x32; goal: at most 2x the floor. The floor is given twice: a full
   decode, and a decode with libjpeg's DCT scaling (``draft``), which the recipe itself uses.
2. The second stage per candidate (the window search and the watermark-filtered comparison), which
   runs only on undecided candidates.
3. Index lookup per listing (one listing image: its plain, watermark-proof, banner-cut and four
   quadrant hashes) against 1,000, 10,000 and 100,000 reference hashes; goal: <= 2 ms at 100,000.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from bench.evaluate_images import build_index
from bench.image_corpus import TRANSFORMS, build_corpus, encode_jpeg
from matchers.images import (
    ListingImage,
    PreparedListing,
    RegistryImageIndex,
    default_thresholds,
    hash_image_bytes,
    hex64,
    reference_crop_grid,
    second_stage,
    unmarked_views,
)


def _jpegs(count: int, seed: int = 3) -> list[bytes]:
    corpus = build_corpus()
    rng = np.random.default_rng(seed)
    pool = [a for _, a in corpus.references + corpus.distractors]
    names = list(TRANSFORMS)
    out = []
    for i in range(count):
        arr = pool[i % len(pool)]
        if i >= len(pool):
            arr = TRANSFORMS[names[i % len(names)]](arr, rng, corpus)
        img = Image.fromarray(arr)
        scale = 800 / max(img.size)  # product-page images are ~800 px
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
        out.append(encode_jpeg(np.asarray(img), 90))
    return out


def _per_item(fn, items, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for x in items:
            fn(x)
        best = min(best, (time.process_time() - start) / len(items))
    return best


def _floor_full(data: bytes) -> None:
    Image.open(io.BytesIO(data)).convert("RGB").resize((32, 32), Image.Resampling.BOX)


def _floor_draft(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    img.draft("RGB", (256, 256))
    img.convert("RGB").resize((32, 32), Image.Resampling.BOX)


def bench_hashing(count: int) -> dict[str, float]:
    data = _jpegs(count)
    full = _per_item(_floor_full, data)
    draft = _per_item(_floor_draft, data)
    ours = _per_item(lambda d: hash_image_bytes(d), data)
    return {
        "images": count,
        "floor_full_ms": full * 1e3,
        "floor_draft_ms": draft * 1e3,
        "hash_ms": ours * 1e3,
    }


def bench_second_stage(pairs: int = 30) -> dict[str, float]:
    """Second-stage costs: preparing a listing thumbnail (once per listing image), comparing it with
    one candidate (crop grid cached, as the index does), and a whole ``match`` of a listing image
    against a registry of 36 images (every image undecided, so up to ``candidates`` are compared)."""
    data = _jpegs(pairs * 2, seed=5)
    hashes = [hash_image_bytes(d) for d in data]
    th = default_thresholds()
    listings = [h.thumb for h in hashes[:pairs]]
    refs = [h.thumb for h in hashes[pairs:]]
    grids = [reference_crop_grid(r) for r in refs]
    unmarked = [unmarked_views(r) for r in refs]  # cached per reference with the grid, as the index does
    prepared = [PreparedListing.of(t) for t in listings]
    out = {
        "prepare_ms": _per_item(PreparedListing.of, listings, repeat=2) * 1e3,
        "per_candidate_ms": _per_item(
            lambda i: second_stage(listings[i], refs[i], th, grids[i], prepared[i], unmarked[i]),
            range(pairs),
            repeat=2,
        )
        * 1e3,
        "crop_grid_ms": _per_item(reference_crop_grid, refs, repeat=2) * 1e3,
    }
    corpus = build_corpus()
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(corpus, Path(tmp))
        queries = [[ListingImage("u", None, h)] for h in hashes]
        for q in queries:  # warm the per-reference crop-grid cache, as a long crawl would
            index.match(q)
        out["match_ms"] = _per_item(index.match, queries, repeat=2) * 1e3
        out["registry_images"] = len(corpus.references)
    return out


def bench_lookup(sizes=(1_000, 10_000, 100_000), queries: int = 200) -> dict[int, float]:
    rng = np.random.default_rng(0)
    real = [hash_image_bytes(d) for d in _jpegs(20, seed=9)]
    out = {}
    for n in sizes:
        ph = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
        dh = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
        index = RegistryImageIndex.from_hashes(
            [(f"p{i}", f"images/{i}.jpg", int(ph[i]), int(dh[i])) for i in range(n)]
        )
        listing = []
        for i in range(queries):
            h = real[i % len(real)]
            # a random query with the variant hashes a real listing image carries
            listing.append(
                [ListingImage("u", None, replace(h, phash=hex64(int(rng.integers(0, 2**63))), thumb=None))]
            )
        out[n] = _per_item(index.match, listing) * 1e3
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=120)
    args = parser.parse_args(argv)
    print(f"nproc={os.cpu_count()}")
    h = bench_hashing(args.images)
    print(
        f"hashing {h['images']} JPEGs (~800 px): floor (full decode + resize) {h['floor_full_ms']:.2f} ms/image, "
        f"floor (draft decode + resize) {h['floor_draft_ms']:.2f} ms/image, first stage {h['hash_ms']:.2f} ms/image"
    )
    print(
        f"  ratio to full-decode floor {h['hash_ms'] / h['floor_full_ms']:.2f}x (goal <= 2x); "
        f"to draft-decode floor {h['hash_ms'] / h['floor_draft_ms']:.2f}x"
    )
    s2 = bench_second_stage()
    print(
        f"second stage: prepare the listing thumbnail {s2['prepare_ms']:.2f} ms (once per listing image), "
        f"compare with one candidate {s2['per_candidate_ms']:.2f} ms (crop grid cached; building it "
        f"{s2['crop_grid_ms']:.2f} ms once per registered image); at most {default_thresholds().candidates} "
        "candidates per listing image"
    )
    print(
        f"whole match of one listing image against {s2['registry_images']} registered images "
        f"(both stages): {s2['match_ms']:.2f} ms"
    )
    for n, ms in bench_lookup().items():
        goal = " (goal <= 2 ms)" if n == 100_000 else ""
        print(f"lookup, {n:>7,} reference hashes: {ms:.3f} ms per listing{goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
