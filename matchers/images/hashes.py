"""The hashes of one image: pHash and dHash of the trimmed image, its quadrants, its watermark-proof
trim and its banner cuts, and the grey thumbnail the second stage compares."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from matchers.images.blas import _one_blas_thread
from matchers.images.dct import _whole_hashes, hex64
from matchers.images.decode import ImageError, decode_image
from matchers.images.recipe import THUMB_SIDE, WORK_SIDE
from matchers.images.trim import _banner_cuts, _grey, _planar, _trim_planar, _uniform_border


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


def _thumb(grey: np.ndarray) -> np.ndarray:
    img = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    if max(img.size) > THUMB_SIDE:
        img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    return np.asarray(img)


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
