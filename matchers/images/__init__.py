"""Does a listing photo come from the rights holder's official photography?

Copiers take the brand's photos and disguise them: resize and recompress, pad onto white or coloured
canvases, tile a watermark over them, add a price banner, crop, rotate a few degrees, mirror, or put
them in a 2x2 collage. This package turns an image into a few 64-bit hashes that survive those
disguises and looks them up against every registered product photo (and trademark logo).

The recipe and why. "Known" figures are the issue's measurements with plain imagehash; "measured"
ones come from ``python -m bench.evaluate_images`` (36 registered photos and white-background
product shots, 56 unrelated images; see ``bench/results/eval_images.md``):

1. **Safe decode.** Pillow only, from bytes. Zero-byte bodies, HTML/JSON/SVG served as ``image/jpeg``,
   unknown formats, truncated or corrupt files and images over a pixel cap (decompression bombs:
   checked from the header before any pixel is decoded, and Pillow's own bomb warning is an error)
   raise :class:`ImageError` naming the file/URL and what is wrong. Animated GIF/WebP: the first
   frame. CMYK, palette, alpha (composited on white), 16-bit grey PNGs (rescaled, not clipped to
   white) and EXIF rotation are normalised. JPEGs are decoded with libjpeg's DCT scaling (``draft``)
   to about ``WORK_SIDE`` px: the hashes only need 32x32.
2. **Trim near-uniform borders**, repeatedly (nested padding: a colour frame around a white canvas),
   shaving the one-pixel halo JPEG leaves along a cut. Known: plain pHash misses padding on white
   (median distance 29). Measured after trimming: padding on white 1.00, on colour 1.00. A photo
   padded onto a big canvas is decoded again at a size that keeps its content ~``WORK_SIDE`` px, and
   only the content (with a thin band of padding, trimmed again) is hashed at that size.
   Trimming also crops white-background shots to the product, which separates *different* products
   on white (known: aHash/dHash/wHash collide at 0-6 and pHash at 12 untrimmed; measured after
   trimming: the closest unrelated pair in 12,096 was pHash 14 with dHash 13, and no pHash <= 12).
   A second, watermark-proof trim (``alt``: thin strokes ignored, ``TRIM_SOLID``) is hashed too when
   it differs, because a watermark tiled over the white margin stops the plain trim.
3. **pHash + dHash**, 64 bits each, of the trimmed image (pHash as imagehash computes it, with area
   averaging; dHash likewise), as two float32 matrix products per image (area averaging and the 8 low
   DCT rows folded into one matrix per side, cached by size). A match: pHash <= ``strong_phash`` (8),
   or pHash <= ``match_phash`` (14) with pHash + dHash <= ``match_sum`` (22). dHash is the second vote: unrelated pairs reach
   pHash 14 but never with a small dHash (lowest sum 27, uncropped). Measured false matches: 1 in
   47,628 unrelated pairs (0.002 %): a crop of another product with the same bottle silhouette.
   Heavy tiled text over dark or low-contrast pictures defeats both (first stage alone: watermark
   recall 0.93); the second stage's filtered comparison (7) takes it to 0.98.
4. **Mirrored references** are indexed too (known: mirroring moves pHash to 32); measured recall 1.00.
5. **Banner cut**: the listing is hashed again without a price banner, cut at the strongest
   full-width horizontal edge in its bottom or top 40 % (known: big banners move pHash to 16).
6. **Collage quadrants**: the listing's four quadrants, each trimmed, are looked up with a stricter
   rule (pHash <= 10, sum <= 18): four extra lookups are four extra chances to collide. The split is
   at the centre of the whole canvas, where a 2x2 grid's gutters are: split at the centre of the
   trimmed content (cells with narrower pictures move it), recall was 0.51; measured now 0.82.
7. **Second stage, only for candidates** the first stage cannot decide: the ``candidates`` (8)
   nearest registered images (by the closest of the listing's variants, pHash <= 34). Known: crops of
   10-25 % move pHash to 12-22 and 5-degree rotations to 16. The listing's thumbnail is compared with
   729 crop windows of the registered image (keeping 72-97 % of each side; cached per image), its
   banner-cut thumbnail with the same windows (a banner laid over the photo hides part of it), its
   bottom/top cut by 8-30 % (every 2.5 %), and itself rotated back by 1..10 degrees either way,
   white fill trimmed, whole and central 80 %; and both thumbnails with thin strokes filtered away
   (below). A window agrees with pHash <= 10, dHash <= 12, sum <= 18
   and a normalised cross-correlation of the aligned 32x32 thumbnails >= 0.85 (unrelated pairs in
   the calibration never had pHash <= 10 with dHash <= 12; their best correlation was 0.90 only at
   distances > 30). Windows are hashed as a few matrix products (separable box filters and a DCT).
   Cost (``bench/results/images.md``): ~11 ms to prepare a listing thumbnail, 0.4 ms per candidate,
   ~3 ms once per registered image for its crop grid (cached); a whole match ~15 ms per listing image.
   Measured recall: crops 5-15 % 0.94, 20-25 % 0.64, rotations 2-8 degrees 0.87, banners 0.90.
   (``imagehash.crop_resistant_hash``, known: >= 1 segment matched on 55-86 % of 10-25 % crops at
   ~180 ms/image; the window search recalls more at a fraction of the cost.)
   **Filtered comparison, for tiled watermarks** (:func:`unmarked_views`): semi-transparent text only
   moves a pixel towards the text colour, in strokes thinner than ``WATERMARK_FILTER`` (5 px of the
   128 px thumbnail). A grey erosion (light text) and a dilation (dark text) of both thumbnails wipe
   the strokes out, a second trim then finds the product even when text covered the white margin,
   and the filtered views agree with pHash <= 14, sum <= 24, cross-correlation >= 0.8 and aspect
   ratios within 15 %. Calibrated on 288 watermarked copies against 36,792 unrelated pairs (every
   reference, not only the 8 candidates): the closest unrelated pair had sum 25 (pHash 12, dHash 13,
   correlation 0.92 would have passed at 27); none passes the rule. Measured watermark recall 0.981 on
   the evaluation (0.986 on a second, independent draw of 288 copies).

Thresholds and the recipe's figures are data: ``matchers/data/image_thresholds.json`` (see
:class:`Thresholds`, and :class:`Recipe` for its ``recipe`` section).

The components, in the order an image meets them: :mod:`~matchers.images.decode` (1),
:mod:`~matchers.images.trim` (2, 5), :mod:`~matchers.images.dct` and :mod:`~matchers.images.hashes`
(3, 6), :mod:`~matchers.images.stage2` (7), :mod:`~matchers.images.index` (4, the lookup) and
:mod:`~matchers.images.cache` (registered images' hashes on disk, by :mod:`~matchers.images.files`'
checksums); :mod:`~matchers.images.recipe` reads the data file. Each name below is loaded from its
component on first use.

Hashes are hex strings (16 hex digits per 64-bit hash), so they travel in JSON lines and the cache.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the component that defines it. Loaded on first use, so that importing one light component
# (``files`` for the evidence writers) does not load numpy, Pillow and scipy.
_COMPONENT_OF = {
    "DiskCache": "cache",
    "sha256_file": "files",
    "hamming": "dct",
    "hex64": "dct",
    "int64": "dct",
    "ImageError": "decode",
    "decode_image": "decode",
    "ImageHashes": "hashes",
    "hash_image_bytes": "hashes",
    "hash_image_file": "hashes",
    "hashes_of_rgb": "hashes",
    "ListingImage": "index",
    "RegistryImageIndex": "index",
    "relative_path": "index",
    "BANNER_BAND": "recipe",
    "BANNER_EDGE": "recipe",
    "BANNER_STEP": "recipe",
    "DEFAULT_MAX_PIXELS": "recipe",
    "RECIPE": "recipe",
    "RECIPE_VERSION": "recipe",
    "THRESHOLDS_FILE": "recipe",
    "THUMB_SIDE": "recipe",
    "TRIM_MIN_CONTENT": "recipe",
    "TRIM_MIN_KEEP": "recipe",
    "TRIM_SHAVE": "recipe",
    "TRIM_SOLID": "recipe",
    "TRIM_SOLID_SHARE": "recipe",
    "TRIM_TOLERANCE": "recipe",
    "TRIM_UNIFORM_FRAME": "recipe",
    "WATERMARK_ASPECT": "recipe",
    "WATERMARK_FILTER": "recipe",
    "WORK_SIDE": "recipe",
    "DataFileError": "recipe",
    "Recipe": "recipe",
    "Thresholds": "recipe",
    "default_thresholds": "recipe",
    "load_data_class": "recipe",
    "load_recipe": "recipe",
    "PreparedListing": "stage2",
    "Stage2Result": "stage2",
    "Unmarked": "stage2",
    "reference_crop_grid": "stage2",
    "second_stage": "stage2",
    "unmarked_views": "stage2",
    "trim_box": "trim",
}

__all__ = sorted(_COMPONENT_OF)


def __getattr__(name: str) -> Any:
    component = _COMPONENT_OF.get(name)
    if component is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{component}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
