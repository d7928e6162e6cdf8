"""Verdicts a rights holder relies on: precise, explained, never against an allowed seller or with a dead mark."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from contract import SCORE_FIELDS
from matchers.score import Scorer
from matchers.signals import ImageHit
from registry import load_registry
from tests.scoring_support import a_listing as listing
from tests.scoring_support import judged, photo, wrong_office_registry

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "registry" / "demo.yaml"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_registry(DEMO))


def test_result_has_every_contract_field(scorer):
    result = scorer.score(listing("LUMORA冲锋衣 高仿", 199))
    assert set(SCORE_FIELDS) <= set(result)
    assert tuple(result) == SCORE_FIELDS  # in the order the contract lists them
    assert 0 <= result["score"] <= 100
    assert isinstance(result["signals"], dict) and isinstance(result["explanation"], str)


def test_explanation_says_how_a_disguised_photo_matched(scorer):
    hit = ImageHit("trail-jacket", "images/trail_jacket_1.jpg", "https://img.example/main.jpg", None, 8,
                   "filtered", True)  # fmt: skip
    result = scorer.score(listing("户外冲锋衣", 117), hit)
    assert (
        "main image matches trail_jacket_1.jpg (distance 8; with overlaid text (a tiled watermark) filtered away)"
        in (result["explanation"])
    )


def test_image_stages_read_as_words():
    from matchers.signals import describe_image_stage

    assert describe_image_stage("crop+mirror") == "a crop of the registered picture, mirrored"
    assert describe_image_stage("mirror") == "the picture mirrored"
    assert describe_image_stage("collage") == "one cell of a 2x2 collage"
    assert describe_image_stage("new-stage") == "new-stage"


def test_brand_plus_counterfeit_words_is_counterfeit_citing_the_cnipa_mark(scorer):
    result = scorer.score(listing("LUMORA冲锋衣 高仿 男款", 399))
    assert judged(result) == ("infringing", "counterfeit", "LUMORA-CN-25")
    assert result["product_id"] == "trail-jacket"
    assert result["score"] >= 70
    assert result["signals"]["counterfeit_terms"] == ["高仿"]
    assert "says 高仿" in result["explanation"]


def test_explanation_names_the_disguise_the_photo_and_the_price(scorer):
    result = scorer.score(listing("LUM0RA 冲锋衣 高仿", 117), photo())
    assert result["explanation"] == (
        "title has 'LUM0RA' (digit-swapped LUMORA); main image matches trail_jacket_1.jpg (distance 6); "
        "price 9% of reference; says 高仿"
    )
    assert result["signals"]["brand"]["kind"] == "digit" and result["signals"]["brand"]["text"] == "LUM0RA"
    assert result["signals"]["image"]["distance"] == 6
    assert result["signals"]["price"]["band"] == "absurd"


@pytest.mark.parametrize(
    "title", ["L U M O R A 冲锋衣", "LUМОRА 冲锋衣", "LUM*RA 冲锋衣", "LU\u200bMORA 冲锋衣"]
)
def test_a_disguised_mark_is_counterfeit_even_without_other_cues(scorer, title):
    result = scorer.score(listing(title, 1199))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "LUMORA-CN-25")


def test_absurd_price_with_the_brand_on_its_goods_is_counterfeit(scorer):
    result = scorer.score(listing("LUMORA 冲锋衣 2024新款", 129))
    assert result["verdict"] == "infringing" and result["reason"] == "counterfeit"


def test_price_alone_never_flags(scorer):
    assert scorer.score(listing("户外冲锋衣 男 防水", 99))["verdict"] == "clean"


def test_brand_at_a_normal_price_without_cues_is_left_to_a_human(scorer):
    result = scorer.score(listing("LUMORA 冲锋衣 正品 代购", 1299))
    assert result["verdict"] == "suspect" and 35 <= result["score"] < 70


def test_look_alike_wording_is_trademark_misuse(scorer):
    result = scorer.score(listing("LUMORA同款 冲锋衣", 699))
    assert judged(result) == ("infringing", "trademark_misuse", "LUMORA-CN-25")


def test_alias_with_counterfeit_words_is_counterfeit(scorer):
    result = scorer.score(listing("露莫拉 冲锋衣 原单", 399))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "LUMORA-CN-25")
    assert "'露莫拉' (alias of LUMORA)" in result["explanation"]


def test_authorized_seller_is_never_infringing(scorer):
    row = listing(
        "LUMORA 冲锋衣 高仿 清仓",
        99,
        platform="tmall",
        seller_name="LUMORA官方旗舰店",
        is_official_store=True,
    )
    result = scorer.score(row, photo())
    assert result["verdict"] == "authorized" and result["reason"] == "" and result["ipr_id"] == ""
    assert result["signals"]["seller_authorized"] is True
    assert "allow-list" in result["explanation"]


def test_allow_list_is_per_platform(scorer):
    row = listing("LUMORA 冲锋衣 高仿", 99, platform="taobao", seller_name="lumora官方旗舰店")
    assert scorer.score(row)["verdict"] == "infringing"


def test_official_store_missing_from_the_allow_list_is_only_suspect(scorer):
    row = listing(
        "LUMORA 冲锋衣 高仿", 199, platform="tmall", seller_name="lumora专营店", is_official_store=True
    )
    result = scorer.score(row)
    assert result["verdict"] == "suspect" and "allow-list" in result["explanation"]


def test_stolen_photo_without_brand_cites_the_products_copyright(scorer):
    result = scorer.score(listing("户外冲锋衣 男 防水 2024新款", 299), photo())
    assert judged(result) == ("infringing", "stolen_image", "LUMORA-PHOTO")
    assert result["product_id"] == "trail-jacket"


def test_image_hit_in_dict_form_is_accepted(scorer):
    result = scorer.score(listing("户外冲锋衣 男", 299), photo().as_dict())
    assert result["reason"] == "stolen_image"


def test_weak_image_resemblance_is_only_suspect(scorer):
    assert (
        scorer.score(listing("户外冲锋衣", 299), photo(distance=12, confident=False))["verdict"] == "suspect"
    )


def test_accessory_wording_is_nominative_use_not_infringement(scorer):
    for title in ("适用于LUMORA冲锋衣 替换拉链头", "LUMORA背包专用防雨罩", "Rain cover for LUMORA backpack"):
        result = scorer.score(listing(title, 29))
        assert result["verdict"] == "clean", (title, result["explanation"])
        assert result["signals"]["accessory_terms"]


def test_genuine_resale_at_a_sane_price_is_clean(scorer):
    result = scorer.score(listing("二手 LUMORA冲锋衣 九成新 自用", 650))
    assert result["verdict"] == "clean" and result["signals"]["resale_terms"]


def test_brand_on_goods_outside_its_classes_is_not_infringing(scorer):
    result = scorer.score(listing("LUMORA 手机壳 iPhone15", 29))
    assert result["verdict"] == "clean"
    assert result["signals"]["unrelated_goods"] is True
    # copy wording on someone else's goods speaks of their mark; a disguise is still worth a look
    assert scorer.score(listing("LUMORA 手机壳 高仿", 29))["verdict"] == "clean"
    assert scorer.score(listing("LUM0RA 手机壳", 29))["verdict"] == "suspect"


def test_near_spelling_alone_is_never_infringing_and_with_a_cue_cites_the_mark(scorer):
    assert scorer.score(listing("LUMORRA 冲锋衣", 999))["verdict"] == "clean"
    near_photo = scorer.score(listing("LUMORRA 冲锋衣", 999), photo(distance=12, confident=False))
    assert near_photo["verdict"] == "suspect"  # a weak photo resemblance still goes to a human
    assert "one-letter misspelling alone is not taken as the mark" in near_photo["explanation"]
    copied = scorer.score(listing("LUMORRA 冲锋衣 高仿", 99))
    assert (copied["verdict"], copied["ipr_id"]) == ("infringing", "LUMORA-CN-25")
    assert "one-letter misspelling of LUMORA" in copied["explanation"]


def registry_with_expired_mark(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    # a registry's photos and certificates must lie in its own folder: they are copied beside it
    (tmp_path / "lumora_logo.png").write_bytes((DEMO.parent / "images" / "lumora_logo.png").read_bytes())
    shutil.copytree(DEMO.parent / "certs", tmp_path / "certs", dirs_exist_ok=True)
    data["trademarks"][0]["logo"] = "lumora_logo.png"
    for p in data["products"]:
        p["images"] = []
    data["trademarks"].append(
        {
            "id": "OLDMARK-CN",
            "mark": "SOLANE",
            "registration_number": "1",
            "office": "CNIPA",
            "classes": [21],
            "valid_from": "2010-01-01",
            "valid_until": "2020-01-01",
            "aliases": ["索兰"],
        }
    )
    data["products"].append(
        {
            "id": "bottle",
            "name": "Bottle",
            "trademarks": ["OLDMARK-CN"],
            "keywords": ["保温杯"],
            "reference_price": {"amount": 199, "currency": "CNY"},
        }
    )
    path = tmp_path / "reg.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_expired_mark_is_never_cited(tmp_path):
    scorer = Scorer(load_registry(registry_with_expired_mark(tmp_path)))
    result = scorer.score(listing("SOLANE 保温杯 高仿 1:1", 19))
    assert result["verdict"] != "infringing"
    assert result["ipr_id"] == ""
    assert result["signals"]["expired_marks"] == ["OLDMARK-CN"]
    assert "expired 2020-01-01" in result["explanation"]


def test_mark_valid_on_an_earlier_date_would_be_cited(tmp_path):
    scorer = Scorer(load_registry(registry_with_expired_mark(tmp_path)), today=date(2015, 6, 1))
    result = scorer.score(listing("SOLANE 保温杯 高仿", 19))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "OLDMARK-CN")


def test_non_cnipa_mark_is_not_cited_on_chinese_platforms_but_is_on_alibaba(tmp_path):
    scorer = Scorer(load_registry(wrong_office_registry(tmp_path)))
    taobao = scorer.score(listing("LUMORA 冲锋衣 高仿", 199))
    assert taobao["verdict"] != "infringing" and taobao["ipr_id"] == ""
    assert "accepts only CNIPA" in taobao["explanation"]
    alibaba = scorer.score(
        listing("LUMORA trail jacket replica", 20, platform="alibaba", currency="USD", moq=100)
    )
    assert (alibaba["verdict"], alibaba["ipr_id"]) == ("infringing", "LUMORA-US-25")


def test_logo_in_the_photo_with_counterfeit_words_is_counterfeit(scorer):
    logo = ImageHit("", "images/lumora_logo.png", "https://img.example/2.jpg", None, 3, "phash", True, True)
    result = scorer.score(listing("户外冲锋衣 原单 男款", 199), logo)
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "LUMORA-CN-25")
    assert "a listing image matches logo" in result["explanation"]
    assert scorer.score(listing("户外冲锋衣 男款", 999), logo)["verdict"] == "suspect"


def test_thresholds_are_overridable(scorer):
    title = "LUMORA 冲锋衣 高仿"  # exact mark 45 + 0.95 x 45 for 高仿 = 88
    assert scorer.score(listing(title, 999))["verdict"] == "infringing"
    strict = Scorer(scorer.registry, {"infringing": 90})
    result = strict.score(listing(title, 999))
    assert result["verdict"] == "suspect" and result["score"] < 90
    assert Scorer(scorer.registry, {"weights": {"brand": {"fuzzy": 5}}}).weights["brand"]["fuzzy"] == 5


def test_clean_listing_explains_that_nothing_was_found(scorer):
    result = scorer.score(listing("户外冲锋衣 男 防水", 399))
    assert result == {
        "score": 0,
        "verdict": "clean",
        "reason": "",
        "ipr_id": "",
        "product_id": "",
        "signals": result["signals"],
        "explanation": "no registered mark, photo or counterfeit wording found",
    }
