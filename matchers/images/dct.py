"""pHash and dHash as matrix products: area-averaged windows and a batched DCT.

Resizing a window [y0, y1) x [x0, x1) of a grey image G to n x m cells by area averaging is
Ry @ G @ Rx.T, with Ry (n x H) and Rx (m x W) "box matrices"; the 8x8 low DCT block of the 32x32
result is (D @ Ry) @ G @ (D @ Rx).T. Many windows share their row and column ranges, so the second
stage hashes a few hundred windows of a thumbnail for the price of a few dozen small matmuls.
Whole images take two float32 products (area averaging and the 8 low DCT rows folded into one
matrix per side, cached by size).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

from matchers.images.recipe import RECIPE


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


_STACK_SIDE = RECIPE.stack_side
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


def hamming(a: str, b: str) -> int:
    return (int64(a) ^ int64(b)).bit_count()
