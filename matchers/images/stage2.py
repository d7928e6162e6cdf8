"""Second stage, only for candidates the first stage cannot decide: a window search.

The listing's thumbnail is compared with crop windows of the registered image (cached per image),
its banner-cut thumbnail with the same windows, its bottom/top cut by 8-30 %, itself rotated back,
and both thumbnails with thin strokes (a tiled watermark) filtered away (:func:`unmarked_views`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from matchers.images.blas import _one_blas_thread
from matchers.images.dct import _grid_hashes, _grid_whole, _small, _stack_hashes
from matchers.images.recipe import RECIPE, WATERMARK_ASPECT, WATERMARK_FILTER, Thresholds
from matchers.images.trim import _banner_cuts, trim_box

_CROP_KEEPS = RECIPE.crop_keeps
_CROP_STEP = RECIPE.crop_step


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
    for cut in np.arange(*RECIPE.banner_strips):  # 2.5 % steps: pHash tolerates ~2 % misplacement
        out.append((0.0, (1 - cut) * size))
        out.append((cut * size, float(size)))
    return out


_ROTATIONS = RECIPE.rotations


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


def _first_agreeing(ph, dh, target_p: int, target_d: int, small_of, stage: str, th: Thresholds) -> Stage2Result | None:
    """Of the windows (hashes ``ph``, ``dh``) within the stage-2 distances of the target, the first of
    the three closest whose 32x32 thumbnails (``small_of(index)``) also correlate enough."""
    dp = np.bitwise_count(ph ^ np.uint64(target_p)).astype(np.int64)
    dd = np.bitwise_count(dh ^ np.uint64(target_d)).astype(np.int64)
    ok = (dp <= th.stage2_phash) & (dd <= th.stage2_dhash) & (dp + dd <= th.stage2_sum)
    for flat in np.flatnonzero(ok.ravel())[np.argsort((dp + dd).ravel()[ok.ravel()], kind="stable")][:3]:
        idx = np.unravel_index(flat, dp.shape)
        a, b = small_of(idx)
        ncc = _ncc(a, b)
        if ncc >= th.stage2_ncc:
            return Stage2Result(int(dp[idx]), int(dd[idx]), ncc, stage)
    return None


def _crop_alignments(
    reference: np.ndarray, pl: PreparedListing, crop_grid: tuple[np.ndarray, np.ndarray] | None, th: Thresholds
) -> list[Stage2Result | None]:
    """The listing (whole, and without its banner) as a crop window of the reference."""
    rh, rw = reference.shape
    ys, xs = _crop_ranges(rh), _crop_ranges(rw)
    cp, cd = crop_grid if crop_grid is not None else reference_crop_grid(reference)

    def window(i):
        return _small(reference, ys[i[0]], xs[i[1]])

    found = [_first_agreeing(cp, cd, pl.phash, pl.dhash, lambda i: (pl.small, window(i)), "crop", th)]
    # a banner laid over the bottom hides part of the product: the rest is a crop of the reference
    for cut_p, cut_d, cut_small in pl.cuts:
        found.append(_first_agreeing(cp, cd, cut_p, cut_d, lambda i, s=cut_small: (s, window(i)), "banner+crop", th))
    return found


def _whole_alignments(reference: np.ndarray, pl: PreparedListing, th: Thresholds) -> list[Stage2Result | None]:
    """Banners and rotations: whole (re-trimmed) images, the reference's hashed as one stack."""
    ref_p, ref_d, ref_s = _stack_hashes([reference, _centre(reference)])
    # banners: the reference is the listing minus a strip at its top or bottom (trimmed again: on a
    # white-background shot the strip's removal uncovers margin)
    bp, bd, bs = pl.banner
    found = [_first_agreeing(bp, bd, ref_p[0], ref_d[0], lambda i: (ref_s[0], bs[i[0]]), "banner", th)]
    # rotations: the listing rotated back with its white fill trimmed; whole images, and their
    # central 80 % (a rotation that kept the canvas cut the corners off)
    rot_p, rot_d, rot_s = pl.rotation
    for k in (0, 1):

        def small_of(i, k=k):
            return ref_s[k], rot_s[k::2][i[0]]

        found.append(_first_agreeing(rot_p[k::2], rot_d[k::2], ref_p[k], ref_d[k], small_of, "rotation", th))
    return found


def _filtered_alignments(
    listing_um: tuple[Unmarked | None, Unmarked | None],
    reference_um: tuple[Unmarked | None, Unmarked | None],
    th: Thresholds,
) -> list[Stage2Result | None]:
    """A tiled watermark: both filtered alike (min: light text, max: dark text), whole images."""
    found: list[Stage2Result | None] = []
    for lu, ru in zip(listing_um, reference_um, strict=True):
        if lu is None or ru is None or abs(np.log(lu.aspect / ru.aspect)) > WATERMARK_ASPECT:
            continue
        dp, dd = (lu.phash ^ ru.phash).bit_count(), (lu.dhash ^ ru.dhash).bit_count()
        if dp > th.watermark_phash or dp + dd > th.watermark_sum:
            continue
        ncc = _ncc(lu.small, ru.small)
        if ncc >= th.watermark_ncc:
            found.append(Stage2Result(dp, dd, ncc, "filtered"))
    return found


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
    (:func:`unmarked_views` of the reference) may be passed in when cached. Of equally close
    alignments the first found wins, in the order crop, banner+crop, banner, rotation, filtered.
    """
    pl = prepared or PreparedListing.of(listing)
    reference = reference.astype(np.float64)
    ref_um = reference_unmarked if reference_unmarked is not None else unmarked_views(reference)
    best: Stage2Result | None = None
    for found in (
        *_crop_alignments(reference, pl, crop_grid, thresholds),
        *_whole_alignments(reference, pl, thresholds),
        *_filtered_alignments(pl.unmarked, ref_um, thresholds),
    ):
        if found is not None and (best is None or found.phash + found.dhash < best.phash + best.dhash):
            best = found
    return best
