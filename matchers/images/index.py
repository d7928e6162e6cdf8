"""The index of registered images and the lookup of a listing's images in it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contract import ImageHit
from matchers.images.blas import _one_blas_thread
from matchers.images.cache import DiskCache
from matchers.images.dct import _whole_hashes, int64
from matchers.images.decode import ImageError
from matchers.images.files import sha256_file
from matchers.images.hashes import ImageHashes, hash_image_bytes, hash_image_file
from matchers.images.memo import content_digest
from matchers.images.recipe import Thresholds, default_thresholds
from matchers.images.stage2 import PreparedListing, reference_crop_grid, second_stage, unmarked_views


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
        # what the registered pictures and the thresholds are (matchers.images.memo); None: not known
        self.fingerprint: str | None = None

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
        cache = DiskCache(Path(cache_dir) if cache_dir is not None else None)
        items = [(e[0], Path(e[1]), False) for e in entries] + [("", Path(p), True) for p in logos]
        phashes: list[int] = []
        dhashes: list[int] = []
        indexed: list[tuple[str, str, bool, str]] = []
        for product_id, path, is_logo in items:
            try:
                sha = sha256_file(path)
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
            rel = relative_path(path, base_dir)
            indexed.append((product_id, rel, is_logo, sha))
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
        index.fingerprint = content_digest(json.dumps([indexed, dataclasses.asdict(index.thresholds)]).encode())
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
        found = _Found()
        for image in images:
            variants = _variants(image.hashes)
            # pHash distances to every row (vectorised); dHash only where a pHash is close enough
            dps = [np.bitwise_count(self._phash ^ np.uint64(vp)) for _, vp, _ in variants]
            decided = self._whole_matches(image, variants, dps, found)
            self._quadrant_matches(image, found)
            dp_min = dps[0] if len(dps) == 1 else np.minimum.reduce(dps)
            self._near_hits(image, dp_min, decided, found)
            # second stage, only on the nearest references the first stage did not decide
            if self.thresholds.candidates > 0:
                self._second_stage(image, variants, dps, dp_min, decided, found)
        out = found.best_per_product()
        if self.sources and not (out and out[0].confident) and any(i.source is not None for i in images):
            from matchers.image_local import look_inside  # OpenCV loads only when a picture needs it

            out = look_inside(self, images, out)
        return out

    def _whole_matches(self, image: ListingImage, variants: list, dps: list, found: _Found) -> set[int]:
        """First stage on the whole image and its variants; the rows it decided."""
        th = self.thresholds
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
                found.keep(e, image, d, stage, True, int(t))
                decided.add(int(i))
        return decided

    def _quadrant_matches(self, image: ListingImage, found: _Found) -> None:
        """The collage quadrants, by the stricter quadrant rule."""
        th = self.thresholds
        for qph, qdh in image.hashes.quadrants:
            qdp = np.bitwise_count(self._phash ^ np.uint64(int64(qph)))
            rows = np.flatnonzero(qdp <= th.quadrant_phash)
            if rows.size:
                qtotal = qdp[rows].astype(np.int64) + np.bitwise_count(self._dhash[rows] ^ np.uint64(int64(qdh)))
                for i, t in zip(rows, qtotal, strict=True):
                    if t <= th.quadrant_sum:
                        found.keep(self._entries[i], image, qdp[i], "collage", True, int(t) + 1)

    def _near_hits(self, image: ListingImage, dp_min: np.ndarray, decided: set[int], found: _Found) -> None:
        """Near (not confident) hits: close by pHash, not decided by the first stage."""
        for i in np.flatnonzero(dp_min <= self.thresholds.near_phash):
            if int(i) not in decided:
                found.keep(self._entries[i], image, dp_min[i], "phash", False, int(dp_min[i]) + 64)

    def _candidate_rows(self, variants: list, dps: list, dp_min: np.ndarray, decided: set[int]) -> np.ndarray:
        """The rows the second stage looks at, nearest first: a pool of the closest by pHash, not
        decided, ordered by the smallest pHash + dHash over the listing's variants."""
        th = self.thresholds
        pool = 8 * th.candidates  # an image has up to 3 rows (plain, watermark-proof, mirrored)
        counts = np.cumsum(np.bincount(dp_min, minlength=65)[: th.candidate_phash + 1])
        if not counts.size or counts[-1] == 0:
            return np.zeros(0, dtype=np.intp)
        limit = int(np.searchsorted(counts, min(pool, int(counts[-1]))))  # smallest distance giving a pool
        rows = np.flatnonzero(dp_min <= limit)
        if decided:
            rows = rows[~np.isin(rows, np.fromiter(decided, dtype=np.intp))]
        if not rows.size:
            return rows
        total = np.full(rows.size, 1 << 20, dtype=np.int64)
        for (_, _, vd), vdp in zip(variants, dps, strict=True):
            vt = vdp[rows].astype(np.int64) + np.bitwise_count(self._dhash[rows] ^ np.uint64(vd))
            total = np.minimum(total, vt)
        return rows[np.argsort(total, kind="stable")]

    def _second_stage(self, image, variants, dps, dp_min, decided, found: _Found) -> None:
        """The window search on the ``candidates`` nearest registered thumbnails (each once)."""
        th = self.thresholds
        prepared = thumb = None
        done: set[tuple[int, bool]] = set()
        for row in self._candidate_rows(variants, dps, dp_min, decided):
            e = self._entries[row]
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
            ref_thumb, (crop_grid, ref_unmarked) = self._reference_views(e)
            res = second_stage(thumb, ref_thumb, th, crop_grid, prepared, ref_unmarked)
            if res is not None:
                stage = res.stage + ("+mirror" if e.mirrored else "")
                found.keep(e, image, res.phash, stage, True, res.phash + res.dhash + 2)

    def _reference_views(self, e: _Entry) -> tuple[np.ndarray, tuple]:
        """A registered thumbnail (mirrored when the row is), its crop grid and filtered views (cached)."""
        ref_thumb = self._thumbs[e.thumb_key]
        if e.mirrored:
            ref_thumb = ref_thumb[:, ::-1]
        cached = self._crop_grids.get((e.thumb_key, e.mirrored))
        if cached is None:
            cached = (reference_crop_grid(ref_thumb), unmarked_views(ref_thumb))
            self._crop_grids[(e.thumb_key, e.mirrored)] = cached
        return ref_thumb, cached

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


def _variants(hs: ImageHashes) -> list[tuple[str, int, int]]:
    """(stage label, pHash, dHash) of the whole image, its watermark-proof trim and its banner cuts."""
    variants = [("", int64(hs.phash), int64(hs.dhash))]
    if hs.alt:
        variants.append(("", int64(hs.alt[0]), int64(hs.alt[1])))
    variants += [("banner", int64(p_), int64(d_)) for p_, d_ in hs.banner_cuts]
    return variants


class _Found:
    """The best hit so far per (product, registered image); confident before near, then by rank."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], tuple[tuple, ImageHit]] = {}

    def keep(self, entry: _Entry, image: ListingImage, distance, stage: str, confident: bool, rank: float) -> None:
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
        if key not in self._found or order < self._found[key][0]:
            self._found[key] = (order, hit)

    def best_per_product(self) -> list[ImageHit]:
        """One hit per product (and per logo): its best registered image, best first."""
        seen: set[tuple[str, bool]] = set()
        out = []
        for _, hit in sorted(self._found.values(), key=lambda v: v[0]):
            if (hit.product_id, hit.is_logo) in seen:
                continue
            seen.add((hit.product_id, hit.is_logo))
            out.append(hit)
        return out


def _mirror_hashes(thumb: np.ndarray) -> tuple[int, int]:
    return _whole_hashes(thumb[:, ::-1].astype(np.float64))


def relative_path(path: Path, base_dir: Path | None) -> str:
    """``path`` relative to ``base_dir`` (the registry's folder) when inside it, else as given."""
    if base_dir is not None:
        try:
            return path.resolve().relative_to(Path(base_dir).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()
