"""The hashes of the listing images a crawl has seen, shared by the stage that computes them
(``pipelines.images``) and the stage that matches them (``pipelines.image_match``).

Kept in memory by file checksum, the most recent ``HASH_MEMORY_CACHE`` of them (each with its thumbnail,
~14 kB); an older one is hashed again from its stored file when it is needed.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

from matchers.images import ImageHashes

HASH_MEMORY_CACHE = 2_048


class ImageHashCache:
    """The most recent images' hashes by checksum (least recently used dropped first)."""

    def __init__(self, size: int = HASH_MEMORY_CACHE) -> None:
        self.size = size
        self._hashes: OrderedDict[str, ImageHashes] = OrderedDict()

    def get(self, checksum: str | None) -> ImageHashes | None:
        hashes = self._hashes.get(checksum or "")
        if hashes is not None:
            self._hashes.move_to_end(checksum)
        return hashes

    def put(self, checksum: str, hashes: ImageHashes) -> None:
        self._hashes[checksum] = hashes
        self._hashes.move_to_end(checksum)
        while len(self._hashes) > self.size:
            self._hashes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._hashes)


_per_crawler: weakref.WeakKeyDictionary[Any, ImageHashCache] = weakref.WeakKeyDictionary()


def hash_cache_for(crawler: Any) -> ImageHashCache:
    """The one cache of ``crawler``'s pipelines (a fresh one for a crawler seen the first time)."""
    cache = _per_crawler.get(crawler)
    if cache is None:
        cache = _per_crawler[crawler] = ImageHashCache()
    return cache
