"""The listing images pipeline's files: written whole or not at all, and failures that say which listing lost what.

A picture written in place and cut short (a full disk, a killed process) has a fresh modification time,
so Scrapy's freshness check would take it as up to date for ``IMAGES_EXPIRES`` days and the listing
would never be matched. Pictures are therefore written to a temporary name in the same folder and
renamed into place, which is atomic on a POSIX filesystem: the final name holds the whole picture or
nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.pipelines import media

# Scrapy's media pipeline logs every failed media request again, with a traceback, unless it is this
# (private) "filtered" kind; our failures are logged once, with the listing, by the pipeline itself.
_QuietFileException = getattr(media, "_MediaRequestFiltered", media.FileException)

# ``images/failed/<reason>``: why a listing is without one of its images
FAILED_DOWNLOAD = "download"  # network error, HTTP status other than 200, empty body, over IMAGE_MAX_BYTES
FAILED_UNDECODABLE = "undecodable"  # not an image, corrupt or truncated, over the pixel cap
FAILED_SAVE = "save"  # the images folder refused the file (full disk, permissions, read-only)
FAILED_HASH = "hash"  # stored, but the stored file could not be read back and hashed


def local_folder(images_store: Any) -> Path | None:
    """``IMAGES_STORE`` as a local folder; None for S3, GCS, FTP (their pictures are not read back here)."""
    if not images_store or ("://" in str(images_store) and not str(images_store).startswith("file://")):
        return None
    return Path(str(images_store).removeprefix("file://"))


HASH_CACHE = ".hashes"  # the registered pictures' hashes, in the images store's folder unless told otherwise


def hash_cache_folder(settings: Any) -> Path | None:
    """Where registered pictures' hashes are cached (``matchers.images.cache``): ``IMAGE_HASH_CACHE_DIR``
    (setting or environment), else ``.hashes`` in the local images store; None when there is neither."""
    configured = settings.get("IMAGE_HASH_CACHE_DIR")
    if configured:
        return Path(str(configured))
    folder = local_folder(settings.get("IMAGES_STORE"))
    return folder / HASH_CACHE if folder is not None else None


class ImageFailed(_QuietFileException):
    """One image of a listing that was not downloaded, saved or hashed: ``reason`` (see above), ``url``, ``detail``.

    Scrapy's media pipeline caches this per URL, so every listing sharing the picture sees the same one.
    """

    def __init__(self, reason: str, url: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.url, self.detail = reason, url, detail


def write_atomically(target: Path, body: bytes) -> None:
    """Write ``body`` to ``target`` through a temporary file beside it, renamed into place.

    On any failure the temporary file is removed and ``target`` is left as it was. No fsync: a power cut
    may still leave an empty or partial file, which the pipeline's cache check finds undecodable and
    fetches again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.part")
    try:
        with temporary.open("xb") as f:
            f.write(body)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def listing_label(item: Any) -> str:
    """``platform listing_id`` for log lines ("taobao 6543210")."""
    adapter = ItemAdapter(item)
    words = [str(adapter.get(k)) for k in ("platform", "listing_id") if adapter.get(k) not in (None, "")]
    return " ".join(words) or "(listing without an id)"


def failure_reason(exc: BaseException | None) -> tuple[str, str, str]:
    """(reason, url, detail) of a failed image result, whatever raised it."""
    if isinstance(exc, ImageFailed):
        return exc.reason, exc.url, exc.detail
    return FAILED_DOWNLOAD, "", str(exc) or type(exc).__name__
