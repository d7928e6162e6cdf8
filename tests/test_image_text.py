"""Text read from a listing's pictures (``listing["image_text"]``, from the OCR stage) runs through the same mark
matcher as the title, as hits of kind ``in_image``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.score import Scorer
from registry import load_registry

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "registry.yaml"
BOX = [[40, 60], [220, 60], [220, 110], [40, 110]]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_registry(EVAL))


def listing(title, price, texts, platform="taobao"):
    return {"platform": platform, "title": title, "price_min": price, "price_max": price,
            "currency": "USD" if platform == "alibaba" else "CNY", "moq": None, "seller_name": "某某小店",
            "is_official_store": False, "image_urls": ["https://img.example/a.jpg", "https://img.example/b.jpg"],
            "images": [{"url": "https://img.example/a.jpg", "path": "full/a.jpg"},
                       {"url": "https://img.example/b.jpg", "path": "full/b.jpg"}],
            "image_text": texts}  # fmt: skip


def shown(text, image="full/a.jpg", confidence=0.94):
    return {"text": text, "box": BOX, "confidence": confidence, "image": image}


def test_a_generic_title_with_copy_wording_and_the_mark_in_the_photo_is_infringing(scorer):
    result = scorer.score(listing("户外冲锋衣 男 防水 高仿", 299, [shown("LUMORA")]))
    assert (result["verdict"], result["reason"], result["ipr_id"]) == (
        "infringing",
        "counterfeit",
        "LUMORA-CN-25",
    )
    assert "the main picture shows 'LUMORA' at (40,60)-(220,110)" in result["explanation"]
    kept = result["signals"]["image_text"][0]
    assert (kept["kind"], kept["text"], kept["box"], kept["image"]) == (
        "in_image",
        "LUMORA",
        BOX,
        "full/a.jpg",
    )


def test_an_absurd_price_and_the_mark_in_a_later_picture_is_infringing(scorer):
    result = scorer.score(listing("20000毫安 充电宝 快充", 19, [shown("沃尔塔", "full/b.jpg")]))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "VOLTA-CN-9")
    assert "picture 2 shows '沃尔塔'" in result["explanation"]


def test_the_mark_in_the_photo_alone_is_for_a_human(scorer):
    assert scorer.score(listing("户外冲锋衣 男 防水", 1199, [shown("LUMORA")]))["verdict"] == "suspect"


def test_disguises_in_pictures_are_read_like_titles(scorer):
    result = scorer.score(listing("户外冲锋衣 男 A货", 199, [shown("LUM0RA")]))
    assert result["verdict"] == "infringing"
    assert result["signals"]["image_text"][0]["text"] == "LUM0RA"


@pytest.mark.parametrize(
    "texts",
    [[shown("LUMORA", confidence=0.2)], [{"text": "LUMORA", "box": "nonsense"}], [{"box": BOX}], "LUMORA", None,
     [shown("NORTHPEAK")]],
)  # fmt: skip
def test_weak_or_malformed_readings_are_not_used(scorer, texts):
    result = scorer.score(listing("户外冲锋衣 男 防水 高仿", 299, texts))
    assert result["verdict"] == "clean" and "image_text" not in result["signals"]


def test_the_mark_in_a_picture_is_product_context_for_an_ordinary_word(scorer):
    title, price = "Kestrel EDC tool 3 in 1", 20.0
    assert scorer.score(listing(title, price, None, "alibaba"))["verdict"] == "clean"
    result = scorer.score(listing(title, price, [shown("KESTREL")], "alibaba"))
    assert result["verdict"] != "clean" and "ordinary_word" not in result["signals"]


def test_needs_image_text_says_when_ocr_could_still_matter(scorer):
    decided = scorer.score(listing("LUMORA 冲锋衣 高仿", 299, None))
    open_case = scorer.score(listing("户外冲锋衣 男 防水 高仿", 299, None))
    photo_only = scorer.score(listing("户外冲锋衣 男 防水 高仿", 299, [shown("LUMORA")]))
    authorized = scorer.score(
        {**listing("LUMORA 冲锋衣", 1299, None, "tmall"), "seller_name": "lumora官方旗舰店"}
    )
    assert Scorer.needs_image_text(decided) is False
    assert Scorer.needs_image_text(authorized) is False
    assert Scorer.needs_image_text(open_case) is True
    assert Scorer.needs_image_text(photo_only) is True  # decided by the picture: a second look may still help
    suspect_in_title = scorer.score(listing("LUMORA 冲锋衣 男", 1199, None))
    weak_only = scorer.score(listing("LUMOORA 冲锋衣 男", 1199, None))
    ordinary = scorer.score(listing("Kestrel EDC tool 3 in 1", 20.0, None, "alibaba"))
    assert Scorer.needs_image_text(suspect_in_title) is False  # the title already names the mark
    assert Scorer.needs_image_text(weak_only) is True
    assert Scorer.needs_image_text(ordinary) is True


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={"text": st.one_of(st.sampled_from(["LUMORA", "露莫拉", "LUM0RA", ""]), JSONISH),
              "box": JSONISH, "confidence": JSONISH, "image": JSONISH},
)  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.one_of(JSONISH, st.lists(st.one_of(ENTRY, JSONISH), max_size=5)))
def test_any_image_text_value_is_scored_without_error(scorer, value):
    result = scorer.score(listing("户外冲锋衣 男 防水 高仿", 299, value))
    assert result["verdict"] in ("infringing", "suspect", "clean")
    for kept in result["signals"].get("image_text", []):
        assert kept["kind"] == "in_image" and isinstance(kept["text"], str)
