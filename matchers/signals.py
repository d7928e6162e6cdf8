"""Signals that one stage of the pipeline hands to the scorer.

The image stage (matchers.images / pipelines.images) produces an ``ImageHit`` per listing;
the scorer (matchers.score) consumes it. Keeping the type here lets either side change
without importing the other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ImageHit:
    """The best match of one listing image against the registry's registered images."""

    product_id: str  # registry product whose photo matched ("" for a logo-only hit)
    registered_image: (
        str  # registry-relative path of the matched registered image, e.g. images/trail_jacket_1.jpg
    )
    listing_image_url: str  # the listing image that matched (its URL)
    listing_image_path: str | None  # path of that image relative to IMAGES_STORE, when downloaded
    distance: int  # Hamming distance of the deciding hash (64-bit hashes: 0..64)
    stage: str  # which robust stage decided: e.g. "phash", "phash+dhash", "mirror", "crop"
    confident: bool  # True when the distance is within the "match" threshold, False for a weaker "near" hit
    is_logo: bool = False  # matched a trademark logo rather than product photography

    def as_dict(self) -> dict:
        return asdict(self)


# What each image stage (``ImageHit.stage``, from matchers.images) means, for reviewers.
IMAGE_STAGES = {
    "phash": "the whole picture",
    "phash+dhash": "the whole picture (pHash and dHash agree)",
    "mirror": "the picture mirrored",
    "banner": "the picture without its price banner",
    "collage": "one cell of a 2x2 collage",
    "crop": "a crop of the registered picture",
    "banner+crop": "a crop, with a banner laid over it",
    "rotation": "the picture rotated back a few degrees",
    "filtered": "with overlaid text (a tiled watermark) filtered away",
}
PLAIN_IMAGE_STAGES = frozenset({"phash", "phash+dhash"})  # nothing to explain beyond the distance


def describe_image_stage(stage: str) -> str:
    """A reviewer's reading of an image stage: ``"crop+mirror"`` -> "a crop of the registered picture,
    mirrored"; an unknown stage is returned as it is."""
    base, mirrored = (stage[: -len("+mirror")], True) if stage.endswith("+mirror") else (stage, False)
    text = IMAGE_STAGES.get(base, base)
    return f"{text}, mirrored" if mirrored else text
