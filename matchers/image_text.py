"""Text read from a listing's pictures (OCR), as the image stage puts it on the listing.

``listing["image_text"]`` is a list of ``{"text": str, "box": [[x, y] x 4], "confidence": float,
"image": "<images[].path>"}``. The scorer runs each text through the same mark matcher as the title (hit kind
``in_image``), keeps the text, its box and its picture in the signals, and says it in the explanation ("the main
picture shows 'LUMORA'"). A reading below ``thresholds.image_text_confidence`` (``data/scoring.yaml``) is not
used: OCR guesses are cheap and a false mark costs a complaint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

IN_IMAGE = "in_image"


@dataclass(frozen=True)
class ShownText:
    text: str
    box: tuple[tuple[float, float], ...]
    confidence: float
    image: str  # images[].path of the picture it was read from

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "box": [list(p) for p in self.box],
            "confidence": self.confidence,
            "image": self.image,
        }


def read_image_text(value: Any, min_confidence: float) -> list[ShownText]:
    """The usable OCR readings of ``listing["image_text"]``; malformed entries and weak readings are left out."""
    if not isinstance(value, list):
        return []
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].strip():
            continue
        try:
            confidence = float(entry.get("confidence", 0.0))
            box = tuple((float(x), float(y)) for x, y in (entry.get("box") or []))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(confidence) or confidence < min_confidence:
            continue
        out.append(ShownText(entry["text"], box, confidence, str(entry.get("image") or "")))
    return out


def picture_name(listing: dict, image_path: str) -> str:
    """ "the main picture", "picture 3" or "a listing picture", for the picture an OCR text came from."""
    paths = [str(i.get("path") or "") for i in listing.get("images") or [] if isinstance(i, dict)]
    if image_path and image_path in paths:
        index = paths.index(image_path)
        return "the main picture" if index == 0 else f"picture {index + 1}"
    return "a listing picture"


def describe_box(box: tuple[tuple[float, float], ...]) -> str:
    """Where in the picture: the box's top-left and bottom-right corners in pixels."""
    if not box:
        return ""
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return f"at ({min(xs):.0f},{min(ys):.0f})-({max(xs):.0f},{max(ys):.0f})"
