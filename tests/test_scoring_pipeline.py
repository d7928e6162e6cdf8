"""ScoringPipeline: adds the §5 fields to each item when a registry is configured, passes items through otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawlers.items import Listing
from matchers.signals import ImageHit
from pipelines.scoring import ScoringPipeline
from registry import RegistryError

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "registry" / "demo.yaml"


def item(title="LUMORA冲锋衣 高仿", price=199.0, **extra):
    return {"platform": "taobao", "listing_id": "1", "title": title, "price_min": price, "price_max": price,
            "currency": "CNY", "seller_name": "店", "is_official_store": False, "image_urls": ["https://i/1.jpg"],
            **extra}


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


# ---- second looks at the downloaded main image: the photo inside it, the text on it

def _store_image(store: Path, data: bytes, name: str) -> dict:
    import hashlib

    path = f"full/{name}.jpg"
    (store / "full").mkdir(parents=True, exist_ok=True)
    (store / path).write_bytes(data)
    return {"url": f"https://img.alicdn.com/{name}.jpg", "path": path, "checksum": hashlib.md5(data).hexdigest()}


def _grid_with(photo: Path) -> bytes:
    """A 3x3 grid with ``photo`` in one tile (the left middle one, for this draw), unrelated sample
    pictures in the others."""
    import io

    import numpy as np
    from PIL import Image

    from bench.disguises import t_grid_3x3
    from bench.image_corpus import build_corpus

    corpus = build_corpus(seed=3)
    arr = np.asarray(Image.open(photo).convert("RGB"))
    grid = t_grid_3x3(arr, np.random.default_rng(2), corpus)
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def test_registered_photo_as_one_tile_of_a_grid_is_found_by_the_local_stage(tmp_path):
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "OCR_ENABLED": False})
    main = _store_image(tmp_path, _grid_with(DEMO.parent / "images" / "trail_jacket_1.jpg"), "grid")
    out = pipe.process_item(item(title="户外冲锋衣 男 防水", image_urls=[main["url"]], images=[main]))
    hit = out["image_hit"]
    # one cell of a 3x3 grid (the left middle one): found by the cell's hashes
    assert hit.stage == "grid cell: photo at left, 33 % of the picture's width"
    assert hit.registered_image == "images/trail_jacket_1.jpg"
    assert (out["reason"], out["ipr_id"]) == ("stolen_image", "LUMORA-PHOTO")
    assert "grid cell: photo at left" in out["explanation"]
    assert crawler.stats.get_value("images/local/checked") == 1
    assert crawler.stats.get_value("images/local/matched") == 1
    assert crawler.stats.get_value("images/local/seconds") > 0


def test_local_stage_does_not_run_when_the_image_stage_already_matched(tmp_path):
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "OCR_ENABLED": False})
    main = _store_image(tmp_path, (DEMO.parent / "images" / "trail_jacket_1.jpg").read_bytes(), "same")
    hit = ImageHit("trail-jacket", "images/trail_jacket_1.jpg", main["url"], main["path"], 0, "phash", True)
    pipe.process_item(item(title="户外冲锋衣 男 防水", images=[main], image_hit=hit))
    assert crawler.stats.get_value("images/local/checked") is None


def _text_picture(lines: list[str]) -> bytes:
    import io

    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 700), (235, 238, 230))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 64)
    for i, line in enumerate(lines):
        draw.text((80, 120 + 150 * i), line, font=font, fill=(15, 15, 15))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_text_in_the_main_image_is_read_once_per_picture_and_its_contacts_become_signals(tmp_path):
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "IMAGE_LOCAL_STAGE": False})
    main = _store_image(tmp_path, _text_picture(["LUMORA 户外", "微信: lumora888"]), "text")
    first = pipe.process_item(item(title="户外冲锋衣 男 防水", images=[main]))
    texts = " ".join(t["text"] for t in first["image_text"])
    assert "LUMORA" in texts.upper() and all(t["image"] == main["path"] and len(t["box"]) == 4
                                             for t in first["image_text"])
    assert {"kind": "wechat", "id": "lumora888"}.items() <= first["signals"]["contacts"][0].items()
    assert crawler.stats.get_value("ocr/read") == 1 and crawler.stats.get_value("ocr/seconds") > 0
    # another listing with the same picture (same checksum): read from the cache, even by a new run
    again, crawler2 = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "IMAGE_LOCAL_STAGE": False})
    second = again.process_item(item(title="户外冲锋衣 男 防水", listing_id="2", images=[main]))
    assert second["image_text"] == first["image_text"]
    assert crawler2.stats.get_value("ocr/cached") == 1 and crawler2.stats.get_value("ocr/read") is None


def test_ocr_budget_and_switch_are_counted(tmp_path):
    main = _store_image(tmp_path, _text_picture(["LUMORA"]), "budget")
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "OCR_BUDGET": 0,
                              "IMAGE_LOCAL_STAGE": False})
    out = pipe.process_item(item(title="户外冲锋衣 男 防水", images=[main]))
    assert "image_text" not in out and crawler.stats.get_value("ocr/skipped_budget") == 1
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "OCR_ENABLED": False,
                              "IMAGE_LOCAL_STAGE": False})
    pipe.process_item(item(title="户外冲锋衣 男 防水", images=[main]))
    assert crawler.stats.get_value("ocr/off") == 1


def test_ocr_is_not_spent_on_a_listing_the_title_already_decides(tmp_path):
    main = _store_image(tmp_path, _text_picture(["LUMORA"]), "decided")
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(tmp_path), "IMAGE_LOCAL_STAGE": False})
    out = pipe.process_item(item(images=[main]))  # "LUMORA冲锋衣 高仿": infringing on the title alone
    assert out["verdict"] == "infringing" and "image_text" not in out
    assert crawler.stats.get_value("ocr/read") is None


def test_a_main_image_outside_the_store_is_never_read(tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(_text_picture(["LUMORA"]))
    store = tmp_path / "store"
    store.mkdir()
    pipe, crawler = pipeline({"REGISTRY_PATH": str(DEMO), "IMAGES_STORE": str(store)})
    out = pipe.process_item(item(title="户外冲锋衣 男 防水", images=[{"url": "u", "path": "../secret.jpg", "checksum": "x"}]))
    assert "image_text" not in out and crawler.stats.get_value("images/local/checked") is None
