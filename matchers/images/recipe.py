"""The image recipe's figures and match thresholds, read once from ``matchers/data/image_thresholds.json``.

The file has the match thresholds at its top level (:class:`Thresholds`) and the recipe's figures
(working sizes, trim, banner and watermark parameters, the second stage's crop grid and rotations)
in its ``recipe`` section (:class:`Recipe`). A value that is missing, unknown or of the wrong type
is a :class:`DataFileError` naming the file and the key, when the module is imported: a matcher with
a half-read recipe would hash differently from the disk cache it reads.

The figures change hashes: when one of them changes, bump ``RECIPE_VERSION`` (the disk cache of
registered images is keyed by it).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

RECIPE_VERSION = 2  # bump when anything in the recipe changes a hash; the disk cache is keyed by it

THRESHOLDS_FILE = Path(__file__).resolve().parent.parent / "data" / "image_thresholds.json"
RECIPE_SECTION = "recipe"

T = TypeVar("T")


class DataFileError(ValueError):
    """A data file of the matcher that cannot be used; the message names the file and the key."""


def _checked(value: Any, kind: Any, where: str) -> Any:
    """``value`` as the field type ``kind`` (int, float, or a tuple of one of them), or DataFileError."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if not isinstance(value, list) or not value:
            raise DataFileError(f"{where} must be a non-empty list of {item.__name__} values, not {value!r}")
        return tuple(_checked(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, int) else value
    name = "an integer" if kind is int else "a number"
    raise DataFileError(f"{where} must be {name}, not {value!r}")


def load_data_class(cls: type[T], path: Path, section: str | None = None, *, ignore: tuple[str, ...] = ()) -> T:
    """An instance of the frozen dataclass ``cls`` from the JSON object in ``path`` (or its ``section``).

    Keys starting with ``_`` are comments; keys in ``ignore`` belong to another reader. Every field
    must be present with its type; a key that is no field is refused too (a misspelt threshold would
    otherwise be silently ignored).
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: not valid JSON: {exc}") from exc
    prefix = f"{section}." if section else ""
    if section is not None:
        raw = raw.get(section) if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            raise DataFileError(f"{path}: key {section!r} is missing or not an object")
    if not isinstance(raw, dict):
        raise DataFileError(f"{path}: the file must hold a JSON object")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = [k for k in raw if not k.startswith("_") and k not in names and k not in ignore]
    if unknown:
        raise DataFileError(f"{path}: unknown key {prefix + unknown[0]!r}")
    values = {}
    for name in names:
        if name not in raw:
            raise DataFileError(f"{path}: key {prefix + name!r} is missing")
        values[name] = _checked(raw[name], hints[name], f"{path}: key {prefix + name!r}")
    return cls(**values)


@dataclass(frozen=True)
class Recipe:
    """How an image is decoded, trimmed and hashed; the ``recipe`` section of the thresholds file.

    Sizes are in pixels at ``work_side`` (trim) or ``thumb_side`` (watermark filter).
    """

    work_side: int  # decode/trim resolution (long side); pHash only needs 32x32
    thumb_side: int  # long side of the grey thumbnail kept for the second stage
    max_pixels: int  # header-checked cap: larger images are refused as possible decompression bombs
    trim_tolerance: int  # max per-channel difference from the border colour that still counts as border
    trim_min_content: float  # a row/column is content when this share of its pixels differs from the border
    trim_shave: int  # px shaved off a trimmed edge: the halo of the colour that was cut away
    trim_uniform_frame: float  # trim only when this share of the outermost frame is the border colour
    trim_min_keep: float  # never trim to less than this share of a side (a flat image stays as it is)
    trim_solid: int  # for the alternative trim, content thinner than this is ignored
    trim_solid_share: float  # ... i.e. content is where this share of a trim_solid^2 neighbourhood is content
    banner_band: float  # a price banner is looked for in the bottom (and top) share of the trimmed image
    banner_edge: float  # ... as a row where at least this share of the width changes sharply
    banner_step: int  # ... "sharply": by more than this in luma over two rows
    banner_strips: tuple[float, ...]  # second stage: bottom/top strips cut off, (first, stop, step)
    watermark_filter: int  # grey erosion/dilation that wipes out the strokes of tiled text
    watermark_aspect: float  # ... and the filtered, re-trimmed views must agree in aspect ratio this closely
    crop_keeps: tuple[float, ...]  # second stage: shares of a side a crop window keeps
    crop_step: float  # ... and the step of its offsets
    rotations: tuple[int, ...]  # second stage: degrees the listing is rotated back by
    stack_side: int  # small images hashed as one batch are first box-resized to this square


@dataclass(frozen=True)
class Thresholds:
    """Hamming-distance rules (64-bit hashes); the top level of ``data/image_thresholds.json``.

    First stage, whole image: a match when pHash <= strong_phash, or pHash <= match_phash and
    pHash + dHash <= match_sum. Collage quadrants: pHash <= quadrant_phash and sum <= quadrant_sum.
    Second stage (the ``candidates`` nearest references with pHash <= candidate_phash): an alignment
    with pHash <= stage2_phash, dHash <= stage2_dhash, sum <= stage2_sum and cross-correlation
    >= stage2_ncc. Watermark-filtered views (:func:`unmarked_views`): pHash <= watermark_phash,
    sum <= watermark_sum and cross-correlation >= watermark_ncc. A "near" (not confident) hit:
    pHash <= near_phash without a match.
    """

    strong_phash: int
    match_phash: int
    match_sum: int
    quadrant_phash: int
    quadrant_sum: int
    candidate_phash: int
    candidates: int
    stage2_phash: int
    stage2_dhash: int
    stage2_sum: int
    stage2_ncc: float
    near_phash: int
    watermark_phash: int
    watermark_sum: int
    watermark_ncc: float

    @classmethod
    def load(cls, path: Path = THRESHOLDS_FILE) -> Thresholds:
        return load_data_class(cls, path, ignore=(RECIPE_SECTION,))


def load_recipe(path: Path = THRESHOLDS_FILE) -> Recipe:
    return load_data_class(Recipe, path, RECIPE_SECTION)


@cache
def default_thresholds() -> Thresholds:
    return Thresholds.load()


RECIPE = load_recipe()

# The recipe's figures under the names the rest of the matcher (and its users) know them by.
WORK_SIDE = RECIPE.work_side
THUMB_SIDE = RECIPE.thumb_side
DEFAULT_MAX_PIXELS = RECIPE.max_pixels
TRIM_TOLERANCE = RECIPE.trim_tolerance
TRIM_MIN_CONTENT = RECIPE.trim_min_content
TRIM_SHAVE = RECIPE.trim_shave
TRIM_UNIFORM_FRAME = RECIPE.trim_uniform_frame
TRIM_MIN_KEEP = RECIPE.trim_min_keep
TRIM_SOLID = RECIPE.trim_solid
TRIM_SOLID_SHARE = RECIPE.trim_solid_share
BANNER_BAND = RECIPE.banner_band
BANNER_EDGE = RECIPE.banner_edge
BANNER_STEP = RECIPE.banner_step
WATERMARK_FILTER = RECIPE.watermark_filter
WATERMARK_ASPECT = RECIPE.watermark_aspect
