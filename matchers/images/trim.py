"""Trimming near-uniform borders (padding, nested frames, a watermark over the margin) and price banners.

Trimming is repeated (nested padding: a colour frame around a white canvas) and shaves the one-pixel
halo JPEG leaves along a cut. A second, watermark-proof trim (``solid``: thin strokes ignored) finds
the product when a watermark tiled over the white margin stops the plain one. A banner cut removes a
price banner at the strongest full-width horizontal edge in the bottom or top ``BANNER_BAND``.
"""

from __future__ import annotations

import numpy as np

from matchers.images.recipe import (
    BANNER_BAND,
    BANNER_EDGE,
    BANNER_STEP,
    TRIM_MIN_CONTENT,
    TRIM_MIN_KEEP,
    TRIM_SHAVE,
    TRIM_SOLID,
    TRIM_SOLID_SHARE,
    TRIM_TOLERANCE,
    TRIM_UNIFORM_FRAME,
)


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
        if b <= t or r <= lft:
            break  # content a few pixels thin (a stripe inside a frame): shaving would leave nothing
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
