"""Does a listing photo come from the rights holder's official photography?

Copiers take the brand's photos and disguise them: resize and recompress, pad onto white or coloured
canvases, tile a watermark over them, add a price banner, crop, rotate a few degrees, mirror, or put
them in a 2x2 collage. This module turns an image into a few 64-bit hashes that survive those
disguises and looks them up against every registered product photo (and trademark logo).

The recipe and why. "Known" figures are the issue's measurements with plain imagehash; "measured"
ones come from ``python -m matchers.evaluate_images`` (36 registered photos and white-background
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

Thresholds are data: ``matchers/data/image_thresholds.json`` (see :class:`Thresholds`).

Hashes are hex strings (16 hex digits per 64-bit hash), so they travel in JSON lines and the cache.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from threadpoolctl import ThreadpoolController

from matchers.signals import ImageHit

RECIPE_VERSION = 2  # bump when anything below changes a hash; the disk cache is keyed by it

WORK_SIDE = 256  # decode/trim resolution (long side); pHash only needs 32x32
THUMB_SIDE = 128  # long side of the grey thumbnail kept for the second stage
DEFAULT_MAX_PIXELS = 40_000_000  # header-checked cap: larger images are refused as possible bombs
TRIM_TOLERANCE = 32  # max per-channel difference from the border colour that still counts as border
TRIM_MIN_CONTENT = 0.02  # a row/column is content when this share of its pixels differs from the border
TRIM_SHAVE = 1  # px (at WORK_SIDE) shaved off a trimmed edge: the halo of the colour that was cut away
TRIM_UNIFORM_FRAME = 0.75  # trim only when this share of the outermost frame is the border colour
TRIM_MIN_KEEP = 0.08  # never trim to less than this share of a side (a flat image stays as it is)
TRIM_SOLID = 5  # px (at WORK_SIDE): for the alternative trim, content thinner than this is ignored
TRIM_SOLID_SHARE = 0.85  # ... i.e. content is where this share of a TRIM_SOLID^2 neighbourhood is content
BANNER_BAND = 0.4  # a price banner is looked for in the bottom (and top) 40 % of the trimmed image
BANNER_EDGE = 0.6  # ... as a row where at least this share of the width changes sharply
BANNER_STEP = 30  # ... "sharply": by more than this in luma over two rows
WATERMARK_FILTER = 5  # px (at THUMB_SIDE): grey erosion/dilation that wipes out the strokes of tiled text
WATERMARK_ASPECT = 0.15  # ... and the filtered, re-trimmed views must agree in aspect ratio within ~15 %

_THRESHOLDS_FILE = Path(__file__).parent / "data" / "image_thresholds.json"
_HTML_PREFIXES = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<?xml", b"<svg", b"{", b"[")


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread(fn):
    """Run ``fn`` with BLAS on one thread: the matrix products here are small, and a second OpenBLAS
    thread costs more than it saves (measured: first-stage CPU time 2.6 -> 1.7 ms an image). A crawl
    runs one Scrapy process per core anyway."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _blas().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


class ImageError(Exception):
    """An image that cannot be hashed; the message names the file/URL and what is wrong."""


@dataclass(frozen=True)
class Thresholds:
    """Hamming-distance rules (64-bit hashes); the values live in ``data/image_thresholds.json``.

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
    def load(cls, path: Path = _THRESHOLDS_FILE) -> Thresholds:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in raw.items() if not k.startswith("_")})


@cache
def default_thresholds() -> Thresholds:
    return Thresholds.load()


@dataclass(frozen=True)
class ImageHashes:
    """The hashes of one image. Everything but ``thumb`` serialises to JSON (``as_dict``)."""

    phash: str  # 16 hex digits, pHash of the border-trimmed image
    dhash: str  # 16 hex digits, dHash of the border-trimmed image
    quadrants: tuple[tuple[str, str], ...] = ()  # (phash, dhash) of each trimmed 2x2 quadrant
    alt: tuple[str, str] | None = None  # (phash, dhash) after the watermark-proof trim, when it differs
    banner_cuts: tuple[tuple[str, str], ...] = ()  # (phash, dhash) without a detected top/bottom banner
    width: int = 0  # size as stored (before trimming)
    height: int = 0
    trimmed: bool = False  # True when a uniform border was removed
    thumb: np.ndarray | None = field(default=None, repr=False, compare=False)  # grey, long side THUMB_SIDE

    def as_dict(self) -> dict[str, Any]:
        return {
            "phash": self.phash,
            "dhash": self.dhash,
            "quadrants": [list(q) for q in self.quadrants],
            "alt": list(self.alt) if self.alt else None,
            "banner_cuts": [list(c) for c in self.banner_cuts],
            "width": self.width,
            "height": self.height,
            "trimmed": self.trimmed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageHashes:
        return cls(
            phash=d["phash"],
            dhash=d["dhash"],
            quadrants=tuple((q[0], q[1]) for q in d.get("quadrants", ())),
            alt=(d["alt"][0], d["alt"][1]) if d.get("alt") else None,
            banner_cuts=tuple((c[0], c[1]) for c in d.get("banner_cuts", ())),
            width=int(d.get("width", 0)),
            height=int(d.get("height", 0)),
            trimmed=bool(d.get("trimmed", False)),
        )


# --------------------------------------------------------------------------------------------------
# Decoding


def _describe(source: str) -> str:
    return source or "<image bytes>"


def decode_image(
    data: bytes, *, source: str = "", max_pixels: int | None = None, side: int = WORK_SIDE
) -> Image.Image:
    """Decode ``data`` into an RGB image with long side at most ``side`` (never upscaled)."""
    where = _describe(source)
    if not data:
        raise ImageError(f"{where}: empty file (0 bytes), not an image")
    head = data[:256].lstrip().lower()
    if head.startswith(_HTML_PREFIXES):
        kind = "SVG/XML" if head.startswith((b"<?xml", b"<svg")) else "HTML or text"
        raise ImageError(f"{where}: not an image: the body is {kind} ({data[:40]!r}...)")
    cap = max_pixels or min(DEFAULT_MAX_PIXELS, Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageError(f"{where}: image has no pixels ({width}x{height})")
            if width * height > cap:
                raise ImageError(
                    f"{where}: {width}x{height} = {width * height:,} pixels is over the {cap:,}-pixel cap "
                    "(possible decompression bomb); not decoded"
                )
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated GIF/WebP/APNG: the first frame is the product shot
            img.draft("RGB", (side, side))  # JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{where}: refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{where}: not a recognised image format (first bytes {data[:12]!r})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            MemoryError, ZeroDivisionError) as exc:  # fmt: skip
        raise ImageError(f"{where}: corrupt or truncated image: {exc}") from exc
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.BOX)
    img.info["stored_size"] = (width, height)  # from the file header
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else float(max(arr.max(), 1.0))
        if mode in ("I", "F") and top <= 255:
            top = 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if mode != "RGB":
        return img.convert("RGB")
    return img


# --------------------------------------------------------------------------------------------------
# Trimming


def trim_box(rgb: np.ndarray, *, solid: bool = False) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the content inside a near-uniform border; whole image if none.

    ``rgb``: (height, width[, channels]). ``solid``: ignore thin content (strokes of a watermark tiled
    over the margin) when deciding.
    """
    return _trim_planar(_planar(rgb), solid=solid)


def _planar(rgb: np.ndarray) -> np.ndarray:
    """(channels, height, width) int16, contiguous: what :func:`_trim_planar` works on."""
    arr = rgb.reshape(rgb.shape[0], rgb.shape[1], rgb.shape[2] if rgb.ndim == 3 else 1)
    return np.ascontiguousarray(np.moveaxis(arr, 2, 0), dtype=np.int16)


def _median_rows(frame: np.ndarray) -> np.ndarray:
    """(c, n) -> (c, 1) int16: each row's median, rounded (``np.median`` without its overhead)."""
    n = frame.shape[1]
    part = np.partition(frame, ((n - 1) // 2, n // 2), axis=1)
    return np.rint((part[:, (n - 1) // 2] + part[:, n // 2].astype(np.float64)) / 2).astype(np.int16)[:, None]


def _uniform_border(planes: np.ndarray) -> np.ndarray | None:
    """The (c, 1) border colour when the outermost frame of ``planes`` is uniform (at least
    ``TRIM_UNIFORM_FRAME`` of it within ``TRIM_TOLERANCE`` of its median), else None."""
    frame = np.concatenate([planes[:, 0], planes[:, -1], planes[:, :, 0], planes[:, :, -1]], axis=1)  # (c, n)
    border = _median_rows(frame)
    near = np.all(np.abs(frame - border) <= TRIM_TOLERANCE, axis=0)
    return border if np.count_nonzero(near) >= TRIM_UNIFORM_FRAME * near.size else None


def _trim_planar(planes: np.ndarray, *, solid: bool = False) -> tuple[int, int, int, int]:
    """:func:`trim_box` on (channels, height, width) int16 planes (one contiguous plane per channel
    makes every step a fast whole-array operation)."""
    _, h, w = planes.shape
    top, bottom, left, right = 0, h, 0, w
    for _ in range(3):  # nested padding (colour frame on a white canvas) needs more than one pass
        sub = planes[:, top:bottom, left:right]
        sh, sw = sub.shape[1:]
        if sh < 4 or sw < 4:
            break
        # only trim when the frame really is uniform: most of it within tolerance of its median
        border = _uniform_border(sub)
        if border is None:
            break
        content = np.any(np.abs(sub - border[:, :, None]) > TRIM_TOLERANCE, axis=0)
        if solid:
            content = _solid(content)
        rows = np.flatnonzero(np.count_nonzero(content, axis=1) > TRIM_MIN_CONTENT * sw)
        cols = np.flatnonzero(np.count_nonzero(content, axis=0) > TRIM_MIN_CONTENT * sh)
        if rows.size == 0 or cols.size == 0:
            break
        t, b, lft, r = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        if (b - t) < TRIM_MIN_KEEP * sh or (r - lft) < TRIM_MIN_KEEP * sw:
            break
        if (t, b, lft, r) == (0, sh, 0, sw):
            break
        # shave the halo that resampling and JPEG chroma subsampling leave along a cut edge, so the next pass
        # sees the inner frame (a dark photo border inside white padding) as uniform
        t, lft = t + TRIM_SHAVE * (t > 0), lft + TRIM_SHAVE * (lft > 0)
        b, r = b - TRIM_SHAVE * (b < sh), r - TRIM_SHAVE * (r < sw)
        top, bottom, left, right = top + t, top + b, left + lft, left + r
    return top, bottom, left, right


def _solid(content: np.ndarray) -> np.ndarray:
    """Keep only solid content: pixels whose TRIM_SOLID x TRIM_SOLID neighbourhood is mostly content.

    Thin strokes (a watermark tiled over the white margin, thin text, JPEG ringing) vanish, so they
    do not stop the margin from being trimmed; a product or photo is solid and stays.
    """
    k = TRIM_SOLID
    if min(content.shape) <= 2 * k:
        return content
    c = content.view(np.uint8)
    h, w = c.shape
    rows = c[:, : w - k + 1].copy()  # box sums as k shifted adds (uint8: k * k <= 255)
    for i in range(1, k):
        rows += c[:, i : w - k + 1 + i]
    dens = rows[: h - k + 1].copy()
    for i in range(1, k):
        dens += rows[i : h - k + 1 + i]
    out = np.zeros_like(content)
    off = k // 2
    out[off : off + dens.shape[0], off : off + dens.shape[1]] = dens >= int(TRIM_SOLID_SHARE * k * k)
    return out


def _trim(rgb: np.ndarray, *, solid: bool = False) -> tuple[np.ndarray, bool]:
    t, b, lft, r = trim_box(rgb, solid=solid)
    trimmed = (t, b, lft, r) != (0, rgb.shape[0], 0, rgb.shape[1])
    return rgb[t:b, lft:r], trimmed


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow's convert("L")


def _grey(rgb: np.ndarray) -> np.ndarray:
    """Luma of an (..., 3) array, float32 (float64 for float64 input)."""
    return rgb @ _LUMA if rgb.dtype != np.float64 else rgb @ _LUMA.astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Hashing: area-averaged windows as matrix products, batched DCT
#
# Resizing a window [y0, y1) x [x0, x1) of a grey image G to n x m cells by area averaging is
# Ry @ G @ Rx.T, with Ry (n x H) and Rx (m x W) "box matrices"; the 8x8 low DCT block of the 32x32
# result is (D @ Ry) @ G @ (D @ Rx).T. Many windows share their row and column ranges, so the second
# stage hashes a few hundred windows of a thumbnail for the price of a few dozen small matmuls.


def _dct_matrix(n: int = 32, keep: int = 8) -> np.ndarray:
    k = np.arange(keep)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))  # scipy.fftpack.dct type II, unnormalised


_DCT = _dct_matrix()


def _box_matrices(ranges: Sequence[tuple[float, float]], size: int, cells: int) -> np.ndarray:
    """(len(ranges), cells, size): row k of matrix i averages pixels [a + k*step, a + (k+1)*step) of
    range i = (a, b), with fractional pixels at the edges (exact area averaging)."""
    r = np.asarray(ranges, dtype=np.float64).reshape(-1, 2)
    edges = r[:, :1] + (r[:, 1:] - r[:, :1]) * np.linspace(0.0, 1.0, cells + 1)[None, :]  # (n, cells+1)
    cover = np.clip(edges[:, :, None] - np.arange(size)[None, None, :], 0.0, 1.0)
    weights = cover[:, 1:] - cover[:, :-1]
    return weights / np.maximum(weights.sum(axis=2, keepdims=True), 1e-9)


def _pack(bits: np.ndarray) -> np.ndarray:
    """(..., 64) bools -> (...) uint64, first bit most significant (imagehash's hex order)."""
    return np.packbits(bits, axis=-1).view(">u8")[..., 0].astype(np.uint64)


def _above_median(flat: np.ndarray) -> np.ndarray:
    """(..., 64) -> bools: above the median of the last axis (as ``np.median``, without its overhead)."""
    part = np.partition(flat, (31, 32), axis=-1)
    return flat > (part[..., 31:32] + part[..., 32:33]) * 0.5


Ranges = Sequence[tuple[float, float]]


def _grid_hashes(grey: np.ndarray, y_ranges: Ranges, x_ranges: Ranges) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash (uint64, shape (len(y_ranges), len(x_ranges))) of every window of ``grey``."""
    h, w = grey.shape
    ny, nx = len(y_ranges), len(x_ranges)
    py = _DCT @ _box_matrices(y_ranges, h, 32)  # (ny, 8, H)
    px = _DCT @ _box_matrices(x_ranges, w, 32)  # (nx, 8, W)
    dct = ((py @ grey).reshape(ny * 8, w) @ px.reshape(nx * 8, w).T).reshape(ny, 8, nx, 8)
    flat = dct.transpose(0, 2, 1, 3).reshape(ny, nx, 64)
    phash = _pack(_above_median(flat))
    dy = _box_matrices(y_ranges, h, 8)  # (ny, 8, H)
    dx = _box_matrices(x_ranges, w, 9)  # (nx, 9, W)
    d = ((dy @ grey).reshape(ny * 8, w) @ dx.reshape(nx * 9, w).T).reshape(ny, 8, nx, 9).transpose(0, 2, 1, 3)
    dhash = _pack((d[..., 1:] > d[..., :-1]).reshape(ny, nx, 64))
    return phash, dhash


def _small(grey: np.ndarray, y: tuple[float, float], x: tuple[float, float]) -> np.ndarray:
    """The 32x32 area-averaged window, for the cross-correlation vote."""
    h, w = grey.shape
    return _box_matrices([y], h, 32)[0] @ grey @ _box_matrices([x], w, 32)[0].T


_STACK_SIDE = 64
_STACK_BOX32 = _box_matrices([(0.0, float(_STACK_SIDE))], _STACK_SIDE, 32)[0]
_STACK_BOX8 = _box_matrices([(0.0, float(_STACK_SIDE))], _STACK_SIDE, 8)[0]
_STACK_BOX9 = _box_matrices([(0.0, float(_STACK_SIDE))], _STACK_SIDE, 9)[0]


def _stack_hashes(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pHash, dHash and 32x32 thumbnails of many small grey images at once (each first box-resized
    to 64x64 by Pillow, then hashed as one batch)."""
    stack = np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(p, dtype=np.float32), "F").resize(
                    (_STACK_SIDE, _STACK_SIDE), Image.Resampling.BOX
                )
            )
            for p in parts
        ]
    ).astype(np.float64)
    small = _STACK_BOX32 @ stack @ _STACK_BOX32.T  # (k, 32, 32)
    flat = (_DCT @ small @ _DCT.T).reshape(len(parts), 64)
    phash = _pack(_above_median(flat))
    d = _STACK_BOX8 @ stack @ _STACK_BOX9.T  # (k, 8, 9)
    dhash = _pack((d[:, :, 1:] > d[:, :, :-1]).reshape(len(parts), 64))
    return phash, dhash, small


def _grid_whole(grey: np.ndarray) -> tuple[int, int]:
    """Whole-image hashes computed exactly like :func:`_grid_hashes` windows (the second stage
    compares them with windows; dHash bits flip with tiny resampling differences)."""
    p, d = _grid_hashes(grey, [(0.0, float(grey.shape[0]))], [(0.0, float(grey.shape[1]))])
    return int(p[0, 0]), int(d[0, 0])


@lru_cache(maxsize=2048)
def _whole_rows(size: int) -> np.ndarray:
    """(16, size): rows 0-7 average ``size`` rows into 32 and take the 8 low DCT rows (pHash); rows
    8-15 average them into 8 (dHash)."""
    whole = [(0.0, float(size))]
    rows = np.vstack([_DCT @ _box_matrices(whole, size, 32)[0], _box_matrices(whole, size, 8)[0]])
    return np.ascontiguousarray(rows, dtype=np.float32)


@lru_cache(maxsize=2048)
def _whole_cols(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, 8) and (size, 9): the same for columns (8 low DCT columns of 32; 9 averages for dHash)."""
    whole = [(0.0, float(size))]
    dct = np.ascontiguousarray((_DCT @ _box_matrices(whole, size, 32)[0]).T, dtype=np.float32)
    return dct, np.ascontiguousarray(_box_matrices(whole, size, 9)[0].T, dtype=np.float32)


def _whole_hashes(grey: np.ndarray) -> tuple[int, int]:
    """pHash and dHash of a whole grey image: area averaging to 32x32 (9x8) and the DCT as two
    matrix products (the windows of :func:`_grid_hashes`, one window, in float32)."""
    h, w = grey.shape
    rows = _whole_rows(h) @ np.asarray(grey, dtype=np.float32)  # (16, w)
    dct_cols, d_cols = _whole_cols(w)
    flat = (rows[:8] @ dct_cols).reshape(1, 64)
    d = rows[8:] @ d_cols  # (8, 9)
    phash = _pack(_above_median(flat))
    dhash = _pack((d[:, 1:] > d[:, :-1]).reshape(1, 64))
    return int(phash[0]), int(dhash[0])


def hex64(value: int | np.integer) -> str:
    return f"{int(value):016x}"


def int64(hex_value: str) -> int:
    return int(hex_value, 16)


def _thumb(grey: np.ndarray) -> np.ndarray:
    img = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    if max(img.size) > THUMB_SIDE:
        img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    return np.asarray(img)


def _banner_cuts(rgb: np.ndarray, grey: np.ndarray | None = None) -> list[np.ndarray]:
    """The image without a price banner: cut at the strongest full-width horizontal edge (in
    luma, ``grey`` if given) in the bottom or top ``BANNER_BAND`` of the height, then trimmed
    again. Empty when there is none."""
    h, w = rgb.shape[:2]
    if h < 24:
        return []
    if grey is None:
        grey = rgb[:, :, 0] if rgb.ndim == 3 and rgb.shape[2] == 1 else _grey(rgb)
    grey = np.asarray(grey, dtype=np.float32)

    def strongest_edge(lo: int, hi: int) -> int | None:
        """The row y in [lo, hi) where the largest share of the width changes between y and y+2."""
        if hi <= lo:
            return None
        step = np.abs(grey[lo + 2 : hi + 2] - grey[lo:hi]) > BANNER_STEP
        edge = np.count_nonzero(step, axis=1)
        y = int(np.argmax(edge))
        return lo + y if edge[y] >= BANNER_EDGE * w else None

    cuts = []
    y = strongest_edge(int(h * (1 - BANNER_BAND)), int(h * 0.93))
    if y is not None:
        cuts.append(rgb[: y + 1])
    y = strongest_edge(int(h * 0.07), int(h * BANNER_BAND))
    if y is not None:
        cuts.append(rgb[y + 2 :])
    return [_trim(c)[0] for c in cuts if min(c.shape[:2]) >= 8]


def hashes_of_rgb(
    rgb: np.ndarray, box: tuple[int, int, int, int] | None = None, planes: np.ndarray | None = None
) -> ImageHashes:
    """Hash an RGB uint8 array (already decoded); ``box``: its trim box, and ``planes``: its
    :func:`_planar` form, when already known."""
    h, w = rgb.shape[:2]
    planes = _planar(rgb) if planes is None else planes  # every trim below works on these
    box = box or _trim_planar(planes)
    t, b, lft, r = box
    trimmed_rgb = rgb[t:b, lft:r]
    grey_all = _grey(rgb)
    grey = grey_all[t:b, lft:r]
    ph, dh = _whole_hashes(grey)

    def hex_pair(part: np.ndarray) -> tuple[str, str]:
        p_, d_ = _whole_hashes(_grey(part))
        return hex64(p_), hex64(d_)

    def hex_pair_of_box(y0: int, y1: int, x0: int, x1: int) -> tuple[str, str]:
        p_, d_ = _whole_hashes(grey_all[y0:y1, x0:x1])
        return hex64(p_), hex64(d_)

    quads = []
    th, tw = trimmed_rgb.shape[:2]
    if th >= 16 and tw >= 16:
        for qy in (0, 1):
            for qx in (0, 1):
                y0, x0 = qy * h // 2, qx * w // 2
                y1, x1 = (qy + 1) * h // 2, (qx + 1) * w // 2
                qt, qb, ql, qr = _trim_planar(planes[:, y0:y1, x0:x1])
                quads.append(hex_pair_of_box(y0 + qt, y0 + qb, x0 + ql, x0 + qr))
    alt = None
    # the watermark-proof trim can only differ when the outer frame is uniform
    solid_box = _trim_planar(planes, solid=True) if box != (0, h, 0, w) or _uniform_border(planes) is not None else box
    if solid_box != box:
        pair = hex_pair_of_box(*solid_box)
        if pair != (hex64(ph), hex64(dh)):
            alt = pair
    return ImageHashes(
        phash=hex64(ph),
        dhash=hex64(dh),
        quadrants=tuple(quads),
        alt=alt,
        banner_cuts=tuple(hex_pair(c) for c in _banner_cuts(trimmed_rgb, grey)),
        width=w,
        height=h,
        trimmed=box != (0, h, 0, w),
        thumb=_thumb(grey),
    )


@_one_blas_thread
def hash_image_bytes(data: bytes, *, source: str = "", max_pixels: int | None = None) -> ImageHashes:
    """Hash an encoded image. Raises :class:`ImageError` (naming ``source``) when it cannot."""
    img = decode_image(data, source=source, max_pixels=max_pixels)
    rgb = np.asarray(img)
    # a photo padded onto a big canvas is small at WORK_SIDE: decode again at a size that gives its
    # content about WORK_SIDE pixels (when the file has them), so it is hashed as sharp as the original
    planes = _planar(rgb)
    t, b, lft, r = _trim_planar(planes)
    content = max(b - t, r - lft)
    stored_long = max(img.info.get("stored_size", img.size))
    if content < 0.5 * WORK_SIDE and stored_long > 1.2 * max(img.size):
        side = round(max(img.size) * min(WORK_SIDE / max(content, 1), stored_long / max(img.size), 4.0))
        big = np.asarray(decode_image(data, source=source, max_pixels=max_pixels, side=side))
        # only the content (and a thin band of its padding, to be trimmed again) is worth hashing at
        # the larger size: hashing the whole canvas there cost 6x an ordinary image
        sy, sx = big.shape[0] / rgb.shape[0], big.shape[1] / rgb.shape[1]
        pad = max(4, round(3 * max(sy, sx)))
        y0, y1 = max(0, round(t * sy) - pad), min(big.shape[0], round(b * sy) + pad)
        x0, x1 = max(0, round(lft * sx) - pad), min(big.shape[1], round(r * sx) + pad)
        rgb = big[y0:y1, x0:x1]
        planes = _planar(rgb)
        t, b, lft, r = _trim_planar(planes)
    hashes = hashes_of_rgb(rgb, (t, b, lft, r), planes)
    width, height = img.info.get("stored_size", img.size)  # the size as stored, not as draft-decoded
    return replace(hashes, width=width, height=height)


def hash_image_file(path: str | Path, *, max_pixels: int | None = None) -> ImageHashes:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return hash_image_bytes(data, source=str(path), max_pixels=max_pixels)


def hamming(a: str, b: str) -> int:
    return (int64(a) ^ int64(b)).bit_count()


# --------------------------------------------------------------------------------------------------
# Second stage: window search on candidates


_CROP_KEEPS = (0.97, 0.92, 0.87, 0.82, 0.77, 0.72)
_CROP_STEP = 0.05


def _crop_ranges(size: int) -> list[tuple[float, float]]:
    """Ranges of one side a 3-28 % crop of it could have kept (every ``_CROP_STEP`` of offset)."""
    out = []
    for keep in _CROP_KEEPS:
        steps = max(1, round((1 - keep) / _CROP_STEP))
        for off in np.linspace(0.0, 1.0 - keep, steps + 1):
            out.append((off * size, (off + keep) * size))
    return out


def _banner_ranges(size: int) -> list[tuple[float, float]]:
    """Row ranges without a bottom or top strip (banner) of 8-30 % of the height."""
    out = []
    for cut in np.arange(0.08, 0.31, 0.025):  # 2.5 % steps: pHash tolerates ~2 % misplacement
        out.append((0.0, (1 - cut) * size))
        out.append((cut * size, float(size)))
    return out


_ROTATIONS = (-10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


def _derotated(grey: np.ndarray) -> list[np.ndarray]:
    """The listing thumbnail rotated back by each of ``_ROTATIONS``, white-filled, then trimmed."""
    img = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    out = []
    for angle in _ROTATIONS:
        rot = img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
        arr = np.asarray(rot)
        t, b, lft, r = trim_box(arr[:, :, None])
        out.append(arr[t:b, lft:r].astype(np.float64))
    return out


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-9))


@dataclass(frozen=True)
class Stage2Result:
    phash: int  # pHash distance of the best alignment
    dhash: int
    ncc: float  # cross-correlation of the aligned 32x32 thumbnails
    stage: str  # "crop", "banner", "banner+crop", "rotation" or "filtered" (watermark strokes filtered away)


@_one_blas_thread
def reference_crop_grid(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash of every crop window of a reference thumbnail (cacheable per reference)."""
    reference = reference.astype(np.float64)
    return _grid_hashes(reference, _crop_ranges(reference.shape[0]), _crop_ranges(reference.shape[1]))


def _centre(a: np.ndarray) -> np.ndarray:
    h, w = a.shape
    return a[round(0.1 * h) : round(0.9 * h), round(0.1 * w) : round(0.9 * w)]


@dataclass(frozen=True)
class Unmarked:
    """A thumbnail with thin bright (or dark) strokes filtered away, re-trimmed and hashed."""

    phash: int
    dhash: int
    small: np.ndarray  # 32x32, for the cross-correlation vote
    aspect: float  # width / height after the re-trim


def unmarked_views(thumb: np.ndarray) -> tuple[Unmarked | None, Unmarked | None]:
    """The thumbnail without a tiled watermark: grey erosion (``min``: white or light text on a darker
    picture) and dilation (``max``: grey text on a light picture or margin), ``WATERMARK_FILTER`` px
    square, each trimmed again (the text on a white margin is gone, so the trim finds the product).

    Semi-transparent text only ever moves a pixel towards its own colour, and its strokes are thinner
    than the filter; the picture's own shapes are mostly larger, so both sides filtered alike agree.
    """
    u8 = np.clip(thumb, 0, 255).astype(np.uint8)
    out: list[Unmarked | None] = []
    for filt in (ndimage.minimum_filter, ndimage.maximum_filter):
        f = filt(u8, size=WATERMARK_FILTER, mode="nearest")
        t, b, lft, r = trim_box(f[:, :, None])
        f = f[t:b, lft:r].astype(np.float64)
        if min(f.shape) < 8:
            out.append(None)
            continue
        p, d = _grid_whole(f)
        h, w = f.shape
        out.append(Unmarked(p, d, _small(f, (0.0, float(h)), (0.0, float(w))), w / h))
    return out[0], out[1]


@dataclass
class PreparedListing:
    """Everything the second stage derives from the listing thumbnail alone, computed once per listing
    image and reused for each candidate reference."""

    phash: int
    dhash: int
    small: np.ndarray  # 32x32
    cuts: list[tuple[int, int, np.ndarray]]  # banner-cut thumbnails: (phash, dhash, 32x32)
    banner: tuple[np.ndarray, np.ndarray, np.ndarray]  # bottom/top cuts 8-30 %: phash, dhash, smalls
    rotation: tuple[np.ndarray, np.ndarray, np.ndarray]  # rotated back, (whole, centre) interleaved
    unmarked: tuple[Unmarked | None, Unmarked | None] = (None, None)  # watermark filtered away (min, max)

    @classmethod
    @_one_blas_thread
    def of(cls, listing: np.ndarray) -> PreparedListing:
        listing_u8 = np.clip(listing, 0, 255).astype(np.uint8)
        grey = listing.astype(np.float64)
        lh, lw = grey.shape
        lp, ld = _grid_whole(grey)
        cuts = []
        for cut in _banner_cuts(listing_u8[:, :, None]):
            cut = cut[:, :, 0].astype(np.float64)
            cp_, cd_ = _grid_whole(cut)
            cuts.append((cp_, cd_, _small(cut, (0.0, float(cut.shape[0])), (0.0, float(cut.shape[1])))))
        parts = []
        for y0, y1 in _banner_ranges(lh):
            part = grey[round(y0) : round(y1)]
            t, b, lft, r = trim_box(part[:, :, None])
            parts.append(part[t:b, lft:r])
        rots = _derotated(grey)
        return cls(
            lp,
            ld,
            _small(grey, (0.0, float(lh)), (0.0, float(lw))),
            cuts,
            _stack_hashes(parts),
            _stack_hashes([part for a in rots for part in (a, _centre(a))]),
            unmarked_views(listing_u8),
        )


@_one_blas_thread
def second_stage(
    listing: np.ndarray,
    reference: np.ndarray,
    thresholds: Thresholds,
    crop_grid: tuple[np.ndarray, np.ndarray] | None = None,
    prepared: PreparedListing | None = None,
    reference_unmarked: tuple[Unmarked | None, Unmarked | None] | None = None,
) -> Stage2Result | None:
    """Best agreeing alignment (crop | banner | rotation | filtered) of two grey thumbnails, or None.

    An alignment agrees when its pHash and dHash distances are within ``stage2_phash`` and
    ``stage2_dhash`` and the cross-correlation of the aligned 32x32 thumbnails is >= ``stage2_ncc``;
    the watermark-filtered views by the ``watermark_*`` thresholds. ``crop_grid``
    (:func:`reference_crop_grid`), ``prepared`` (:class:`PreparedListing`) and ``reference_unmarked``
    (:func:`unmarked_views` of the reference) may be passed in when cached.
    """
    pl = prepared or PreparedListing.of(listing)
    reference = reference.astype(np.float64)
    rh, rw = reference.shape
    best: Stage2Result | None = None

    def consider(ph, dh, target_p, target_d, small_of, stage):
        nonlocal best
        dp = np.bitwise_count(ph ^ np.uint64(target_p)).astype(np.int64)
        dd = np.bitwise_count(dh ^ np.uint64(target_d)).astype(np.int64)
        ok = (
            (dp <= thresholds.stage2_phash)
            & (dd <= thresholds.stage2_dhash)
            & (dp + dd <= thresholds.stage2_sum)
        )
        for flat in np.flatnonzero(ok.ravel())[np.argsort((dp + dd).ravel()[ok.ravel()], kind="stable")][:3]:
            idx = np.unravel_index(flat, dp.shape)
            a, b = small_of(idx)
            ncc = _ncc(a, b)
            if ncc < thresholds.stage2_ncc:
                continue
            cand = Stage2Result(int(dp[idx]), int(dd[idx]), ncc, stage)
            if best is None or (cand.phash + cand.dhash) < (best.phash + best.dhash):
                best = cand
            break

    # crops: the listing is a sub-window of the reference
    ys, xs = _crop_ranges(rh), _crop_ranges(rw)
    cp, cd = crop_grid if crop_grid is not None else reference_crop_grid(reference)

    def window(i):
        return _small(reference, ys[i[0]], xs[i[1]])

    consider(cp, cd, pl.phash, pl.dhash, lambda i: (pl.small, window(i)), "crop")
    # a banner laid over the bottom hides part of the product: the rest is a crop of the reference
    for cut_p, cut_d, cut_small in pl.cuts:
        consider(cp, cd, cut_p, cut_d, lambda i, s=cut_small: (s, window(i)), "banner+crop")
    # banners and rotations compare whole (re-trimmed) images, hashed as one stack
    ref_p, ref_d, ref_s = _stack_hashes([reference, _centre(reference)])
    # banners: the reference is the listing minus a strip at its top or bottom (trimmed again: on a
    # white-background shot the strip's removal uncovers margin)
    bp, bd, bs = pl.banner
    consider(bp, bd, ref_p[0], ref_d[0], lambda i: (ref_s[0], bs[i[0]]), "banner")
    # rotations: the listing rotated back with its white fill trimmed; whole images, and their
    # central 80 % (a rotation that kept the canvas cut the corners off)
    rot_p, rot_d, rot_s = pl.rotation
    for k in (0, 1):
        consider(
            rot_p[k::2],
            rot_d[k::2],
            ref_p[k],
            ref_d[k],
            lambda i, k=k: (ref_s[k], rot_s[k::2][i[0]]),
            "rotation",
        )
    # a tiled watermark: both filtered alike (min: light text, max: dark text), whole images
    ref_um = reference_unmarked if reference_unmarked is not None else unmarked_views(reference)
    for lu, ru in zip(pl.unmarked, ref_um, strict=True):
        if lu is None or ru is None or abs(np.log(lu.aspect / ru.aspect)) > WATERMARK_ASPECT:
            continue
        dp, dd = (lu.phash ^ ru.phash).bit_count(), (lu.dhash ^ ru.dhash).bit_count()
        if dp > thresholds.watermark_phash or dp + dd > thresholds.watermark_sum:
            continue
        ncc = _ncc(lu.small, ru.small)
        if ncc >= thresholds.watermark_ncc and (best is None or dp + dd < best.phash + best.dhash):
            best = Stage2Result(dp, dd, ncc, "filtered")
    return best


# --------------------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True)
class ListingImage:
    """One listing image handed to :meth:`RegistryImageIndex.match`.

    ``hashes.thumb`` is what the second stage needs; when it is missing (hashes read back from JSON)
    ``source`` (the bytes, or a path to the file) is decoded again, only if a candidate needs it.
    """

    url: str
    path: str | None  # relative to IMAGES_STORE, when downloaded
    hashes: ImageHashes
    source: bytes | str | Path | None = None


@dataclass(frozen=True)
class _Entry:
    product_id: str
    registered_image: str  # registry-relative path
    is_logo: bool
    mirrored: bool
    thumb_key: int  # index into _thumbs (the un-mirrored thumbnail)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _DiskCache:
    """Reference hashes and thumbnails by file sha256 (and recipe version), one JSON file each."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.hits = 0
        self.misses = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def _file(self, sha: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{sha}.v{RECIPE_VERSION}.json"

    def get(self, sha: str) -> ImageHashes | None:
        if self.directory is None:
            return None
        path = self._file(sha)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            thumb = np.frombuffer(base64.b64decode(raw["thumb"]), dtype=np.uint8).reshape(raw["thumb_shape"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged entry: hash again
        self.hits += 1
        return replace(ImageHashes.from_dict(raw), thumb=thumb)

    def put(self, sha: str, hashes: ImageHashes) -> None:
        self.misses += 1
        if self.directory is None or hashes.thumb is None:
            return
        raw = hashes.as_dict()
        raw["thumb"] = base64.b64encode(np.ascontiguousarray(hashes.thumb).tobytes()).decode("ascii")
        raw["thumb_shape"] = list(hashes.thumb.shape)
        tmp = self._file(sha).with_suffix(".tmp")
        tmp.write_text(json.dumps(raw), encoding="utf-8")
        tmp.replace(self._file(sha))


class RegistryImageIndex:
    """Every registered product image (and trademark logo), plain and mirrored, ready for lookup."""

    def __init__(self, thresholds: Thresholds | None = None):
        self.thresholds = thresholds or default_thresholds()
        self._entries: list[_Entry] = []
        self._thumbs: list[np.ndarray] = []
        # per (thumbnail, mirrored): the crop grid and the watermark-filtered views, filled on demand
        self._crop_grids: dict[tuple[int, bool], tuple[tuple[np.ndarray, np.ndarray], tuple]] = {}
        self._phash = np.zeros(0, dtype=np.uint64)
        self._dhash = np.zeros(0, dtype=np.uint64)
        self.errors: list[str] = []
        self.cache_hits = 0
        self.cache_misses = 0
        self.sources: list[tuple[str, str, Path, bool]] = []  # (product, image, file, is_logo): local stage

    def __len__(self) -> int:
        return len(self._entries)

    # ---- building

    @classmethod
    def from_images(
        cls,
        entries: Iterable[tuple[str, str | Path]] | Iterable[tuple[str, str | Path, str]],
        cache_dir: Path | None = None,
        *,
        base_dir: Path | None = None,
        logos: Iterable[str | Path] = (),
        thresholds: Thresholds | None = None,
    ) -> RegistryImageIndex:
        """Index ``(product_id, path)`` pairs (paths absolute or relative to the cwd).

        ``registered_image`` in hits is the path relative to ``base_dir`` when given (the registry's
        folder), else the path as passed. ``logos`` are indexed with product_id "" and is_logo=True.
        Images that cannot be decoded are skipped and listed in ``.errors``.
        """
        index = cls(thresholds)
        cache = _DiskCache(Path(cache_dir) if cache_dir is not None else None)
        items = [(e[0], Path(e[1]), False) for e in entries] + [("", Path(p), True) for p in logos]
        phashes: list[int] = []
        dhashes: list[int] = []
        for product_id, path, is_logo in items:
            try:
                sha = _sha256_file(path)
            except OSError as exc:
                index.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
                continue
            hashes = cache.get(sha)
            if hashes is None:
                try:
                    hashes = hash_image_file(path)
                except ImageError as exc:
                    index.errors.append(str(exc))
                    continue
                cache.put(sha, hashes)
            rel = _relative(path, base_dir)
            index.sources.append((product_id, rel, path, is_logo))
            index._thumbs.append(hashes.thumb)
            key = len(index._thumbs) - 1
            variants = [(False, int64(hashes.phash), int64(hashes.dhash))]
            if hashes.alt:
                variants.append((False, int64(hashes.alt[0]), int64(hashes.alt[1])))
            variants.append((True, *_mirror_hashes(hashes.thumb)))
            for mirrored, ph, dh in variants:
                index._entries.append(_Entry(product_id, rel, is_logo, mirrored, key))
                phashes.append(ph)
                dhashes.append(dh)
        index._phash = np.array(phashes, dtype=np.uint64)
        index._dhash = np.array(dhashes, dtype=np.uint64)
        index.cache_hits, index.cache_misses = cache.hits, cache.misses
        return index

    @classmethod
    def from_registry(cls, registry: Any, cache_dir: Path | None = None) -> RegistryImageIndex:
        """Index every product image and trademark logo of a ``registry.Registry``."""
        base = Path(registry.path).parent if getattr(registry, "path", None) else None
        entries = [(p.id, img) for p in registry.products for img in p.images]
        logos = [t.logo for t in registry.trademarks if getattr(t, "logo", None)]
        return cls.from_images(entries, cache_dir, base_dir=base, logos=logos)

    @classmethod
    def from_hashes(
        cls, rows: Sequence[tuple[str, str, int, int]], thresholds: Thresholds | None = None
    ) -> RegistryImageIndex:
        """An index from (product_id, registered_image, phash, dhash) rows, without thumbnails
        (the second stage is then skipped). For benchmarks and tests of the lookup."""
        index = cls(thresholds)
        index._entries = [_Entry(pid, img, False, False, -1) for pid, img, _, _ in rows]
        index._phash = np.array([r[2] for r in rows], dtype=np.uint64)
        index._dhash = np.array([r[3] for r in rows], dtype=np.uint64)
        return index

    # ---- lookup

    def match(self, listing_images: Sequence[ListingImage | tuple]) -> ImageHit | None:
        """The best hit over a listing's images: a confident one if any, else a near one, else None.

        ``listing_images``: :class:`ListingImage` objects, or tuples
        ``(url, path_or_None, ImageHashes, bytes_or_path_or_None)`` in the same order.
        """
        hits = self.match_all(listing_images)
        return hits[0] if hits else None

    @_one_blas_thread
    def match_all(self, listing_images: Sequence[ListingImage | tuple]) -> list[ImageHit]:
        """Every product that matches, best first (confident before near, then by distance)."""
        images = [li if isinstance(li, ListingImage) else ListingImage(*li) for li in listing_images]
        if not len(self._entries) or not images:
            return []
        th = self.thresholds
        found: dict[tuple[str, str], tuple[tuple, ImageHit]] = {}

        def keep(entry: _Entry, image: ListingImage, distance: int, stage: str, confident: bool, rank: float):
            key = (entry.product_id, entry.registered_image)
            hit = ImageHit(
                product_id=entry.product_id,
                registered_image=entry.registered_image,
                listing_image_url=image.url,
                listing_image_path=image.path,
                distance=int(distance),
                stage=stage,
                confident=confident,
                is_logo=entry.is_logo,
            )
            order = (0 if confident else 1, rank)
            if key not in found or order < found[key][0]:
                found[key] = (order, hit)

        for image in images:
            hs = image.hashes
            variants = [("", int64(hs.phash), int64(hs.dhash))]
            if hs.alt:
                variants.append(("", int64(hs.alt[0]), int64(hs.alt[1])))
            variants += [("banner", int64(p_), int64(d_)) for p_, d_ in hs.banner_cuts]
            # pHash distances to every row (vectorised); dHash only where a pHash is close enough
            dps = [np.bitwise_count(self._phash ^ np.uint64(vp)) for _, vp, _ in variants]
            decided: set[int] = set()
            for (label, _, vd), vdp in zip(variants, dps, strict=True):
                rows = np.flatnonzero(vdp <= th.match_phash)
                if not rows.size:
                    continue
                rdp = vdp[rows].astype(np.int64)
                rtotal = rdp + np.bitwise_count(self._dhash[rows] ^ np.uint64(vd))
                ok = (rdp <= th.strong_phash) | (rtotal <= th.match_sum)
                for i, d, t in zip(rows[ok], rdp[ok], rtotal[ok], strict=True):
                    e = self._entries[i]
                    stage = label or ("phash" if d <= th.strong_phash else "phash+dhash")
                    stage = stage + "+mirror" if e.mirrored and label else ("mirror" if e.mirrored else stage)
                    keep(e, image, d, stage, True, int(t))
                    decided.add(int(i))
            for qph, qdh in hs.quadrants:
                qdp = np.bitwise_count(self._phash ^ np.uint64(int64(qph)))
                rows = np.flatnonzero(qdp <= th.quadrant_phash)
                if rows.size:
                    qtotal = qdp[rows].astype(np.int64) + np.bitwise_count(
                        self._dhash[rows] ^ np.uint64(int64(qdh))
                    )
                    for i, t in zip(rows, qtotal, strict=True):
                        if t <= th.quadrant_sum:
                            keep(self._entries[i], image, qdp[i], "collage", True, int(t) + 1)
            dp_min = dps[0] if len(dps) == 1 else np.minimum.reduce(dps)
            # near (not confident) hits
            for i in np.flatnonzero(dp_min <= th.near_phash):
                if int(i) not in decided:
                    keep(self._entries[i], image, dp_min[i], "phash", False, int(dp_min[i]) + 64)
            # second stage, only on the nearest references the first stage did not decide
            if th.candidates > 0:
                self._second_stage(image, variants, dps, dp_min, decided, keep)
        hits = sorted(found.values(), key=lambda v: v[0])
        # one hit per product: its best registered image
        seen: set[str] = set()
        out = []
        for _, hit in hits:
            if (hit.product_id, hit.is_logo) in seen:
                continue
            seen.add((hit.product_id, hit.is_logo))
            out.append(hit)
        if self.sources and not (out and out[0].confident) and any(i.source is not None for i in images):
            from matchers.image_local import look_inside  # OpenCV loads only when a picture needs it

            out = look_inside(self, images, out)
        return out

    def _second_stage(self, image, variants, dps, dp_min, decided, keep) -> None:
        th = self.thresholds
        pool = 8 * th.candidates  # an image has up to 3 rows (plain, watermark-proof, mirrored)
        counts = np.cumsum(np.bincount(dp_min, minlength=65)[: th.candidate_phash + 1])
        if not counts.size or counts[-1] == 0:
            return
        limit = int(np.searchsorted(counts, min(pool, int(counts[-1]))))  # smallest distance giving a pool
        rows = np.flatnonzero(dp_min <= limit)
        if decided:
            rows = rows[~np.isin(rows, np.fromiter(decided, dtype=np.intp))]
        if not rows.size:
            return
        total = np.full(rows.size, 1 << 20, dtype=np.int64)
        for (_, _, vd), vdp in zip(variants, dps, strict=True):
            vt = vdp[rows].astype(np.int64) + np.bitwise_count(self._dhash[rows] ^ np.uint64(vd))
            total = np.minimum(total, vt)
        thumb = prepared = None
        done: set[tuple[int, bool]] = set()
        for j in np.argsort(total, kind="stable"):
            e = self._entries[rows[j]]
            if e.thumb_key < 0 or (e.thumb_key, e.mirrored) in done:
                continue
            if len(done) >= th.candidates:
                break
            done.add((e.thumb_key, e.mirrored))
            if thumb is None:
                thumb = self._listing_thumb(image)
                if thumb is None:
                    return
                prepared = PreparedListing.of(thumb)
            ref_thumb = self._thumbs[e.thumb_key]
            if e.mirrored:
                ref_thumb = ref_thumb[:, ::-1]
            cached = self._crop_grids.get((e.thumb_key, e.mirrored))
            if cached is None:
                cached = (reference_crop_grid(ref_thumb), unmarked_views(ref_thumb))
                self._crop_grids[(e.thumb_key, e.mirrored)] = cached
            res = second_stage(thumb, ref_thumb, th, cached[0], prepared, cached[1])
            if res is not None:
                stage = res.stage + ("+mirror" if e.mirrored else "")
                keep(e, image, res.phash, stage, True, res.phash + res.dhash + 2)

    def _listing_thumb(self, image: ListingImage) -> np.ndarray | None:
        if image.hashes.thumb is not None:
            return image.hashes.thumb
        src = image.source
        try:
            if isinstance(src, bytes | bytearray):
                return hash_image_bytes(bytes(src), source=image.url).thumb
            if isinstance(src, str | Path):
                return hash_image_file(src).thumb
        except ImageError:
            return None
        return None


def _mirror_hashes(thumb: np.ndarray) -> tuple[int, int]:
    return _whole_hashes(thumb[:, ::-1].astype(np.float64))


def _relative(path: Path, base_dir: Path | None) -> str:
    if base_dir is not None:
        try:
            return path.resolve().relative_to(Path(base_dir).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()
