"""Download each listing's main image(s) and hash them; the next stage (``pipelines.image_match``)
matches the hashes against the registry, of which this stage knows nothing.

``ListingImagesPipeline`` is Scrapy's ``ImagesPipeline`` with the safety this project needs. It keeps
Scrapy's layout: files under ``IMAGES_STORE`` at ``full/<sha1(url)>.<ext>`` and
``item["images"] = [{url, path, checksum, phash}]`` (docs/contract.md §4), ``path`` relative to
``IMAGES_STORE``. The original bytes are stored (evidence must be what the platform served; Scrapy's
pipeline would re-encode to JPEG). The hashes of each picture are kept for the matching stage
(``pipelines.image_hashes``).

Settings:

``IMAGES_STORE``
    Where images are written (required, as for Scrapy's pipeline).
``IMAGES_PER_LISTING`` (default 1)
    How many of ``image_urls`` to fetch per listing, in order: the first is the main image.
``IMAGE_ALLOWED_HOSTS`` (default: the platforms' image CDNs, ``*.alicdn.com``)
    Host patterns (``fnmatch``; ``*.alicdn.com`` also matches ``alicdn.com``). A URL on any other
    host, or not http(s), is never requested; counted as ``images/refused_host``.
``IMAGE_MAX_BYTES`` (default 8 MiB)
    Per-image download cap (Scrapy's ``download_maxsize`` for these requests).
``IMAGE_MAX_PIXELS`` (default 40,000,000)
    Images whose header declares more pixels are not decoded (decompression bombs).
``IMAGE_ALLOW_PRIVATE_ADDRESSES`` (default False)
    In live mode (no ``REPLAY_DIR``) a host that resolves to a loopback, private, link-local,
    reserved or multicast address is never fetched (SSRF guard), counted as
    ``images/refused_private_address``. A name in ``HOST_MAP`` is checked at the address it maps to. Tests that serve images from 127.0.0.1 turn this on.
    In replay mode (``REPLAY_DIR`` set) nothing is resolved: the replay handler serves the bytes.

Stats (``images/...``): ``requested``, ``refused_host``, ``refused_private_address``,
``download_failed``, ``corrupt`` (undecodable: truncated, not an image, HTML served as an image,
too many pixels), ``hashed`` (pictures whose hashes this run has), ``hashes/reused`` (of those, read from the
image memo: the same bytes hashed by an earlier run, ``matchers.images.memo``), ``hash_cache_hit``,
``cache_undecodable`` (a stored file from an earlier run that does not decode: fetched again).
A bad image is skipped and counted; the listing is always kept.

``images/failed`` counts, per listing, each image that was requested but is not in ``item["images"]``
(not downloaded, not saved, or not hashed), with ``images/failed/<reason>`` (``download``,
``undecodable``, ``save``, ``hash``: pipelines/image_files.py); each is logged once with the listing
and the URL. The run's exit code and summary count these as errors.

Files are written to a temporary name and renamed into place (pipelines/image_files.py), so a full disk
or a killed process never leaves a partial picture under its final name; and a stored picture is only
taken as up to date (``IMAGES_EXPIRES``) when it decodes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import logging
import mimetypes
import socket
import time
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.pipelines.files import FSFilesStore
from scrapy.pipelines.images import ImagesPipeline
from scrapy.utils.defer import ensure_awaitable
from scrapy.utils.python import to_bytes

from contract import stats as keys
from crawlers.resolver import host_map_from_settings, mapped_address
from matchers.images import ImageError, ImageHashes, hash_image_bytes
from matchers.images.cache import hashes_as_json, hashes_from_json
from matchers.images.memo import MISSING, Memo, content_digest, memo_folder
from pipelines.image_files import (
    FAILED_DOWNLOAD,
    FAILED_HASH,
    FAILED_SAVE,
    FAILED_UNDECODABLE,
    ImageFailed,
    failure_reason,
    listing_label,
    local_folder,
    write_atomically,
)
from pipelines.image_hashes import hash_cache_for
from pipelines.item_fields import set_if_declared

logger = logging.getLogger(__name__)

DEFAULT_ALLOWED_HOSTS = ("*.alicdn.com",)  # docs/platforms.md: Taobao, 1688, Alibaba.com: img, gw, g-search1..3, cbu01, s
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}


def host_allowed(host: str, patterns: list[str] | tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower()
        if fnmatch.fnmatchcase(host, pattern):
            return True
        if pattern.startswith("*.") and host == pattern[2:]:
            return True
    return False


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
        or ip.is_unspecified
    )  # fmt: skip


def _kept_hashes(kept: Any) -> ImageHashes | None:
    """The hashes the memo kept, or None when there are none or the entry is damaged (hashed again)."""
    if kept is MISSING:
        return None
    try:
        return hashes_from_json(kept)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class ListingImagesPipeline(ImagesPipeline):
    """See the module docstring."""

    def __init__(self, store_uri: Any, download_func: None = None, *, crawler: Any):
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.per_listing = settings.getint("IMAGES_PER_LISTING", 1)
        self.allowed_hosts = tuple(settings.getlist("IMAGE_ALLOWED_HOSTS") or DEFAULT_ALLOWED_HOSTS)
        self.max_bytes = settings.getint("IMAGE_MAX_BYTES", DEFAULT_MAX_BYTES)
        self.max_pixels = settings.getint("IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
        self.replay = bool(settings.get("REPLAY_DIR"))
        self.allow_private = settings.getbool("IMAGE_ALLOW_PRIVATE_ADDRESSES", False)
        self.host_map = host_map_from_settings(settings)  # the names the crawl resolves from HOST_MAP
        self._hashes = hash_cache_for(crawler)  # checksum -> hashes, read by the matching stage
        self._memo = Memo(memo_folder(settings, local_folder(store_uri)), "hashes")  # and from one run to the next
        self._address_ok: dict[str, bool] = {}

    # ---- which requests are made

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        urls = ItemAdapter(item).get(self.images_urls_field) or []
        if isinstance(urls, str):
            urls = [urls]
        requests = []
        for url in list(urls)[: max(self.per_listing, 0)]:
            reason = self._refusal(url)
            if reason:
                self._inc(reason)
                logger.info("Image not requested (%s): %s", reason.split("/")[-1], url)
                continue
            self._inc(keys.IMAGES_REQUESTED)
            requests.append(Request(url, meta={"download_maxsize": self.max_bytes, "download_warnsize": 0}))
        return requests

    def _refusal(self, url: str) -> str | None:
        try:
            parsed = urlparse(url)
            host = parsed.hostname or ""
        except ValueError:
            return keys.IMAGES_REFUSED_HOST
        if parsed.scheme not in ("http", "https") or not host or not host_allowed(host, self.allowed_hosts):
            return keys.IMAGES_REFUSED_HOST
        if self.replay or self.allow_private:
            return None
        if not self._resolves_public(host):
            return keys.IMAGES_REFUSED_PRIVATE
        return None

    def _resolves_public(self, host: str) -> bool:
        """Every address the host resolves to must be public (checked once per host and crawl).

        Twisted resolves again when it connects; the CDN allow-list is the first line of defence,
        this check stops an allowed name that points into the private network.
        """
        if host not in self._address_ok:
            try:
                ipaddress.ip_address(host)
                addresses = [host]
            except ValueError:
                addresses = []
            mapped = mapped_address(self.host_map, host)
            if mapped is not None:  # where the download will really go, not what DNS says
                addresses = [mapped]
            elif not addresses:
                try:
                    addresses = [info[4][0] for info in socket.getaddrinfo(host, None)]
                except (OSError, UnicodeError):
                    addresses = []  # unresolvable: let the download fail and be counted as usual
            self._address_ok[host] = all(is_public_address(a.split("%")[0]) for a in addresses)
        return self._address_ok[host]

    # ---- what happens to a downloaded image

    def file_path(self, request: Request, response: Any = None, info: Any = None, *, item: Any = None) -> str:
        guid = hashlib.sha1(to_bytes(request.url)).hexdigest()  # Scrapy's layout
        ext = Path(urlparse(request.url).path).suffix.lower()
        if ext not in _EXTENSIONS:
            ext = ".jpg"
        return f"full/{guid}{'.jpg' if ext == '.jpeg' else ext}"

    async def image_downloaded(self, response: Any, request: Request, info: Any, *, item: Any = None) -> str:
        body = response.body
        checksum = hashlib.md5(body).hexdigest()  # Scrapy's checksum field is md5
        try:
            self._hash_once(checksum, body, request.url)
        except ImageError as exc:
            self._inc(keys.IMAGES_CORRUPT)
            raise ImageFailed(FAILED_UNDECODABLE, request.url, str(exc)) from exc
        path = self.file_path(request, response=response, info=info, item=item)
        try:
            if isinstance(self.store, FSFilesStore):
                write_atomically(Path(self.store.basedir, *path.split("/")), body)
            else:  # S3, GCS, FTP: the object appears whole when its upload completes
                ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
                await ensure_awaitable(
                    self.store.persist_file(path, BytesIO(body), info, headers={"Content-Type": ctype})
                )
        except OSError as exc:
            raise ImageFailed(FAILED_SAVE, request.url, f"{exc.strerror or exc} ({path})") from exc
        return checksum

    def _hash_once(self, checksum: str, body: bytes, source: str) -> ImageHashes:
        """The image's hashes, computed once per content and kept in the image memo for the next run (a
        picture that decoded once decodes again); raises ``ImageError`` if it does not decode."""
        known = self._hashes.get(checksum)
        if known is not None:
            self._inc(keys.IMAGES_HASH_CACHE_HIT)
            return known
        key = self._memo.key(content_digest(body), self.max_pixels)
        hashes = _kept_hashes(self._memo.get(key))
        if hashes is not None:
            self._inc(keys.IMAGES_HASHES_REUSED)
        else:
            hashes = hash_image_bytes(body, source=source, max_pixels=self.max_pixels)
            self._memo.put(key, hashes_as_json(hashes))
        self._inc(keys.IMAGES_HASHED)
        self._hashes.put(checksum, hashes)
        return hashes

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> Any:
        """A stored picture younger than ``IMAGES_EXPIRES`` is used only if it decodes; else fetched again."""
        if not isinstance(self.store, FSFilesStore):
            # S3, GCS, FTP: a stored copy cannot be read back here to be hashed, and a listing whose
            # picture is not hashed is never matched, so the picture is fetched every time
            return None
        path = self.file_path(request, info=info, item=item)
        file = Path(self.store.basedir, *path.split("/"))
        try:
            if (time.time() - file.stat().st_mtime) / 86_400 > self.expires:
                return None
            body = file.read_bytes()
        except OSError:
            return None  # not stored yet (or unreadable): download it
        checksum = hashlib.md5(body).hexdigest()
        try:
            hashes = self._hash_once(checksum, body, str(file))
        except ImageError as exc:
            # a partial file from an earlier run (full disk, killed process): not up to date
            self._inc(keys.IMAGES_CACHE_UNDECODABLE)
            logger.info("Stored image does not decode, fetching it again: %s (%s)", request.url, exc)
            return None
        self.inc_stats("uptodate")
        return {"url": request.url, "path": path, "checksum": checksum, "phash": hashes.phash}

    async def media_downloaded(self, response: Any, request: Request, info: Any, *, item: Any = None) -> Any:
        # Scrapy's own version logs each failure as well; here item_completed logs it once, with the listing
        if response.status != 200:
            raise ImageFailed(FAILED_DOWNLOAD, request.url, f"HTTP status {response.status}")
        if not response.body:
            raise ImageFailed(FAILED_DOWNLOAD, request.url, "empty body (0 bytes)")
        self.inc_stats("cached" if "cached" in response.flags else "downloaded")
        path = self.file_path(request, response=response, info=info, item=item)
        checksum = await self.image_downloaded(response, request, info, item=item)
        hashes = self._hashes.get(checksum)
        return {"url": request.url, "path": path, "checksum": checksum, "phash": hashes.phash if hashes else None}

    def media_failed(self, failure: Any, request: Request, info: Any) -> Any:
        self._inc(keys.IMAGES_DOWNLOAD_FAILED)
        if isinstance(failure.value, ImageFailed):
            raise failure.value
        raise ImageFailed(FAILED_DOWNLOAD, request.url, str(failure.value) or type(failure.value).__name__)

    # ---- the item

    def item_completed(self, results: list, item: Any, info: Any) -> Any:
        adapter = ItemAdapter(item)
        images = []
        for ok, value in results:
            if not ok:
                self._image_failed(item, *failure_reason(getattr(value, "value", value)))
                continue
            entry = {k: value.get(k) for k in ("url", "path", "checksum", "phash")}
            if entry["phash"] is None:  # hashes evicted from memory: read the stored file again
                hashes = self._hashes_from_store(entry)
                entry["phash"] = hashes.phash if hashes else None
                if hashes is None:
                    self._image_failed(item, FAILED_HASH, entry["url"], f"stored file not readable ({entry['path']})")
            images.append(entry)
        set_if_declared(adapter, self.images_result_field, images)
        return item

    def _hashes_from_store(self, entry: dict) -> ImageHashes | None:
        if not isinstance(self.store, FSFilesStore) or not entry.get("path"):
            return None
        file = Path(self.store.basedir) / entry["path"]
        try:
            body = file.read_bytes()
            return self._hash_once(entry.get("checksum") or hashlib.md5(body).hexdigest(), body, str(file))
        except (OSError, ImageError):
            return None

    def _image_failed(self, item: Any, reason: str, url: str, detail: str) -> None:
        """One image this listing is without: counted and logged once (a full disk is ours to fix: an error)."""
        self._inc(keys.IMAGES_FAILED)
        self._inc(keys.image_failed(reason))
        log = logger.error if reason in (FAILED_SAVE, FAILED_HASH) else logger.warning
        log("Image not stored for listing %s (%s): %s: %s", listing_label(item), reason, url, detail)

    def _inc(self, key: str) -> None:
        self.crawler.stats.inc_value(key)

