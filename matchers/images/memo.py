"""What the image stages decided about a picture, kept on disk and keyed by everything that decides it.

A monitor sees most listings again on its next run, with the same pictures. Their image match (the window
search of the second stage), the look for a registered photo inside the picture and the comparison picture
cost about two thirds of a replayed Taobao run's CPU after start-up, their hashes another 4 ms a picture to
decode and hash, and each gives the same answer for the same input. So each answer is kept, one small file per
answer, under a key built from:

- what the answer is about: the picture's content (its hashes and thumbnail, or its bytes), its URL and
  stored path (they are part of a hit), the registered pictures' contents (``RegistryImageIndex.fingerprint``);
- what computes it: the source of the matcher's modules, its data files (thresholds and recipe) and the
  versions of numpy, OpenCV, Pillow and imagehash. An upgrade or a retuned threshold never reads an answer
  made by other code; it makes new ones.

The folder is ``IMAGE_MEMO_DIR`` (default ``<IMAGES_STORE>/.memo``; ``IMAGE_MEMO = False`` keeps and reads
nothing); brands and workers can share one, as the key holds the registry's pictures. A damaged or unreadable
entry is computed again. A folder that cannot be written (read-only, full) is said once and the run goes on
computing; nothing is lost but time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MEMO_VERSION = 1  # bump when the layout of an entry changes
FOLDER = ".memo"  # under IMAGES_STORE when IMAGE_MEMO_DIR is not set
_PACKAGES = Path(__file__).resolve().parents[2]  # the folder that holds matchers/ and contract/
# what decides an answer: the modules that compute one (and word a comparison's captions), the data files they
# read, and the hit they give
_SOURCES = ("matchers/images/*.py", "matchers/image_local.py", "matchers/image_grid.py", "matchers/comparison.py",
            "matchers/signals.py", "matchers/data/image_thresholds.json", "matchers/data/image_local_thresholds.json",
            "contract/image_hit.py")
_LIBRARIES = ("numpy", "opencv-python-headless", "pillow", "imagehash")
MISSING = object()  # what get() returns for no answer (None is an answer: "no hit")


@cache
def matcher_digest() -> str:
    """A digest of the matcher's code, data files and libraries: part of every key."""
    digest = hashlib.blake2b(f"memo v{MEMO_VERSION}".encode(), digest_size=16)
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none;".encode())
    for pattern in _SOURCES:
        for path in sorted(_PACKAGES.glob(pattern)):
            digest.update(path.relative_to(_PACKAGES).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def content_digest(*chunks: bytes) -> str:
    """A short digest of some bytes (a picture, a thumbnail's pixels), for a key."""
    digest = hashlib.blake2b(digest_size=16)
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "little"))
        digest.update(chunk)
    return digest.hexdigest()


def memo_folder(settings: Any, images_folder: Path | None) -> Path | None:
    """Where the memo is: ``IMAGE_MEMO_DIR`` when set, else ``.memo`` in the local images store's folder
    (``pipelines.image_files.local_folder``); None (nothing kept, nothing read) when ``IMAGE_MEMO`` is off or
    there is neither (an S3, GCS or FTP store has no local folder)."""
    if not settings.getbool("IMAGE_MEMO", True):
        return None
    if settings.get("IMAGE_MEMO_DIR"):
        return Path(str(settings.get("IMAGE_MEMO_DIR")))
    return images_folder / FOLDER if images_folder is not None else None


class Memo:
    """One kind of answer (``kind``: "hashes", "match", "inside", "comparison", "thumbnail") in one folder; None:
    no memo."""

    def __init__(self, directory: Path | None, kind: str):
        self.directory = directory / kind if directory is not None else None
        self.kind = kind
        self.reused = 0
        self.kept = 0
        self._broken: str | None = None  # why the folder cannot be written, once said

    def key(self, *parts: Any) -> str | None:
        """The key of an answer decided by ``parts`` (JSON-able), or None when there is no memo."""
        if self.directory is None:
            return None
        text = json.dumps([matcher_digest(), self.kind, *parts], sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    def _file(self, key: str, suffix: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}{suffix}"

    def get(self, key: str | None) -> Any:
        """The kept answer (JSON), or ``MISSING`` when there is none or it cannot be read."""
        if key is None:
            return MISSING
        try:
            value = json.loads(self._file(key, ".json").read_text(encoding="utf-8"))["value"]
        except (OSError, ValueError, KeyError, TypeError):
            return MISSING
        self.reused += 1
        return value

    def put(self, key: str | None, value: Any) -> None:
        """Keep ``value`` (JSON-able) under ``key``."""
        if key is not None:
            self._write(key, ".json", json.dumps({"value": value}, ensure_ascii=False).encode("utf-8"))

    def get_file(self, key: str | None, suffix: str) -> Path | None:
        """The kept file (e.g. a picture), when there is one."""
        if key is None:
            return None
        path = self._file(key, suffix)
        if not path.is_file():
            return None
        self.reused += 1
        return path

    def put_file(self, key: str | None, suffix: str, source: Path) -> None:
        """Keep a copy of ``source`` under ``key``."""
        if key is not None:
            try:
                data = source.read_bytes()
            except OSError:
                return
            self._write(key, suffix, data)

    def _write(self, key: str, suffix: str, data: bytes) -> None:
        """Write whole or not at all: a temporary file of this process, then one rename (another process
        writing the same key at once writes the same bytes)."""
        if self._broken is not None:
            return
        final = self._file(key, suffix)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=final.parent, prefix=f".{key[:8]}-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, final)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._broken = f"{self.directory}: {exc.strerror or exc}"
            logger.warning("image memo %s not kept from now on, its folder cannot be written (%s); the run goes "
                           "on computing every answer", self.kind, self._broken)
            return
        self.kept += 1

