"""ScoringPipeline: adds the §5 fields to each item when a registry is configured, passes items through otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawlers.items import Listing
from matchers.registry import RegistryError
from matchers.signals import ImageHit
from pipelines.scoring import ScoringPipeline

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "registry" / "demo.yaml"


def item(title="LUMORA冲锋衣 高仿", price=199.0, **extra):
    data = {
        "platform": "taobao",
        "listing_id": "1",
        "title": title,
        "price_min": price,
        "price_max": price,
        "currency": "CNY",
        "seller_name": "店",
        "is_official_store": False,
        "image_urls": ["https://i/1.jpg"],
    }
    data.update(extra)
    return data


def pipeline(settings=None, spider_registry=None):
    crawler = get_crawler(settings_dict=settings or {})
    crawler.spider = type("S", (), {"registry_path": spider_registry})()
    return ScoringPipeline.from_crawler(crawler), crawler


def test_without_a_registry_items_pass_through_untouched():
    pipe, _ = pipeline()
    original = item()
    assert pipe.process_item(dict(original)) == original


def test_registry_from_the_setting_adds_the_score_fields_and_counts_verdicts():
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO)})
    out = pipe.process_item(item())
    assert (out["verdict"], out["reason"], out["ipr_id"]) == ("infringing", "counterfeit", "LUMORA-CN-25")
    assert out["explanation"] and out["signals"]["counterfeit_terms"] == ["高仿"]
    assert crawler.stats.get_value("score/infringing") == 1


def test_spiders_registry_path_is_used():
    pipe, _ = pipeline(spider_registry=str(DEMO))
    assert pipe.process_item(item())["verdict"] == "infringing"


def test_scrapy_items_are_scored_in_place():
    pipe, _ = pipeline({"REGISTRY_PATH": str(DEMO)})
    listing = Listing(**item(title="户外冲锋衣 男 防水"))
    out = pipe.process_item(listing)
    assert out is listing and out["verdict"] == "clean"


@pytest.mark.parametrize("as_dict", [False, True])
def test_image_hit_left_by_the_image_stage_is_used(as_dict):
    pipe, _ = pipeline({"REGISTRY_PATH": str(DEMO)})
    hit = ImageHit(
        "trail-jacket", "images/trail_jacket_1.jpg", "https://i/1.jpg", "full/a.jpg", 5, "phash", True
    )
    out = pipe.process_item(item(title="户外冲锋衣 男 防水", image_hit=hit.as_dict() if as_dict else hit))
    assert (out["reason"], out["ipr_id"]) == ("stolen_image", "LUMORA-PHOTO")


def test_a_bad_registry_stops_the_crawl(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trademarks: []\n", encoding="utf-8")
    with pytest.raises(RegistryError):
        pipeline({"REGISTRY_PATH": str(bad)})
