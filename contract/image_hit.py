"""The best match of a listing's pictures against the registry's photos, and the one rule for reading it
back from JSON, the store or a CSV."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# A hit that does not say whether it is confident (an older listings.jsonl, a hand-made row) is trusted
# only when its hash is near-identical: the image matcher's own "match" threshold for a plain pHash.
CONFIDENT_DISTANCE = 6


@dataclass(frozen=True)
class ImageHit:
    """The best match of one listing image against the registry's registered images."""

    product_id: str  # registry product whose photo matched ("" for a logo-only hit)
    registered_image: str  # registry-relative path of the matched photo, e.g. images/trail_jacket_1.jpg
    listing_image_url: str  # the listing image that matched (its URL)
    listing_image_path: str | None  # path of that image relative to IMAGES_STORE, when downloaded
    distance: int  # Hamming distance of the deciding hash (64-bit hashes: 0..64)
    stage: str  # which stage decided: e.g. "phash", "phash+dhash", "mirror", "crop"
    confident: bool  # within the "match" threshold; False for a weaker "near" hit
    is_logo: bool = False  # matched a trademark logo rather than product photography

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Any) -> ImageHit | None:
        """An ``ImageHit`` from its dict form, or None when ``value`` is not a usable hit.

        Optional fields missing are filled in; a missing ``confident`` means ``distance <=
        CONFIDENT_DISTANCE``, everywhere (scorer, store, re-listing, reports)."""
        if value is None or isinstance(value, ImageHit):
            return value
        if not isinstance(value, dict) or (not value.get("registered_image") and not value.get("product_id")):
            return None
        try:
            distance = int(value.get("distance", 0))
        except (TypeError, ValueError):
            return None
        confident = value.get("confident")
        return cls(
            product_id=str(value.get("product_id") or ""),
            registered_image=str(value.get("registered_image") or ""),
            listing_image_url=str(value.get("listing_image_url") or ""),
            listing_image_path=value.get("listing_image_path"),
            distance=distance,
            stage=str(value.get("stage") or ""),
            confident=bool(confident) if confident is not None else distance <= CONFIDENT_DISTANCE,
            is_logo=bool(value.get("is_logo", False)),
        )


def is_confident(value: Any) -> bool:
    """Whether a hit (object or dict) is confident, by ``ImageHit.from_dict``'s one default."""
    hit = ImageHit.from_dict(value)
    return hit is not None and hit.confident


def confident_registered_image(value: Any) -> str | None:
    """The registered photo a hit (object or dict) matched, when the hit is confident; else None."""
    hit = ImageHit.from_dict(value)
    if hit is None or not hit.confident:
        return None
    return hit.registered_image or None
