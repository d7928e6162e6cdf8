"""Is a registered photo somewhere *inside* the listing's picture? (the local-feature stage)

The hash stages of :mod:`matchers.images` compare whole pictures, their quadrants and crop windows.
They cannot see the official photo when it is one tile of a 3x3 or uneven grid, sits inside a thick
gradient or patterned frame (the trim stops at a frame that is not uniform), inside a screenshot of a
shopping app, under a corner sticker, or cropped, watermarked and bannered at once. This stage finds
it wherever it is and at whatever size:

1. ORB keypoints (``cv2.ORB``: FAST corners with rotated BRIEF descriptors, scale pyramid) of each
   registered photo, trimmed of its uniform border, at ``REFERENCE_SIDE`` px; and of the listing's
   picture at ``LISTING_SIDE`` px.
2. For each registered photo, its descriptors' two nearest listing descriptors (Hamming); a pair is
   kept when the nearest is clearly nearer than the second (Lowe's ratio, ``ratio``). The
   ``candidates`` photos with most kept pairs (at least ``min_good``) go on.
3. RANSAC fits a similarity (scale, rotation, shift: what pasting a photo into a layout does) from
   the photo into the picture. It must have ``min_inliers`` inliers and a scale, rotation and
   placement a copier would use: the photo's outline mostly inside the picture (``min_inside``: a
   crop of another shot of the same scene puts it largely outside) and not a speck
   (``min_area_share``).
   The inliers must also spread over the photo (``min_spread``: the convex hull of the inliers, as a
   share of the photo; unrelated pairs' inliers bunch on one texture or line of text).
4. The picture is warped back onto the photo and compared where it lies inside the picture: a
   normalised cross-correlation of the two at 64 px (``min_ncc``), or a lower one (``strong_ncc``)
   when ``strong_inliers`` inliers spread over ``strong_spread`` of the photo, so a few repeated
   corners (text, a logo, a texture) never decide alone. The pHash distance of the aligned region is
   the hit's ``distance``.

Thresholds are data: ``matchers/data/image_local_thresholds.json``, calibrated by
``python -m bench.calibrate_local`` on a draw independent of the reported one.

It runs only where the hash stages found no confident hit (``RegistryImageIndex.match_all`` with the
listing image's bytes or file; the scoring pipeline with the downloaded main image), and it needs the
picture itself, not its hashes. OpenCV is kept to one thread: a crawl runs one process per core.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import imagehash
import numpy as np
from PIL import Image

from contract import ImageHit
from matchers.images import ImageError, decode_image, load_data_class, relative_path, trim_box

cv2.setNumThreads(1)

LISTING_SIDE = 640  # the listing picture's long side for keypoints: a 3x3 grid's tile is ~210 px
REFERENCE_SIDE = 400  # a registered photo's long side (after trimming its border)
LISTING_FEATURES = 2000
LISTING_CELLS = 3  # keypoints are detected per cell of a 3x3 grid (see Features.of_grey)
CELL_OVERLAP = 0.06
REFERENCE_FEATURES = 500
COMPARE_SIDE = 64  # the aligned region and the photo are compared at this long side
SHORTLIST_DISTANCE = 48  # of 256 bits: a keypoint votes for the photo its nearest neighbour (this close) is in
ORB_FAST_THRESHOLD = 7  # lower than OpenCV's 20: low-contrast photos (a moon, a blurred clock) need corners too
STAGE = "local features"

_THRESHOLDS_FILE = Path(__file__).parent / "data" / "image_local_thresholds.json"


@dataclass(frozen=True)
class LocalThresholds:
    """The local stage's rules; the values live in ``data/image_local_thresholds.json``."""

    ratio: float
    min_good: int
    min_inliers: int
    min_inlier_share: float
    min_spread: float
    min_scale: float
    max_scale: float
    max_rotation_deg: float
    min_inside: float
    min_area_share: float
    min_ncc: float
    strong_inliers: int
    strong_spread: float
    strong_ncc: float
    candidates: int

    @classmethod
    def load(cls, path: Path = _THRESHOLDS_FILE) -> LocalThresholds:
        return load_data_class(cls, path)


@cache
def default_local_thresholds() -> LocalThresholds:
    return LocalThresholds.load()


@cache
def _orb(features: int) -> cv2.ORB:
    return cv2.ORB_create(nfeatures=features, scaleFactor=1.2, nlevels=8, fastThreshold=ORB_FAST_THRESHOLD)


@cache
def _matcher() -> cv2.BFMatcher:
    return cv2.BFMatcher(cv2.NORM_HAMMING)


@dataclass(frozen=True)
class Features:
    """Keypoints of one picture: ``points`` (n, 2) float32 in ``grey``'s pixels, ``descriptors`` (n, 32)."""

    grey: np.ndarray
    points: np.ndarray
    descriptors: np.ndarray | None

    @classmethod
    def of_grey(cls, grey: np.ndarray, features: int, cells: int = 1) -> Features:
        """Keypoints of ``grey``; with ``cells`` > 1, detected in each cell of a cells x cells grid with
        its own share of the budget, so a textured neighbour cannot take every keypoint from a small
        photo in the next tile of a grid (cells overlap by ``CELL_OVERLAP`` so no corner is lost at a
        cell's edge; each keypoint is kept by the cell its centre falls in)."""
        if cells <= 1:
            keypoints, descriptors = _orb(features).detectAndCompute(grey, None)
            points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
            return cls(grey, points, descriptors)
        h, w = grey.shape
        pad_y, pad_x = int(CELL_OVERLAP * h), int(CELL_OVERLAP * w)
        orb = _orb(max(features // (cells * cells), 16))
        all_points, all_desc = [], []
        for i in range(cells):
            for j in range(cells):
                cy0, cy1, cx0, cx1 = i * h // cells, (i + 1) * h // cells, j * w // cells, (j + 1) * w // cells
                y0, x0 = max(cy0 - pad_y, 0), max(cx0 - pad_x, 0)
                sub = grey[y0 : min(cy1 + pad_y, h), x0 : min(cx1 + pad_x, w)]
                keypoints, descriptors = orb.detectAndCompute(sub, None)
                if descriptors is None:
                    continue
                pts = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2) + np.float32([x0, y0])
                own = (pts[:, 0] >= cx0) & (pts[:, 0] < cx1) & (pts[:, 1] >= cy0) & (pts[:, 1] < cy1)
                all_points.append(pts[own])
                all_desc.append(descriptors[own])
        if not all_points:
            return cls(grey, np.zeros((0, 2), np.float32), None)
        return cls(grey, np.concatenate(all_points), np.concatenate(all_desc))


def _read(source: bytes | str | Path, what: str) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), what
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def _grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


def listing_features(source: bytes | str | Path, *, name: str = "listing image") -> Features:
    """Keypoints of a listing picture (bytes or a file). Raises :class:`ImageError`."""
    data, where = _read(source, name)
    grey = _grey(decode_image(data, source=where, side=LISTING_SIDE))
    return Features.of_grey(grey, LISTING_FEATURES, LISTING_CELLS)


def reference_features(source: bytes | str | Path, *, name: str = "registered image") -> Features:
    """Keypoints of a registered photo, its uniform border trimmed. Raises :class:`ImageError`."""
    data, where = _read(source, name)
    img = decode_image(data, source=where, side=2 * REFERENCE_SIDE)
    rgb = np.asarray(img)
    t, b, lft, r = trim_box(rgb)
    content = Image.fromarray(np.ascontiguousarray(rgb[t:b, lft:r]))
    if max(content.size) > REFERENCE_SIDE:
        content.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.LANCZOS)
    return Features.of_grey(_grey(content), REFERENCE_FEATURES)


@dataclass(frozen=True)
class Alignment:
    """Where a registered photo sits in a listing picture, and how well the two agree there."""

    inliers: int
    good: int
    scale: float  # listing px per photo px (at the working sizes)
    rotation_deg: float
    spread: float  # share of the photo covered by the convex hull of the inliers
    inside: float  # share of the photo's outline inside the picture
    area_share: float  # share of the picture the photo covers
    ncc: float  # normalised cross-correlation of the aligned region with the photo
    phash: int  # pHash distance of the aligned region to the photo
    quad: tuple[tuple[float, float], ...]  # the photo's corners in the picture, as fractions of its size

    def where(self) -> str:
        return describe_location(self.quad)


def align(reference: Features, listing: Features, th: LocalThresholds, good: list | None = None) -> Alignment | None:
    """Fit and measure the photo's placement in the picture; None when there is no plausible one
    (the acceptance rules are in :func:`accepted`)."""
    if good is None:
        good = good_pairs(reference, listing, th.ratio)
    if len(good) < max(th.min_good, 4):
        return None
    src = reference.points[[m.queryIdx for m in good]]
    dst = listing.points[[m.trainIdx for m in good]]
    matrix, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0, maxIters=2000, confidence=0.995
    )
    if matrix is None or mask is None:
        return None
    inliers = int(mask.sum())
    scale = float(math.hypot(matrix[0, 0], matrix[1, 0]))
    rotation = float(math.degrees(math.atan2(matrix[1, 0], matrix[0, 0])))
    if scale <= 1e-6:
        return None
    rh, rw = reference.grey.shape
    lh, lw = listing.grey.shape
    corners = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]], dtype=np.float32)
    projected = corners @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)
    area = abs(float(cv2.contourArea(projected)))
    frame = np.array([[0, 0], [lw, 0], [lw, lh], [0, lh]], dtype=np.float32)
    overlap, _ = cv2.intersectConvexConvex(projected, frame)
    inside = float(overlap) / area if area > 0 else 0.0
    ncc, phash = _compare_aligned(reference.grey, listing.grey, matrix)
    quad = tuple((float(x) / lw, float(y) / lh) for x, y in projected)
    held = src[mask.ravel().astype(bool)]
    spread = abs(float(cv2.contourArea(cv2.convexHull(held)))) / (rw * rh) if len(held) >= 3 else 0.0
    return Alignment(inliers, len(good), scale, rotation, spread, inside, area / (lw * lh), ncc, phash, quad)


def good_pairs(reference: Features, listing: Features, ratio: float) -> list:
    """Photo descriptors whose nearest picture descriptor passes Lowe's ratio test."""
    if reference.descriptors is None or listing.descriptors is None or len(listing.descriptors) < 2:
        return []
    pairs = _matcher().knnMatch(reference.descriptors, listing.descriptors, k=2)
    return [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]


def accepted(a: Alignment, th: LocalThresholds) -> bool:
    """The rules of the module docstring's steps 3 and 4."""
    placed = (
        a.inliers >= th.min_inliers
        and a.inliers >= th.min_inlier_share * a.good
        and a.spread >= th.min_spread
        and th.min_scale <= a.scale <= th.max_scale
        and abs(a.rotation_deg) <= th.max_rotation_deg
        and a.inside >= th.min_inside
        and a.area_share >= th.min_area_share
    )
    # many inliers spread over the photo are evidence enough for a lower correlation (a big sticker, heavy text)
    strong = a.inliers >= th.strong_inliers and a.spread >= th.strong_spread and a.ncc >= th.strong_ncc
    return placed and (a.ncc >= th.min_ncc or strong)


def _compare_aligned(ref_grey: np.ndarray, listing_grey: np.ndarray, matrix: np.ndarray) -> tuple[float, int]:
    """Warp the picture back onto the photo; correlation over the part inside the picture, and pHash
    (outside the picture filled with the region's mean, so it neither helps nor hurts much)."""
    rh, rw = ref_grey.shape
    inverse = cv2.invertAffineTransform(matrix)
    warped = cv2.warpAffine(listing_grey, inverse, (rw, rh), flags=cv2.INTER_AREA, borderValue=0)
    valid = cv2.warpAffine(np.full(listing_grey.shape, 255, np.uint8), inverse, (rw, rh), borderValue=0)
    k = COMPARE_SIDE / max(rh, rw)
    size = (max(int(rw * k), 8), max(int(rh * k), 8))
    a = cv2.resize(ref_grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(warped, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = cv2.resize(valid, size, interpolation=cv2.INTER_AREA) >= 250
    if np.count_nonzero(m) < 0.25 * m.size:
        return 0.0, 64
    av, bv = a[m] - a[m].mean(), b[m] - b[m].mean()
    denom = float(np.sqrt((av * av).sum() * (bv * bv).sum()))
    ncc = float((av * bv).sum() / denom) if denom > 1e-6 else 0.0
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    common = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))  # the part inside the picture
    b[~m] = b[m].mean()  # slivers a rotation leaves inside the bounding box
    phash = imagehash.phash(Image.fromarray(a[common].astype(np.uint8))) - imagehash.phash(
        Image.fromarray(b[common].astype(np.uint8))
    )
    return ncc, int(phash)


def describe_location(quad: Iterable[tuple[float, float]]) -> str:
    """Where a photo sits in a picture, in words: "top right, 33 % of the picture's width"."""
    pts = np.array(list(quad), dtype=np.float64)
    x0, y0 = np.clip(pts.min(axis=0), 0, 1)
    x1, y1 = np.clip(pts.max(axis=0), 0, 1)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    row = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    col = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    place = "centre" if (row, col) == ("middle", "centre") else f"{row} {col}".replace("middle ", "")
    return f"{place}, {round(100 * (x1 - x0))} % of the picture's width"


@dataclass(frozen=True)
class LocalMatch:
    product_id: str
    registered_image: str
    is_logo: bool
    alignment: Alignment

    def hit(self, url: str, path: str | None) -> ImageHit:
        return ImageHit(
            product_id=self.product_id,
            registered_image=self.registered_image,
            listing_image_url=url,
            listing_image_path=path,
            distance=self.alignment.phash,
            stage=f"{STAGE}: photo at {self.alignment.where()}",
            confident=True,
            is_logo=self.is_logo,
        )


@dataclass(frozen=True)
class _Reference:
    product_id: str
    registered_image: str
    is_logo: bool
    features: Features


class LocalFeatureIndex:
    """Keypoints of every registered photo (and logo), for :meth:`match` on a listing's picture."""

    def __init__(self, thresholds: LocalThresholds | None = None):
        self.thresholds = thresholds or default_local_thresholds()
        self.references: list[_Reference] = []
        self.errors: list[str] = []
        self.seconds = 0.0  # time spent in :meth:`match`
        self.calls = 0
        self._lsh: cv2.FlannBasedMatcher | None = None  # built on the first match

    def __len__(self) -> int:
        return len(self.references)

    def add(self, product_id: str, registered_image: str, source: bytes | str | Path, *, is_logo: bool = False) -> None:
        try:
            features = reference_features(source)
        except ImageError as exc:
            self.errors.append(str(exc))
            return
        if features.descriptors is not None and len(features.descriptors) >= self.thresholds.min_good:
            self.references.append(_Reference(product_id, registered_image, is_logo, features))
            self._lsh = None

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str, Path, bool]],
                     thresholds: LocalThresholds | None = None) -> LocalFeatureIndex:
        """``(product_id, registered_image, file, is_logo)`` rows."""
        index = cls(thresholds)
        for product_id, registered_image, path, is_logo in entries:
            index.add(product_id, registered_image, path, is_logo=is_logo)
        return index

    @classmethod
    def from_registry(cls, registry: Any) -> LocalFeatureIndex:
        """Every product image and trademark logo of a ``registry.Registry``."""
        base = Path(registry.path).parent if getattr(registry, "path", None) else None
        rows = [(p.id, relative_path(Path(img), base), Path(img), False) for p in registry.products for img in p.images]
        rows += [("", relative_path(Path(t.logo), base), Path(t.logo), True)
                 for t in registry.trademarks if getattr(t, "logo", None)]
        return cls.from_entries(rows)

    def match(self, listing: Features | bytes | str | Path) -> LocalMatch | None:
        """The best accepted placement of a registered photo in the picture, or None."""
        if not self.references:
            return None  # a registry without photos: nothing to look for, the picture is not decoded
        start = time.perf_counter()
        try:
            return self._match(listing if isinstance(listing, Features) else listing_features(listing))
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1

    def _match(self, listing: Features) -> LocalMatch | None:
        th = self.thresholds
        if listing.descriptors is None or len(listing.descriptors) < 2:
            return None
        best: LocalMatch | None = None
        for ref in self._shortlist(listing):
            good = good_pairs(ref.features, listing, th.ratio)
            if len(good) < th.min_good:
                continue
            alignment = align(ref.features, listing, th, good)
            if alignment is None or not accepted(alignment, th):
                continue
            if best is None or (alignment.ncc, alignment.inliers) > (best.alignment.ncc, best.alignment.inliers):
                best = LocalMatch(ref.product_id, ref.registered_image, ref.is_logo, alignment)
        return best

    def _same_product(self, i: int, j: int) -> bool:
        a, b = self.references[i], self.references[j]
        return i == j or (bool(a.product_id) and a.product_id == b.product_id)

    def _shortlist(self, listing: Features) -> list[_Reference]:
        """The ``candidates`` registered photos most of the picture's keypoints are nearest to.

        Exact matching costs ~5 ms per registered photo (1,500 x 500 Hamming distances); an LSH index
        of every photo's descriptors (FLANN, built once) finds each keypoint's nearest neighbour in the
        whole registry in one pass, and only the photos that collect most close neighbours are matched
        exactly. A small registry is matched exactly throughout."""
        th = self.thresholds
        if len(self.references) <= th.candidates:
            return list(self.references)
        if self._lsh is None:
            self._lsh = cv2.FlannBasedMatcher(
                {"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}, {"checks": 64}
            )
            self._lsh.add([ref.features.descriptors for ref in self.references])
            self._lsh.train()
        votes = np.zeros(len(self.references), dtype=np.int64)
        for pair in self._lsh.knnMatch(listing.descriptors, k=2):
            # a vote needs a distinctive nearest neighbour: clearly nearer than the next one, unless that
            # one is in the same photo (a repeated pattern) or another photo of the same product
            if not pair or pair[0].distance > SHORTLIST_DISTANCE:
                continue
            if len(pair) == 2 and pair[0].distance >= th.ratio * pair[1].distance and not self._same_product(
                pair[0].imgIdx, pair[1].imgIdx
            ):
                continue
            votes[pair[0].imgIdx] += 1
        order = np.argsort(-votes, kind="stable")[: th.candidates]
        return [self.references[i] for i in order if votes[i] >= th.min_good]


def locate(listing: bytes | str | Path, registered: bytes | str | Path,
           thresholds: LocalThresholds | None = None) -> Alignment | None:
    """Where ``registered`` sits in ``listing`` when the local stage accepts it, else None (for the
    comparison picture). Raises :class:`ImageError` when either cannot be read."""
    th = thresholds or default_local_thresholds()
    alignment = align(reference_features(registered), listing_features(listing), th)
    return alignment if alignment is not None and accepted(alignment, th) else None


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # RegistryImageIndex -> its local index


def look_inside(index: Any, images: Iterable[Any], hits: list[ImageHit]) -> list[ImageHit]:
    """The hash stages' ``hits`` with a hit inside the picture first, when one of the listing ``images``
    (``ListingImage`` with its bytes or file as ``source``) contains a registered photo. Called by
    ``RegistryImageIndex.match_all`` only when the hash stages found nothing confident."""
    for image in images:
        if image.source is None:
            continue
        found = find_inside(index, image.source, image.url, image.path)
        if found is not None:
            rest = [h for h in hits if (h.product_id, h.is_logo) != (found.product_id, found.is_logo)]
            return [found, *rest]
    return hits


def local_index_of(index: Any) -> LocalFeatureIndex:
    """The local-feature index of a ``RegistryImageIndex``'s photos, built on first use."""
    local = _INDEXES.get(index)
    if local is None:
        local = _INDEXES[index] = LocalFeatureIndex.from_entries(index.sources)
    return local


def find_inside(index: Any, source: bytes | str | Path, url: str, path: str | None) -> ImageHit | None:
    """A registered photo inside the picture: first one cell of a 3x3 grid, by its hashes (cheap), then
    anywhere, by local features. None when the picture cannot be read (the hash stages report that)."""
    from matchers.image_grid import grid_cell_hit  # it builds on this module

    try:
        data, where = _read(source, "listing image")
        cell = grid_cell_hit(index, data, where)
        if cell is not None:
            return replace(cell, listing_image_url=url, listing_image_path=path)
        match = local_index_of(index).match(data)
    except ImageError:
        return None
    return match.hit(url, path) if match is not None else None
