"""The disk cache of registered images' hashes and thumbnails, keyed by file sha256 and recipe version."""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from matchers.images.hashes import ImageHashes
from matchers.images.recipe import RECIPE_VERSION

logger = logging.getLogger(__name__)


def hashes_as_json(hashes: ImageHashes) -> dict:
    """``hashes`` with their thumbnail as JSON-able data (``hashes_from_json`` reads it back)."""
    raw = hashes.as_dict()
    if hashes.thumb is not None:
        raw["thumb"] = base64.b64encode(np.ascontiguousarray(hashes.thumb).tobytes()).decode("ascii")
        raw["thumb_shape"] = list(hashes.thumb.shape)
    return raw


def hashes_from_json(raw: dict) -> ImageHashes:
    """The hashes and thumbnail ``hashes_as_json`` wrote; ValueError, KeyError or TypeError if damaged."""
    thumb = np.frombuffer(base64.b64decode(raw["thumb"]), dtype=np.uint8).reshape(raw["thumb_shape"])
    return replace(ImageHashes.from_dict(raw), thumb=thumb)


class DiskCache:
    """Reference hashes and thumbnails by file sha256 (and recipe version), one JSON file each."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.hits = 0
        self.misses = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def _file(self, sha: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{sha}.v{RECIPE_VERSION}.json"

    def get(self, sha: str) -> ImageHashes | None:
        if self.directory is None:
            return None
        path = self._file(sha)
        try:
            hashes = hashes_from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged entry: hash again
        self.hits += 1
        return hashes

    def put(self, sha: str, hashes: ImageHashes) -> None:
        self.misses += 1
        if self.directory is None or hashes.thumb is None:
            return
        raw = hashes_as_json(hashes)
        # a temporary file of this writer's own: workers sharing an images store write the same entry at once
        try:
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{sha[:8]}-", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(json.dumps(raw))
                os.replace(temporary, self._file(sha))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a full or read-only folder: the hashes are used, only not kept for next time
            logger.warning("registered image hashes not cached in %s: %s", self.directory, exc.strerror or exc)
