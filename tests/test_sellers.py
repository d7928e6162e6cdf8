"""Imposter stores: a seller not on the allow-list calling itself the brand's official or flagship store."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract import normalize_seller as fold_seller_name
from matchers.score import Scorer
from registry import load_registry

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "registry.yaml"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_registry(EVAL))


def listing(seller, platform="taobao", title="LUMORA 冲锋衣 男 正品", price=1199.0, official=False):
    return {"platform": platform, "title": title, "price_min": price, "price_max": price,
            "currency": "USD" if platform == "alibaba" else "CNY", "moq": None, "seller_name": seller,
            "is_official_store": official, "image_urls": []}  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "seller"),
    [("taobao", "LUMORA户外官方旗舰店"), ("1688", "露莫拉官方专卖店"), ("alibaba", "Lumora Official Store"),
     ("alibaba", "LUMORA flagship"), ("taobao", "lumora 官方 店")],
)  # fmt: skip
def test_an_official_claim_where_it_cannot_be_true_is_trademark_misuse(scorer, platform, seller):
    title = "LUMORA trail jacket" if platform == "alibaba" else "LUMORA 冲锋衣 男 正品"
    result = scorer.score(listing(seller, platform, title, 160 if platform == "alibaba" else 1199))
    assert (result["verdict"], result["reason"], result["ipr_id"]) == (
        "infringing", "trademark_misuse", "LUMORA-CN-25")  # fmt: skip
    assert result["signals"]["store_claim"]["strong"] is True
    assert f"on {platform}, where no shop can be the brand's own" in result["explanation"]


def test_the_store_name_alone_flags_even_with_a_generic_title(scorer):
    result = scorer.score(listing("VOLTA官方旗舰店", "1688", "20000毫安 充电宝 快充", 259))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "VOLTA-CN-9")
    assert result["explanation"].startswith("seller 'VOLTA官方旗舰店' calls itself '旗舰店', '官方' on 1688")


@pytest.mark.parametrize(
    "seller", ["lumora官方旗舰吉", "lumora宫方旗舰店", "lumora官方旗舰店铺", "lumоra官方旗舰店"]
)
def test_a_name_one_character_off_the_real_flagship_is_strong(scorer, seller):
    # the crawler marks any Tmall 旗舰店 name official: that badge does not excuse a copied name
    result = scorer.score(listing(seller, "tmall", official="旗舰店" in seller))
    assert (result["verdict"], result["reason"]) == ("infringing", "trademark_misuse")
    assert result["signals"]["store_claim"]["near_copy_of"] == "lumora官方旗舰店"
    assert "one character off the authorized store 'lumora官方旗舰店'" in result["explanation"]


def test_the_holders_own_store_name_under_another_platform_label_is_no_imposter(scorer):
    # Taobao search shows Tmall shops; a label read wrong must never turn the holder's flagship into a target
    result = scorer.score(listing("lumora官方旗舰店", "taobao"))
    assert result["verdict"] != "infringing" and "store_claim" not in result["signals"]
    # 1688 names its shops apart: the flagship's exact name there is someone else's claim
    assert scorer.score(listing("lumora官方旗舰店", "1688"))["signals"]["store_claim"]["strong"] is True


def test_a_flagship_claim_on_tmall_is_for_a_human(scorer):
    result = scorer.score(listing("LUMORA户外旗舰店", "tmall"))
    assert (result["verdict"], result["reason"]) == ("suspect", "trademark_misuse")
    assert result["signals"]["store_claim"]["strong"] is False


# The allow-listed stores, written as a platform or a seller might write them.
AUTHORIZED_SPELLINGS = [("tmall", "ＬＵＭＯＲＡ官方旗舰店"), ("tmall", "Lumora 官方旗艦店"), ("tmall", " lumora\u200b官方旗舰店 "),
                        ("alibaba", "LUMORA OUTDOOR CO.,LTD"), ("alibaba", "Lumora Outdoor Co Ltd.")]  # fmt: skip


@pytest.mark.parametrize(("platform", "seller"), AUTHORIZED_SPELLINGS)
def test_an_authorized_seller_under_a_folded_name_stays_authorized(scorer, platform, seller):
    assert scorer.score(listing(seller, platform))["verdict"] == "authorized"


def test_look_alike_letters_are_not_folded_in_seller_names():
    # a Cyrillic о makes another shop, one letter away from the real one
    assert fold_seller_name("lumоra官方旗舰店") != fold_seller_name("lumora官方旗舰店")
    assert fold_seller_name("Lumora 官方旗艦店") == fold_seller_name("lumora官方旗舰店")


@pytest.mark.parametrize(
    ("platform", "seller", "title"),
    [("taobao", "阿强官方旗舰店", "户外冲锋衣 男 防水"), ("alibaba", "Guangzhou Official Outdoor Co., Ltd.",
     "Hiking jacket waterproof OEM"), ("taobao", "户外专卖店", "双肩包 户外 大容量")],
)  # fmt: skip
def test_an_official_claim_without_our_brand_is_not_ours_to_judge(scorer, platform, seller, title):
    result = scorer.score(listing(seller, platform, title, 300))
    assert result["verdict"] == "clean" and "store_claim" not in result["signals"]
