"""Wording around a brand: admissions of a copy, look-alike wording, compatibility, second-hand."""

from __future__ import annotations

import pytest

from matchers.context import ContextMatcher, GoodsClassifier


@pytest.fixture(scope="module")
def ctx() -> ContextMatcher:
    return ContextMatcher.default()


def spans_of(title: str, mark: str) -> list[tuple[int, int]]:
    i = title.lower().find(mark.lower())
    return [(i, i + len(mark))] if i >= 0 else []


@pytest.mark.parametrize(
    "title",
    [
        "LUMORA冲锋衣 高仿",
        "原单 LUMORA",
        "A货 外套",
        "LUMORA 1:1 复刻",
        "超A 莆田 纯原",
        "工厂货 尾单",
        "顶级版本",
        "专柜品质 大衣",
        "replica jacket",
        "AAA quality",
        "Mirror Quality bag",
        "ＡＡＡ 高品质",
        "KESTREL1:1 折叠刀",
    ],
)
def test_counterfeit_wording_is_found_in_chinese_and_english(ctx, title):
    found = ctx.find(title)
    assert found.counterfeit and found.counterfeit_weight >= 0.6


@pytest.mark.parametrize(
    "title", ["正品 非高仿 LUMORA", "拒绝高仿 假一赔十", "no replica, genuine only", "not a replica"]
)
def test_negated_counterfeit_wording_does_not_count(ctx, title):
    assert ctx.find(title).counterfeit_weight == 0


@pytest.mark.parametrize(
    "title", ["AAA battery pack", "11:15 delivery", "fortune cookie", "copyright notice"]
)
def test_terms_respect_word_and_number_boundaries(ctx, title):
    terms = {h.term for h in ctx.find(title).counterfeit}
    assert "1:1" not in terms and "copy" not in terms and "aaa" not in terms


@pytest.mark.parametrize(
    ("title", "mark"),
    [
        ("LUMORA同款 冲锋衣", "LUMORA"),
        ("VOLTA平替 充电宝", "VOLTA"),
        ("inspired by KESTREL knife", "KESTREL"),
        ("LUMORA dupe", "LUMORA"),
        ("LUMORA style jacket", "LUMORA"),
    ],
)
def test_lookalike_wording_next_to_the_brand_is_its_own_kind(ctx, title, mark):
    found = ctx.find(title, spans_of(title.lower(), mark))
    assert found.lookalike_weight >= 0.5 and found.counterfeit_weight == 0


@pytest.mark.parametrize(
    ("title", "mark"), [("明星同款 LUMORA 冲锋衣", "LUMORA"), ("LUMORA 冲锋衣 韩版 style", "LUMORA")]
)
def test_lookalike_wording_away_from_the_brand_does_not_count(ctx, title, mark):
    assert ctx.find(title, spans_of(title.lower(), mark)).lookalike_weight == 0


@pytest.mark.parametrize(
    "title", ["LUMORA冲锋衣 定金", "补差价 专拍", "LUMORA 邮费补拍链接", "deposit for LUMORA jacket"]
)
def test_price_that_is_not_for_the_goods_is_recognised(ctx, title):
    assert ctx.find(title).price_notes


def test_a_gift_accessory_does_not_make_the_listing_an_accessory(ctx):
    assert ctx.find("LUMORA冲锋衣 送收纳袋", [(0, 6)]).accessory == []
    assert ctx.find("LUMORA冲锋衣 收纳袋", [(0, 6)]).accessory


@pytest.mark.parametrize("title", ["高仿真 绿植 盆栽", "明星同款 外套", "支持OEM定制", "AAA级景区门票"])
def test_neutral_phrases_containing_a_term_do_not_count(ctx, title):
    assert ctx.find(title, [(0, 2)]).counterfeit == []


@pytest.mark.parametrize(
    ("title", "mark"),
    [
        ("适用于LUMORA冲锋衣 替换拉链头", "LUMORA"),
        ("兼容VOLTA充电宝 数据线", "VOLTA"),
        ("LUMORA背包专用防雨罩", "LUMORA"),
        ("Replacement cable for VOLTA power bank", "VOLTA"),
        ("Compatible with KESTREL knife sheath", "KESTREL"),
        ("非原装 电池", "电池"),
    ],
)
def test_compatibility_wording_next_to_the_brand_is_found(ctx, title, mark):
    assert ctx.find(title, spans_of(title.lower(), mark)).accessory


@pytest.mark.parametrize(
    ("title", "mark"), [("LUMORA jacket for men", "LUMORA"), ("for sale: nice VOLTA", "VOLTA")]
)
def test_for_far_from_or_after_the_brand_is_not_compatibility(ctx, title, mark):
    assert ctx.find(title, spans_of(title.lower(), mark)).accessory == []


@pytest.mark.parametrize(
    "title", ["二手 LUMORA冲锋衣 九成新", "闲置 充电宝", "pre-owned jacket", "自用 转让"]
)
def test_second_hand_wording_is_found(ctx, title):
    assert ctx.find(title).resale


def test_longest_term_wins_when_terms_overlap(ctx):
    assert [h.term for h in ctx.find("外贸原单 冲锋衣").counterfeit] == ["外贸原单"]


def test_goods_classes_are_read_from_the_title():
    goods = GoodsClassifier.default()
    assert goods.classes("LUMORA冲锋衣 包邮") == {25}
    assert goods.classes("VOLTA 20000mAh power bank") == {9}
    assert goods.classes("LUMORA 手机壳") == {9}
    assert goods.classes("登山包 双肩包") == {18}
    assert goods.classes("spring collection") == set()  # "ring" is not inside "spring"


@pytest.mark.parametrize("title", ["LUMORA 高 仿 冲锋衣", "复*刻 外套", "A 货 包邮"])
def test_counterfeit_wording_split_by_separators_is_still_found(ctx, title):
    assert ctx.find(title).counterfeit_weight >= 0.9


def test_split_negated_wording_stays_negated(ctx):
    assert ctx.find("正品 非 高 仿").counterfeit == []
