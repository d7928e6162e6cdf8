"""Calibrate the local-feature stage's thresholds (``data/image_local_thresholds.json``) on its own draw.

    python -m bench.calibrate_local [--seed 31]

Builds a corpus like ``make eval-images`` but from another seed (the reported figures use seed 7), and
aligns every query with *every* registered photo under loose rules (not only the ``candidates`` the
index would try), so the figures are the worst case:

- positives: each registered photo under each harder disguise (:mod:`bench.disguises`);
- unrelated: other products' photos under the same disguises, the distractors (plain and in a grid,
  a frame or a sticker) and same-scene shots (another region of a registered photo's scene);
- pictures cut from the same source image share pixels and are counted apart.

It prints, for the committed rule, the recall per disguise and every unrelated pair the rule accepts,
and the unrelated pairs closest to passing.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import disguises
from bench.image_corpus import REFERENCE_SOURCES, build_corpus, encode_jpeg, source_of
from matchers import image_local


def _row(a: image_local.Alignment) -> str:
    return (f"inliers {a.inliers}/{a.good}, scale {a.scale:.2f}, rotation {a.rotation_deg:.0f}, spread {a.spread:.2f}, "
            f"inside {a.inside:.2f}, area {a.area_share:.3f}, ncc {a.ncc:.2f}, pHash {a.phash}")


def collect(seed: int) -> list[tuple[str, str, str, str, image_local.Alignment | None]]:
    """(kind, disguise, query product, registered product, alignment) for every pair."""
    corpus = build_corpus(seed=seed)
    loose = replace(image_local.default_local_thresholds(), min_good=5)
    rng = np.random.default_rng(seed + 100)
    rows: list = []
    with tempfile.TemporaryDirectory() as tmp:
        refs = []
        for pid, arr in corpus.references:
            path = Path(tmp) / f"{pid}.jpg"
            path.write_bytes(encode_jpeg(arr))
            refs.append((pid, image_local.reference_features(path)))

        def run(kind, name, qid, picture, against):
            listing = image_local.listing_features(encode_jpeg(picture, 90))
            for pid, ref in against:
                rows.append((kind, name, qid, pid, image_local.align(ref, listing, loose)))

        for name, fn in disguises.HARD_TRANSFORMS.items():
            for pid, arr in corpus.references:
                run("disguised", name, pid, fn(arr, rng, corpus), refs)
        wrappers = [("plain", None), ("3x3 grid", disguises.t_grid_3x3), ("patterned frame", disguises.t_frame),
                    ("corner sticker", disguises.t_sticker)]
        for did, arr in corpus.distractors:
            for name, fn in wrappers:
                run("distractor", name, did, arr if fn is None else fn(arr, rng, corpus), refs)
        for name, load in REFERENCE_SOURCES.items():
            scene, shots = disguises.same_scene(load(), rng, len(wrappers))
            path = Path(tmp) / f"{name}-scene.jpg"
            path.write_bytes(encode_jpeg(scene))
            ref = [(f"{name}-scene", image_local.reference_features(path))]
            for (wrap, fn), shot in zip(wrappers, shots, strict=True):
                run("same scene", wrap, f"{name}-scene", shot if fn is None else fn(shot, rng, corpus), ref)
    return rows


def report(rows: list, th: image_local.LocalThresholds) -> str:
    recall: dict[str, list[int]] = {}
    unrelated = shared = shared_ok = 0
    accepted_unrelated: list[str] = []
    closest: list[tuple[float, str]] = []
    for kind, name, qid, pid, a in rows:
        ok = a is not None and image_local.accepted(a, th)
        if kind == "disguised" and qid == pid:
            recall.setdefault(name, [0, 0])
            recall[name][0] += ok
            recall[name][1] += 1
            continue
        if kind != "same scene" and source_of(qid) == source_of(pid):
            shared += 1
            shared_ok += ok
            continue
        unrelated += 1
        label = f"{kind} / {name}: {qid} -> {pid}"
        if ok:
            accepted_unrelated.append(f"{label}: {_row(a)}")
        elif a is not None and a.inliers >= th.min_inliers:
            closest.append((a.ncc, f"{label}: {_row(a)}"))
    lines = ["| disguise | recall | n |", "|---|---|---|"]
    lines += [f"| {n} | {ok / total:.3f} | {total} |" for n, (ok, total) in recall.items()]
    lines += ["", f"unrelated pairs: {unrelated}; accepted: {len(accepted_unrelated)} "
                  f"({100 * len(accepted_unrelated) / max(unrelated, 1):.3f} %)"]
    lines += [f"  - {e}" for e in accepted_unrelated]
    lines += ["", "closest unrelated pairs with enough inliers (by correlation):"]
    lines += [f"  - {e}" for _, e in sorted(closest, reverse=True)[:10]]
    lines += ["", f"pairs cut from the same source image (share pixels): {shared}, accepted {shared_ok}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args(argv)
    print(report(collect(args.seed), image_local.default_local_thresholds()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
