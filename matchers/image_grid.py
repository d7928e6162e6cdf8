"""Is a registered photo one cell of a 3x3 grid in the listing's picture? (the cheap look inside)

Before the local-feature stage (:mod:`matchers.image_local`) looks anywhere in the picture, each cell
of a 3x3 split is trimmed of its border and hashed like the hash stages do, and looked up with the 2x2
collage's stricter rule (``quadrant_phash``, ``quadrant_sum`` in ``data/image_thresholds.json``): nine
more lookups are nine more chances to collide. A grid of product shots, each fitted in its cell on a
plain background, is found this way in a few milliseconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from contract import ImageHit
from matchers.image_local import _read, describe_location
from matchers.images import decode_image, hashes_of_rgb, int64

GRID_CELLS = 3
GRID_SIDE = 3 * 256  # the picture is decoded so that a cell is about the hash stages' working size
GRID_STAGE = "grid cell"


def _cells(data: bytes, where: str) -> list[tuple[tuple[tuple[float, float], ...], Any]]:
    """(the cell's corners as fractions of the picture, its ImageHashes) for each cell of a 3x3 split."""
    rgb = np.asarray(decode_image(data, source=where, side=GRID_SIDE))
    h, w = rgb.shape[:2]
    if min(h, w) < 48:
        return []
    out = []
    n = GRID_CELLS
    for i in range(n):
        for j in range(n):
            cell = np.ascontiguousarray(rgb[i * h // n : (i + 1) * h // n, j * w // n : (j + 1) * w // n])
            quad = ((j / n, i / n), ((j + 1) / n, i / n), ((j + 1) / n, (i + 1) / n), (j / n, (i + 1) / n))
            out.append((quad, hashes_of_rgb(cell)))
    return out


def grid_cell_hit(index: Any, data: bytes, where: str) -> ImageHit | None:
    """The best registered photo (of a ``RegistryImageIndex``) one cell of the picture matches, or None."""
    if not len(index):
        return None
    th = index.thresholds
    best: tuple[int, int, int, tuple] | None = None  # (sum, pHash, row, cell corners)
    for quad, hashes in _cells(data, where):
        dp = np.bitwise_count(index._phash ^ np.uint64(int64(hashes.phash)))
        for r in np.flatnonzero(dp <= th.quadrant_phash):
            total = int(dp[r]) + int(np.bitwise_count(index._dhash[r] ^ np.uint64(int64(hashes.dhash))))
            if total <= th.quadrant_sum and (best is None or total < best[0]):
                best = (total, int(dp[r]), int(r), quad)
    if best is None:
        return None
    entry = index._entries[best[2]]
    stage = f"{GRID_STAGE}{'+mirror' if entry.mirrored else ''}: photo at {describe_location(best[3])}"
    return ImageHit(entry.product_id, entry.registered_image, "", None, best[1], stage, True, entry.is_logo)


def locate_cell(listing: bytes | str | Path, registered: bytes | str | Path) -> tuple | None:
    """The corners (fractions of the picture) of the 3x3 cell that holds ``registered``, for the
    comparison picture of a grid-cell hit; None when no cell matches it."""
    from matchers.images import RegistryImageIndex

    data, _ = _read(registered, "registered image")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registered"
        path.write_bytes(data)
        index = RegistryImageIndex.from_images([("", path)])
    listing_data, listing_where = _read(listing, "listing image")
    hit = grid_cell_hit(index, listing_data, listing_where)
    if hit is None:
        return None
    for quad, _ in _cells(listing_data, listing_where):
        if describe_location(quad) in hit.stage:
            return quad
    return None
