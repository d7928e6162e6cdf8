"""The download stage (``pipelines.images.ListingImagesPipeline``) in real Scrapy crawls against a local HTTP
server on 127.0.0.1: only the platforms' image hosts, the original bytes in Scrapy's layout, each picture
hashed once, bad pictures counted and their listings kept; it knows nothing of the registry."""

from __future__ import annotations

import pytest

from pipelines.images import host_allowed, is_public_address
from tests.image_crawl import ROOT, ImageCrawl, crawl_side_by_side, every_kind_of_picture, picture_bytes

LOCAL = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}


def _loopback_names(server, folder):
    """Live mode (no replay, private addresses not allowed): the server by its address and by ``localhost``."""
    items = [
        {"listing_id": "1", "image_urls": [server.url("/copy.jpg")]},
        {"listing_id": "2", "image_urls": [f"http://localhost:{server.port}/copy.jpg"]},
    ]
    return ImageCrawl(folder, items, {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1", "localhost"]}, registry=False)


def _replayed(server, folder):
    items = [{"listing_id": "1", "image_urls": [server.url("/copy.jpg")]}]
    settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "REPLAY_DIR": str(folder / "cassettes")}
    return ImageCrawl(folder, items, settings, registry=False)


def _over_max_bytes(server, folder):
    items = [{"listing_id": "1", "image_urls": [server.url("/copy.jpg")]}]
    return ImageCrawl(folder, items, {**LOCAL, "IMAGE_MAX_BYTES": 2_000}, registry=False)


DEMO = ROOT / "fixtures" / "registry" / "demo.yaml"


def _download_stage_alone(server, folder):
    items = [{"listing_id": "1", "image_urls": [server.url("/copy.jpg")]}]
    return ImageCrawl(folder, items, {**LOCAL, "REGISTRY_PATH": str(DEMO)}, spider_registry=str(DEMO),
                      pipelines={"pipelines.images.ListingImagesPipeline": 100})


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """This file's crawls, each against its own picture server, run side by side in one Scrapy process once
    per test process; read-only."""
    plans = {"every kind": every_kind_of_picture, "loopback": _loopback_names, "replay": _replayed,
             "max bytes": _over_max_bytes, "download alone": _download_stage_alone}
    return crawl_side_by_side(plans, tmp_path_factory.mktemp("download-crawls"))


@pytest.fixture
def local_crawl(crawls):
    """(rows, stats, requested paths, store) of the crawl of every kind of picture."""
    return crawls["every kind"].parts()


def test_images_field_has_scrapy_layout_url_path_checksum_phash(local_crawl):
    rows, _, _, store = local_crawl
    images = rows[0]["images"]
    assert len(images) == 1
    entry = images[0]
    assert set(entry) == {"url", "path", "checksum", "phash"}
    assert entry["url"].endswith("/copy.jpg")
    assert entry["path"].startswith("full/") and entry["path"].endswith(".jpg")
    assert (store / entry["path"]).read_bytes() == picture_bytes()["/copy.jpg"]  # the original bytes
    assert len(entry["checksum"]) == 32 and len(entry["phash"]) == 16


def test_only_images_per_listing_images_are_fetched_main_image_first(local_crawl):
    _, _, requested, _ = local_crawl
    assert "/copy.jpg" in requested
    assert "/second.jpg" not in requested


def test_corrupt_and_html_images_are_counted_and_the_listing_is_kept(local_crawl):
    rows, stats, _, _ = local_crawl
    ids = [r["listing_id"] for r in rows]
    assert "2-truncated" in ids and "3-html" in ids
    for r in rows:
        if r["listing_id"] in ("2-truncated", "3-html"):
            assert r["images"] == []
    assert stats["images/corrupt"] == 2


def test_image_on_a_host_outside_the_allow_list_is_never_requested(local_crawl):
    rows, stats, requested, _ = local_crawl
    assert stats["images/refused_host"] == 1
    assert not any("evil" in p for p in requested)
    assert any(r["listing_id"] == "4-foreign" for r in rows)


def test_the_same_image_bytes_are_hashed_once(local_crawl):
    _, stats, _, _ = local_crawl
    assert stats["images/hash_cache_hit"] >= 1
    assert stats["images/hashed"] == 2  # the copy and the unrelated image; the repost came from the cache


def test_live_mode_refuses_allowed_hosts_that_resolve_to_loopback(crawls):
    loopback = crawls["loopback"]
    assert loopback.requested == []
    assert loopback.stats["images/refused_private_address"] == 2
    assert [r["images"] for r in loopback.rows] == [[], []]


def test_replay_mode_does_not_resolve_hosts(crawls):
    replay = crawls["replay"]
    assert replay.requested == ["/copy.jpg"]
    assert "images/refused_private_address" not in replay.stats
    assert len(replay.rows[0]["images"]) == 1


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("img.alicdn.com", True),
        ("g-search2.alicdn.com", True),
        ("cbu01.alicdn.com", True),
        ("s.alicdn.com", True),
        ("alicdn.com", True),
        ("IMG.ALICDN.COM", True),
        ("alicdn.com.evil.example", False),
        ("evilalicdn.com", False),
        ("example.com", False),
    ],
)
def test_default_allow_list_is_the_platforms_image_cdn(host, allowed):
    assert host_allowed(host, ("*.alicdn.com",)) is allowed


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False),
        ("47.246.136.1", True),
        ("2400:3200::1", True),
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address, public):
    assert is_public_address(address) is public


def test_an_image_over_image_max_bytes_is_not_downloaded_and_the_listing_is_kept(crawls):
    rows, stats = crawls["max bytes"].rows, crawls["max bytes"].stats
    assert len(picture_bytes()["/copy.jpg"]) > 2_000
    assert rows[0]["images"] == []
    assert stats["images/download_failed"] == 1
    assert "images/hashed" not in stats


def test_the_download_stage_alone_hashes_but_never_matches_even_with_a_registry(crawls):
    rows, stats = crawls["download alone"].rows, crawls["download alone"].stats
    assert rows[0]["images"][0]["phash"] and stats["images/hashed"] == 1
    assert "image_hit" not in rows[0]
    assert not any(key in stats for key in ("images/matched", "images/near", "images/registry_errors"))
