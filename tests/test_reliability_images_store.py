"""Images that could not be downloaded, saved or hashed are counted (``images/failed``), logged once with the
listing and the URL, and never left half-written where a later run would take them as up to date
(RELIABILITY.md, "Image files"). Real crawls (tests/image_crawl.py's runner) on a real full
filesystem: a small tmpfs, or, where mounting is not allowed, a file-size limit on the crawl."""

from __future__ import annotations

import contextlib
import hashlib
import resource
import signal
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from tests.image_crawl import ImageCrawl, PictureServer, crawl_images, crawl_side_by_side, picture_bytes

LOCAL = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}
FREE_BYTES = 8 * 1024  # less than any test picture: each write starts, then runs out of space


def _stored_name(url: str) -> str:
    return f"full/{hashlib.sha1(url.encode()).hexdigest()}.jpg"  # Scrapy's layout


def _decodes(path: Path) -> bool:
    try:
        with Image.open(BytesIO(path.read_bytes())) as img:
            img.load()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _full_filesystem(folder: Path) -> Iterator[tuple[Path, object]]:
    """``folder`` on a filesystem with FREE_BYTES left; yields (folder, preexec_fn for the crawl).

    As root, a 256 KiB tmpfs filled up to FREE_BYTES (ENOSPC, a real full disk). Otherwise the crawl
    runs with RLIMIT_FSIZE at FREE_BYTES (EFBIG): the same failed, partly done write.
    """
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    try:
        if mounted:
            filler = folder / "filler"
            with filler.open("wb") as f, contextlib.suppress(OSError):
                f.write(b"\0" * (256 * 1024 - FREE_BYTES))
            yield folder, None
        else:
            def limit_file_size() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
                resource.setrlimit(resource.RLIMIT_FSIZE, (FREE_BYTES, FREE_BYTES))

            yield folder, limit_file_size
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_leaves_no_partial_image_and_every_listing_is_counted_logged_once_and_kept(tmp_path):
    with PictureServer() as server, _full_filesystem(tmp_path / "store") as (store, preexec):
        urls = {"1": server.url("/copy.jpg"), "2": server.url("/unrelated.jpg")}
        items = [{"platform": "taobao", "listing_id": i, "image_urls": [u]} for i, u in urls.items()]
        rows, stats = crawl_images(tmp_path, items, LOCAL, registry=False, store=store, preexec_fn=preexec)
        leftovers = [p.name for p in (store / "full").iterdir()] if (store / "full").exists() else []
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert [r["listing_id"] for r in rows] == ["1", "2"]  # nothing lost
    assert all(r["images"] == [] for r in rows)
    assert (stats.get("images/failed"), stats.get("images/failed/save")) == (2, 2)
    for listing_id, url in urls.items():
        lines = [line for line in log.splitlines() if url in line]
        assert len(lines) == 1, lines  # logged once, by us, not again by Scrapy's media pipeline
        assert f"taobao {listing_id}" in lines[0] and "save" in lines[0]
    assert leftovers == []  # no partial picture under its final name, no temporary file left behind


def _partial_image_left_by_an_earlier_run(server, folder):
    """Two pictures already stored: one cut short (the earlier run's disk filled), one whole."""
    broken_url, good_url = server.url("/copy.jpg"), server.url("/unrelated.jpg")
    (folder / "store" / "full").mkdir(parents=True)
    whole = picture_bytes()["/copy.jpg"]
    (folder / "store" / _stored_name(broken_url)).write_bytes(whole[: len(whole) // 3])
    (folder / "store" / _stored_name(good_url)).write_bytes(picture_bytes()["/unrelated.jpg"])
    items = [{"listing_id": "1", "image_urls": [broken_url]}, {"listing_id": "2", "image_urls": [good_url]}]
    return ImageCrawl(folder, items, LOCAL, registry=False)


def _missing_and_corrupt(server, folder):
    urls = {"1": server.url("/missing.jpg"), "2": server.url("/truncated.jpg"), "3": server.url("/copy.jpg")}
    items = [{"platform": "1688", "listing_id": i, "image_urls": [u]} for i, u in urls.items()]
    return ImageCrawl(folder, items, LOCAL, registry=False)


def _two_listings_sharing_a_failed_image(server, folder):
    url = server.url("/missing.jpg")
    items = [{"listing_id": "1", "image_urls": [url]}, {"listing_id": "2", "image_urls": [url]}]
    return ImageCrawl(folder, items, LOCAL, registry=False)


ODD_BODIES = [b"", b"<html>captcha</html>"]


def _odd_body(body: bytes):
    def plan(server, folder):
        server.pictures["/odd.jpg"] = body
        return ImageCrawl(folder, [{"listing_id": "1", "image_urls": [server.url("/odd.jpg")]}], LOCAL, registry=False)

    return plan


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """This file's crawls but the full disk's (whose limit is the whole process's), each against its own
    picture server, run side by side in one Scrapy process once per test process; read-only."""
    plans = {"partial": _partial_image_left_by_an_earlier_run, "missing and corrupt": _missing_and_corrupt,
             "shared failure": _two_listings_sharing_a_failed_image,
             **{f"odd {body!r}": _odd_body(body) for body in ODD_BODIES}}
    return crawl_side_by_side(plans, tmp_path_factory.mktemp("store-crawls"))


def test_a_partial_image_left_by_an_earlier_run_is_fetched_again_not_kept_as_fresh(crawls):
    partial = crawls["partial"]
    broken = partial.store / _stored_name(partial.url("/copy.jpg"))
    assert partial.requested == ["/copy.jpg"]  # the good cached picture is still up to date
    assert broken.read_bytes() == picture_bytes()["/copy.jpg"] and _decodes(broken)
    assert partial.rows[0]["images"][0]["phash"] and partial.rows[1]["images"][0]["phash"]
    assert partial.stats.get("images/cache_undecodable") == 1 and "images/failed" not in partial.stats


def test_a_missing_and_a_corrupt_image_are_failures_each_logged_once_with_listing_and_url(crawls):
    crawl = crawls["missing and corrupt"]
    rows, stats, log = crawl.rows, crawl.stats, crawl.log
    urls = {"1": crawl.url("/missing.jpg"), "2": crawl.url("/truncated.jpg")}
    assert [r["listing_id"] for r in rows] == ["1", "2", "3"] and rows[2]["images"]
    assert stats.get("images/failed") == 2
    assert (stats.get("images/failed/download"), stats.get("images/failed/undecodable")) == (1, 1)
    for listing_id, reason in (("1", "download"), ("2", "undecodable")):
        lines = [line for line in log.splitlines() if urls[listing_id] in line]
        assert len(lines) == 1, lines
        assert f"1688 {listing_id}" in lines[0] and reason in lines[0]


def test_two_listings_sharing_a_failed_image_are_both_counted(crawls):
    shared = crawls["shared failure"]
    assert len(shared.rows) == 2 and shared.stats.get("images/failed/download") == 2


@pytest.mark.parametrize("body", ODD_BODIES)
def test_an_empty_or_html_body_is_a_failure_of_its_listing(crawls, body):
    odd = crawls[f"odd {body!r}"]
    assert odd.rows[0]["images"] == [] and odd.stats.get("images/failed") == 1
