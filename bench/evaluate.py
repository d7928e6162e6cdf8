"""Measure the scorer on a labelled set: ``python -m bench.evaluate fixtures/eval``.

The folder holds ``registry.yaml`` and ``listings.jsonl`` (docs/contract.md §4 fields, an optional ``image_hit``, and
``label``: {infringing: bool, ipr_id, category}). Printed: precision, recall and F1 of the ``infringing``
verdict overall and per category, the confusion table (label × verdict), how often the cited IPR is the
labelled one on true positives, authorized-seller listings flagged, the share of clean listings sent to review as
``suspect`` (not counting the categories where a human look is the right answer: ``REVIEW_CATEGORIES``), and
every miss, false flag and needless review with its explanation. It only reports; ``tests/test_eval.py`` holds
the targets.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from contract import Verdict
from matchers.score import Scorer
from registry import load_registry

VERDICTS = tuple(Verdict)
# Not-infringing categories where a human look is the right answer (the brand is named or shown, but a complaint
# could not be sure: a possible reseller, a weak photo resemblance, a photo without a copyright to cite, a mark
# that cannot be cited). Every other not-infringing listing is "clean": sending it to review is noise.
REVIEW_CATEGORIES = frozenset(
    {"brand_no_cue", "image_near", "photo_only_no_copyright", "not_citeable", "image_text_no_cue"}
)


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, flagged: bool) -> None:
        if truth and flagged:
            self.tp += 1
        elif flagged:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    overall: _Counts = field(default_factory=_Counts)
    per_category: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    confusion: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    ipr_right: int = 0
    authorized_flagged: int = 0
    authorized_total: int = 0
    mistakes: list[str] = field(default_factory=list)
    listings: int = 0
    clean_total: int = 0  # not infringing, not authorized, not a review category
    clean_to_review: int = 0  # of those, sent to review as suspect

    @property
    def review_share(self) -> float:
        return self.clean_to_review / self.clean_total if self.clean_total else 0.0

    @property
    def ipr_accuracy(self) -> float:
        return self.ipr_right / self.overall.tp if self.overall.tp else 1.0


def evaluate(folder: str | Path) -> Evaluation:
    folder = Path(folder)
    registry = load_registry(folder / "registry.yaml")
    scorer = Scorer(registry)
    ev = Evaluation()
    with (folder / "listings.jsonl").open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            label = row.pop("label")
            result = scorer.score(row, row.get("image_hit"))
            truth = bool(label["infringing"])
            flagged = result["verdict"] == Verdict.INFRINGING
            category = label.get("category", "")
            ev.listings += 1
            ev.overall.add(truth, flagged)
            ev.per_category[category].add(truth, flagged)
            truth_name = (
                "authorized" if category == "authorized" else ("infringing" if truth else "not infringing")
            )
            ev.confusion[truth_name][result["verdict"]] += 1
            if category == "authorized":
                ev.authorized_total += 1
                ev.authorized_flagged += flagged
            elif not truth and category not in REVIEW_CATEGORIES:
                ev.clean_total += 1
                if result["verdict"] == Verdict.SUSPECT:
                    ev.clean_to_review += 1
                    ev.mistakes.append(
                        f"line {line_no} sent to review [{category}]: {row['title']!r} — {result['explanation']}"
                    )
            if truth and flagged:
                if result["ipr_id"] == label.get("ipr_id"):
                    ev.ipr_right += 1
                else:
                    ev.mistakes.append(
                        f"line {line_no} wrong IPR {result['ipr_id']!r} (want {label.get('ipr_id')!r}): {row['title']}"
                    )
            elif truth != flagged:
                what = "missed" if truth else "false flag"
                ev.mistakes.append(
                    f"line {line_no} {what} [{category}] {result['verdict']}: {row['title']!r} — {result['explanation']}"
                )
    return ev


def report(ev: Evaluation) -> str:
    o = ev.overall
    lines = [
        f"listings: {ev.listings}",
        f"infringing: precision {o.precision:.3f}  recall {o.recall:.3f}  F1 {o.f1:.3f}  "
        f"(tp {o.tp}, fp {o.fp}, fn {o.fn}, tn {o.tn})",
        f"ipr_id right on true positives: {ev.ipr_accuracy:.3f} ({ev.ipr_right}/{o.tp})",
        f"authorized-seller listings flagged infringing: {ev.authorized_flagged} of {ev.authorized_total}",
        f"clean listings sent to review as suspect: {ev.review_share:.3f} ({ev.clean_to_review}/{ev.clean_total}; "
        f"review categories {', '.join(sorted(REVIEW_CATEGORIES))} not counted)",
        "",
        "per category:",
        f"  {'category':32} {'n':>4} {'prec':>6} {'recall':>6} {'F1':>6}  tp/fp/fn/tn",
    ]
    for cat in sorted(ev.per_category):
        c = ev.per_category[cat]
        n = c.tp + c.fp + c.fn + c.tn
        lines.append(
            f"  {cat:32} {n:>4} {c.precision:>6.3f} {c.recall:>6.3f} {c.f1:>6.3f}  {c.tp}/{c.fp}/{c.fn}/{c.tn}"
        )
    lines += ["", "confusion (label × verdict):", f"  {'':16}" + "".join(f"{v:>12}" for v in VERDICTS)]
    for truth in ("infringing", "not infringing", "authorized"):
        row = ev.confusion.get(truth, Counter())
        lines.append(f"  {truth:16}" + "".join(f"{row[v]:>12}" for v in VERDICTS))
    if ev.mistakes:
        lines += ["", "mistakes:"] + [f"  {m}" for m in ev.mistakes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = args[0] if args else "fixtures/eval"
    print(report(evaluate(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
