"""Match each listing's downloaded pictures against the registry's product photos and trademark logos.

Runs after the download stage (``pipelines.images.ListingImagesPipeline``), which leaves
``item["images"]`` and the pictures' hashes (``pipelines.image_hashes``); this stage sets
``item["image_hit"]`` to the best :class:`contract.ImageHit` (or None) for the scoring stage after it. A
listing the download stage did not see (no ``images`` field) passes untouched.

Settings:

``REGISTRY_PATH`` / ``spider.registry`` / ``spider.registry_path``
    The registry whose product photos and logos are matched: a loaded ``Registry`` on
    ``spider.registry``, or a path (``spider.registry_path``, ``spider.registry`` as given by
    ``-a registry=PATH``, or the setting). Without one, ``image_hit`` is not set. The registry is loaded
    and its index built once, on the first listing with pictures.
``IMAGE_HASH_CACHE_DIR`` (setting or environment; default ``<IMAGES_STORE>/.hashes`` for a local store)
    Where registered images' hashes are cached by file sha256, so a registry loads fast next time (the
    scoring stage's look inside the picture reads the same folder).
``IMAGES_STORE``, ``IMAGE_MAX_PIXELS``
    Where a picture whose hashes are no longer in memory is read back from, and the pixel cap it is
    decoded under (as in the download stage).
``IMAGE_MEMO_DIR`` (default ``<IMAGES_STORE>/.memo`` for a local store), ``IMAGE_MEMO`` (default on)
    Where the match of a listing's pictures is kept for the next run (``matchers.images.memo``): keyed by
    the pictures' hashes and thumbnails, their URLs, the registered pictures and the matcher's own code.

Stats (``images/...``): ``matched`` (a confident hit), ``near`` (a weaker one), ``match/reused`` (the
match kept from an earlier run), ``registry_errors`` (the registry, or one of its pictures, could not be
used: logged; the crawl goes on without it).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from contract import ImageHit
from contract import stats as keys
from matchers.images import ImageError, ImageHashes, ListingImage, RegistryImageIndex, hash_image_bytes
from matchers.images.memo import MISSING, Memo, content_digest, memo_folder
from pipelines.image_files import hash_cache_folder, local_folder
from pipelines.image_hashes import HASH_MEMORY_CACHE, hash_cache_for
from pipelines.images import DEFAULT_MAX_PIXELS
from pipelines.item_fields import set_if_declared
from registry import load_registry, path_from_settings

logger = logging.getLogger(__name__)

MATCHED, NEAR, REGISTRY_ERRORS = keys.IMAGES_MATCHED, keys.IMAGES_NEAR, keys.IMAGES_REGISTRY_ERRORS


class ImageMatchPipeline:
    """See the module docstring."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.images_folder = local_folder(settings.get("IMAGES_STORE"))
        self.max_pixels = settings.getint("IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
        self.hash_cache_dir = hash_cache_folder(settings)
        self._hashes = hash_cache_for(crawler)
        self._matches: OrderedDict[tuple, Any] = OrderedDict()  # the listing's images -> their ImageHit
        self._memo = Memo(memo_folder(settings, self.images_folder), "match")
        self._index: RegistryImageIndex | None = None
        self._index_loaded = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> ImageMatchPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        images = adapter.get("images")
        if not isinstance(images, list):
            return item  # the download stage did not run on it: nothing to match
        index = self._registry_index(spider or getattr(self.crawler, "spider", None))
        if index is None:
            return item
        listing_images = [ListingImage(entry["url"], entry["path"], hashes) for entry in images
                          if isinstance(entry, dict) and (hashes := self._hashes_of(entry)) is not None]
        hit = self._match(index, listing_images)
        if hit is not None:
            self.stats.inc_value(MATCHED if hit.confident else NEAR)
        set_if_declared(adapter, "image_hit", hit)
        return item

    def _match(self, index: RegistryImageIndex, listing_images: list[ListingImage]) -> Any:
        """The best hit of these pictures; listings often share pictures, so each set is matched once."""
        key = tuple((image.url, image.hashes.phash, image.hashes.dhash) for image in listing_images)
        if not key:
            return None
        if key in self._matches:
            self._matches.move_to_end(key)
            return self._matches[key]
        hit = self._matches[key] = self._kept_or_matched(index, listing_images)
        while len(self._matches) > HASH_MEMORY_CACHE:
            self._matches.popitem(last=False)
        return hit

    def _kept_or_matched(self, index: RegistryImageIndex, listing_images: list[ListingImage]) -> ImageHit | None:
        """The hit an earlier run found for the same pictures against the same registered ones, else matched now."""
        known = index.fingerprint and all(image.source is None for image in listing_images)
        memo_key = self._memo.key(index.fingerprint, [_decides(image) for image in listing_images]) if known else None
        kept = self._memo.get(memo_key)
        if kept is not MISSING:
            self.stats.inc_value(keys.IMAGES_MATCH_REUSED)
            return ImageHit.from_dict(kept)
        hit = index.match(listing_images)
        self._memo.put(memo_key, hit.as_dict() if hit is not None else None)
        return hit

    def _hashes_of(self, entry: dict) -> ImageHashes | None:
        """The picture's hashes as the download stage left them, else hashed again from its stored file."""
        hashes = self._hashes.get(entry.get("checksum"))
        if hashes is not None or self.images_folder is None or not entry.get("path") or not entry.get("checksum"):
            return hashes
        file = self.images_folder / str(entry["path"])
        try:
            hashes = hash_image_bytes(file.read_bytes(), source=str(file), max_pixels=self.max_pixels)
        except (OSError, ImageError) as exc:
            logger.warning("Stored image not matched, it could not be read again: %s (%s)", file, exc)
            return None
        self._hashes.put(entry["checksum"], hashes)
        return hashes

    def _registry_index(self, spider: Any) -> RegistryImageIndex | None:
        if self._index_loaded:
            return self._index
        self._index_loaded = True
        registry = getattr(spider, "registry", None)
        path = path_from_settings(self.crawler.settings, spider)
        if isinstance(registry, str | Path):  # `-a registry=PATH` leaves the path on the spider
            path, registry = path or registry, None
        try:
            if registry is None and path:
                registry = load_registry(path)
            if registry is not None and hasattr(registry, "products"):
                self._index = RegistryImageIndex.from_registry(registry, cache_dir=self.hash_cache_dir)
                for error in self._index.errors:
                    self.stats.inc_value(REGISTRY_ERRORS)
                    logger.error("Registered image not usable: %s", error)
        except Exception as exc:  # a broken registry must not lose the crawl; the CLI validates it first
            self.stats.inc_value(REGISTRY_ERRORS)
            logger.error("Registry %s not loaded for image matching: %s", path, exc)
            self._index = None
        return self._index


def _decides(image: ListingImage) -> list:
    """What the match of one listing picture depends on (with the registered pictures): its URL and stored path
    (a hit names them), its hashes and its thumbnail (the second stage compares it; without one it is skipped)."""
    thumb = image.hashes.thumb
    pixels = content_digest(f"{thumb.dtype}{thumb.shape}".encode(), thumb.tobytes()) if thumb is not None else None
    return [image.url, image.path, image.hashes.as_dict(), pixels]
