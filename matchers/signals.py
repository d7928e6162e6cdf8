"""Signals that one stage of the pipeline hands to the scorer.

The image stage (matchers.images / pipelines.images) produces an ``ImageHit`` per listing (the type is
part of the data contract, ``contract.ImageHit``); the scorer (matchers.score) consumes it. What each image
stage means, for reviewers, is here.
"""

from __future__ import annotations

from contract import ImageHit

__all__ = ["IMAGE_STAGES", "PLAIN_IMAGE_STAGES", "ImageHit", "describe_image_stage"]

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
