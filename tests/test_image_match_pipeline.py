"""The matching stage (``pipelines.image_match.ImageMatchPipeline``): the pictures the download stage hashed,
matched against the registry's photos, in real Scrapy crawls (tests/image_crawl.py) and on real stored files."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from bench.image_corpus import t_pad_white
from tests.image_crawl import ROOT, ImageCrawl, crawl_side_by_side, every_kind_of_picture
from tests.image_support import shared_corpus

DEMO = ROOT / "fixtures" / "registry" / "demo.yaml"


def _summit_pack_copy() -> bytes:
    """The demo registry's summit-pack photo padded on white, as a JPEG."""
    photo = np.asarray(Image.open(DEMO.parent / "images" / "summit_pack_1.jpg").convert("RGB"))
    copy = io.BytesIO()
    Image.fromarray(t_pad_white(photo, np.random.default_rng(2), shared_corpus())).save(copy, "JPEG", quality=80)
    return copy.getvalue()


def _registry_path_on_the_spider(server, folder):
    server.pictures["/pack.jpg"] = _summit_pack_copy()
    items = [{"listing_id": "1", "image_urls": [server.url("/pack.jpg")]}]
    settings = {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True}
    return ImageCrawl(folder, items, settings, registry=False, spider_registry=str(DEMO))


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """This file's crawls, each against its own picture server, run side by side in one Scrapy process once
    per test process; read-only."""
    plans = {"every kind": every_kind_of_picture, "registry path": _registry_path_on_the_spider}
    return crawl_side_by_side(plans, tmp_path_factory.mktemp("match-crawls"))


@pytest.fixture
def local_crawl(crawls):
    """(rows, stats, requested paths, store) of the crawl of every kind of picture."""
    return crawls["every kind"].parts()


def test_copied_official_photo_sets_image_hit_for_the_scorer(local_crawl):
    rows, stats, _, _ = local_crawl
    hit = rows[0]["image_hit"]
    assert hit["product_id"] == "trail-jacket"
    assert hit["registered_image"] == "images/trail_jacket_1.jpg"
    assert hit["confident"] is True
    assert hit["listing_image_path"] == rows[0]["images"][0]["path"]
    assert stats["images/matched"] >= 2  # the copy and the same bytes at another URL


def test_unrelated_image_gives_no_image_hit(local_crawl):
    rows, _, _, _ = local_crawl
    row = next(r for r in rows if r["listing_id"] == "5-unrelated")
    assert row["images"] and row["image_hit"] is None


def test_registry_given_as_a_path_on_the_spider_is_loaded_and_matched(crawls):
    rows, stats = crawls["registry path"].rows, crawls["registry path"].stats
    hit = rows[0]["image_hit"]
    assert (hit["product_id"], hit["registered_image"]) == ("summit-pack", "images/summit_pack_1.jpg")
    assert stats["images/matched"] == 1


def _crawler(tmp_path, **settings):
    from scrapy.utils.test import get_crawler

    return get_crawler(settings_dict={"IMAGES_STORE": str(tmp_path / "images"), **settings})


def test_a_listing_the_download_stage_did_not_see_passes_untouched_and_loads_no_registry(tmp_path):
    from pipelines.image_match import ImageMatchPipeline

    crawler = _crawler(tmp_path, REGISTRY_PATH=str(tmp_path / "missing.yaml"))
    pipeline = ImageMatchPipeline.from_crawler(crawler)
    item = {"platform": "taobao", "listing_id": "1", "image_urls": ["https://img.alicdn.com/a.jpg"]}
    assert pipeline.process_item(dict(item)) == item
    assert crawler.stats.get_value("images/registry_errors") is None  # the bad path was never opened


def test_a_broken_registry_is_counted_and_the_listing_kept_without_a_hit(tmp_path):
    from pipelines.image_match import ImageMatchPipeline

    crawler = _crawler(tmp_path, REGISTRY_PATH=str(tmp_path / "missing.yaml"))
    pipeline = ImageMatchPipeline.from_crawler(crawler)
    item = pipeline.process_item({"platform": "taobao", "listing_id": "1", "images": []})
    assert "image_hit" not in item
    assert crawler.stats.get_value("images/registry_errors") == 1


def test_a_picture_whose_hashes_left_memory_is_hashed_again_from_its_stored_file(tmp_path):
    from pipelines.image_match import ImageMatchPipeline

    copy = _summit_pack_copy()
    stored = tmp_path / "images" / "full" / "pack.jpg"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(copy)
    crawler = _crawler(tmp_path, REGISTRY_PATH=str(DEMO))  # a fresh crawler: nothing hashed in memory
    item = ImageMatchPipeline.from_crawler(crawler).process_item({
        "platform": "taobao", "listing_id": "1",
        "images": [{"url": "https://img.alicdn.com/pack.jpg", "path": "full/pack.jpg",
                    "checksum": hashlib.md5(copy).hexdigest(), "phash": None}]})
    assert (item["image_hit"].product_id, item["image_hit"].listing_image_path) == ("summit-pack", "full/pack.jpg")
    assert crawler.stats.get_value("images/matched") == 1
