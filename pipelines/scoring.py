"""Scoring: add the contract's score fields (score, verdict, reason, ipr_id, product_id, signals, explanation).

The registry comes from the spider's ``registry_path`` attribute when it has one, else the ``REGISTRY_PATH``
setting; without either, items pass through untouched. An image stage placed before this one may leave an
``image_hit`` on the item (a ``contract.ImageHit`` or its dict form); it is used when present.
Verdicts are counted in stats as ``score/<verdict>``.

Two second looks at the listing's downloaded main image (``images[0]`` under ``IMAGES_STORE``), each only
where it can still change the verdict:

- **the photo inside the picture** (``matchers.image_local``): when the image stage found no confident
  hit, the registered photos are looked for as one part of the picture (a cell of a 3x3 grid by its
  hashes, then anywhere by local features: a grid tile, inside a frame or an app screenshot, under a
  sticker). A hit replaces ``image_hit``. ``IMAGE_LOCAL_STAGE`` (default on). What was found (or not) is
  kept for the next run under ``IMAGE_MEMO_DIR`` (``matchers.images.memo``; ``IMAGE_MEMO`` off: not kept),
  keyed by the picture's bytes, URL and path, the registered pictures and the matcher's code.
  Stats: ``images/local/checked``, ``images/local/matched`` (found now or kept), ``images/local/seconds``,
  ``images/local/reused`` (kept from an earlier run: not checked again).
- **the text inside the picture** (``matchers.ocr``): when the scorer says image text could change the
  verdict (no decisive text hit yet), the picture is read (cached by its checksum under
  ``OCR_CACHE_DIR``, default ``<IMAGES_STORE>/.ocr``), put on the listing as ``image_text`` and the
  listing scored again. ``OCR_ENABLED`` (default on), ``OCR_BUDGET`` (default 500: pictures read per
  run; cached ones are free). Stats: ``ocr/read``, ``ocr/cached``, ``ocr/skipped_budget``, ``ocr/off``
  (needed, but rapidocr-onnxruntime is not installed or OCR is switched off), ``ocr/errors``,
  ``ocr/seconds``.

WeChat, QQ and phone ids in the title and the image text go into ``signals["contacts"]``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from contract import SCORE_FIELDS, ImageHit, Verdict
from contract import stats as stat_keys
from contract.image_hit import is_confident
from crawlers.items import plain
from matchers.contacts import contacts_of
from matchers.images.memo import MISSING, Memo, content_digest, memo_folder
from matchers.score import Scorer
from pipelines.image_files import HASH_CACHE, hash_cache_folder, local_folder
from pipelines.item_fields import set_if_declared
from registry import load_registry, path_from_settings

logger = logging.getLogger(__name__)

DEFAULT_OCR_BUDGET = 500


class ScoringPipeline:
    def __init__(self, registry_path: str | None, stats=None, thresholds: dict | None = None, *,
                 images_store: str | Path | None = None, ocr_enabled: bool = True,
                 ocr_budget: int = DEFAULT_OCR_BUDGET, ocr_cache_dir: str | Path | None = None,
                 local_stage: bool = True, memo_dir: Path | None = None,
                 hash_cache_dir: Path | None = None):  # fmt: skip
        self.registry_path = registry_path
        self.stats = stats
        self.thresholds = thresholds
        self.scorer: Scorer | None = None
        self.images_store = Path(images_store) if images_store else None
        self.ocr_enabled = ocr_enabled
        self.ocr_budget = ocr_budget
        self.ocr_reads = 0
        if ocr_cache_dir is None and self.images_store is not None:
            ocr_cache_dir = self.images_store / ".ocr"
        self.ocr_cache_dir = Path(ocr_cache_dir) if ocr_cache_dir else None
        self._ocr_cache = None
        self.local_stage = local_stage
        # the registered pictures' hashes (pipelines.image_files.hash_cache_folder)
        if hash_cache_dir is None and self.images_store is not None:
            hash_cache_dir = self.images_store / HASH_CACHE
        self.hash_cache_dir = hash_cache_dir
        self._local_index = None
        self._memo = Memo(memo_dir, "inside")  # memo_dir: matchers.images.memo.memo_folder
        if registry_path:
            self._load(registry_path)

    @classmethod
    def from_crawler(cls, crawler):
        spider = getattr(crawler, "spider", None)
        settings = crawler.settings
        path = path_from_settings(settings, spider)
        local = local_folder(settings.get("IMAGES_STORE"))
        return cls(
            str(path) if path else None, crawler.stats, settings.getdict("SCORING_THRESHOLDS") or None,
            images_store=local,
            ocr_enabled=settings.getbool("OCR_ENABLED", True),
            ocr_budget=settings.getint("OCR_BUDGET", DEFAULT_OCR_BUDGET),
            ocr_cache_dir=settings.get("OCR_CACHE_DIR"),
            local_stage=settings.getbool("IMAGE_LOCAL_STAGE", True),
            memo_dir=memo_folder(settings, local),
            hash_cache_dir=hash_cache_folder(settings),
        )

    def _load(self, path: str) -> None:
        # a RegistryError stops the crawl: nothing is judged against a bad registry
        registry = load_registry(path)
        for warning in registry.warnings:
            logger.warning("registry %s: %s", registry.path, warning)
        self.scorer = Scorer(registry, self.thresholds)
        self.registry_path = path

    def open_spider(self, spider=None):
        path = getattr(spider, "registry_path", None)
        if self.scorer is None and path:
            self._load(str(path))

    def process_item(self, item, spider=None):
        if self.scorer is None:
            return item
        adapter = ItemAdapter(item)
        listing = plain(item)  # shallow: the scorer reads, it does not modify
        main = self._main_image(listing)
        hit = listing.get("image_hit")
        if main is not None and self.local_stage and not is_confident(hit):
            local = self._look_inside(main)
            if local is not None:
                hit = listing["image_hit"] = local
                adapter["image_hit"] = local
        result = self.scorer.score(listing, hit)
        if main is not None and self._could_change(result):
            texts = self._image_text(main)
            if texts:
                listing["image_text"] = texts
                set_if_declared(adapter, "image_text", texts)
                result = self.scorer.score(listing, hit)
        contacts = contacts_of(listing)
        if contacts:
            result["signals"] = {**result["signals"], "contacts": contacts}
        for key in SCORE_FIELDS:
            adapter[key] = result[key]
        if self.stats is not None:
            self.stats.inc_value(stat_keys.score(result["verdict"]))
        return item

    # ---- the listing's main image

    def _main_image(self, listing: dict) -> dict | None:
        """``{"file", "url", "path", "checksum"}`` of the downloaded main image, when there is one."""
        images = listing.get("images")
        if self.images_store is None or not isinstance(images, list) or not images:
            return None
        first = images[0]
        if not isinstance(first, dict) or not first.get("path"):
            return None
        file = (self.images_store / str(first["path"])).resolve()
        if not file.is_relative_to(self.images_store.resolve()) or not file.is_file():
            return None
        return {"file": file, "url": str(first.get("url") or ""), "path": str(first["path"]),
                "checksum": str(first.get("checksum") or "")}

    def _could_change(self, result: dict) -> bool:
        decides = getattr(self.scorer, "needs_image_text", None)
        if decides is not None:
            return bool(decides(result))
        return result["verdict"] not in (Verdict.INFRINGING, Verdict.AUTHORIZED)

    # ---- the photo inside the picture

    def _look_inside(self, main: dict) -> Any:
        from matchers.image_local import find_inside
        from matchers.images import RegistryImageIndex

        if self._local_index is None:
            self._local_index = RegistryImageIndex.from_registry(self.scorer.registry, cache_dir=self.hash_cache_dir)
        if not len(self._local_index):
            return None  # no registered photos or logos
        data, memo_key = self._inside_key(main)
        kept = self._memo.get(memo_key)
        if kept is not MISSING:
            self._inc(stat_keys.IMAGES_LOCAL_REUSED)
            hit = ImageHit.from_dict(kept)
        else:
            self._inc(stat_keys.IMAGES_LOCAL_CHECKED)
            start = time.perf_counter()
            try:
                hit = find_inside(self._local_index, main["file"] if data is None else data, main["url"], main["path"])
            finally:
                self._inc(stat_keys.IMAGES_LOCAL_SECONDS, time.perf_counter() - start)
            self._memo.put(memo_key, hit.as_dict() if hit is not None else None)
        if hit is not None:
            self._inc(stat_keys.IMAGES_LOCAL_MATCHED)
        return hit

    def _inside_key(self, main: dict) -> tuple[bytes | None, str | None]:
        """The picture's bytes (read once, for the key and the look) and the memo key of looking inside it: its
        bytes, URL and path, and the registered pictures. (None, None) without a memo or a readable file."""
        if self._memo.directory is None or not self._local_index.fingerprint:
            return None, None
        try:
            data = Path(main["file"]).read_bytes()
        except OSError:
            return None, None  # find_inside says why it cannot read the picture
        key = self._memo.key(self._local_index.fingerprint, content_digest(data), main["url"], main["path"])
        return data, key

    # ---- the text inside the picture

    def _image_text(self, main: dict) -> list[dict]:
        from matchers.images import ImageError
        from matchers.ocr import ImageTextCache, ocr_engine

        if not self.ocr_enabled:
            self._inc(stat_keys.OCR_OFF)
            return []
        if self._ocr_cache is None:
            self._ocr_cache = ImageTextCache(self.ocr_cache_dir)
        cached = self._ocr_cache.get(main["checksum"])
        if cached is not None:  # before the engine: a run whose pictures were all read before never loads it
            self._inc(stat_keys.OCR_CACHED)
            return [{**t, "image": main["path"]} for t in cached]
        engine = ocr_engine()
        if engine is None:
            self._inc(stat_keys.OCR_OFF)
            return []
        if self.ocr_reads >= self.ocr_budget:
            self._inc(stat_keys.OCR_SKIPPED_BUDGET)
            return []
        self.ocr_reads += 1
        start = time.perf_counter()
        try:
            texts = engine.read(main["file"], image=main["path"])
        except ImageError as exc:
            self._inc(stat_keys.OCR_ERRORS)
            logger.warning("OCR skipped: %s", exc)
            return []
        finally:
            self._inc(stat_keys.OCR_SECONDS, time.perf_counter() - start)
        self._inc(stat_keys.OCR_READ)
        self._ocr_cache.put(main["checksum"], texts)
        return texts

    def _inc(self, key: str, value: float = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, value)

