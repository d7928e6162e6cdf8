"""What the scorer finds about a listing is gathered once, into one frozen ``Evidence``, and read back as the
output ``signals``."""

from __future__ import annotations

import dataclasses

import pytest

from matchers.listing_evidence import Evidence, best_hit, folded_spans, signals_of
from matchers.score import Scorer
from matchers.text_hit import TextHit
from registry import load_registry
from tests.scoring_support import a_listing, demo_scorer, photo, wrong_office_registry


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return demo_scorer()


def test_a_listing_is_gathered_once_into_frozen_evidence(scorer):
    evidence = scorer.gather(a_listing("LUMORA冲锋衣 高仿", 199), photo())
    assert isinstance(evidence, Evidence)
    assert (evidence.platform, evidence.title) == ("taobao", "LUMORA冲锋衣 高仿")
    assert evidence.best is not None and evidence.best.trademark_id == "LUMORA-CN-25"
    assert evidence.product is not None and evidence.product.id == "trail-jacket"
    assert [tm.id for tm in evidence.marks_cited] == ["LUMORA-CN-25"]
    assert evidence.goods == frozenset({25}) and evidence.goods_related and not evidence.unrelated
    assert evidence.price is not None and evidence.price.band == "absurd"
    assert evidence.image == photo() and evidence.logo_mark is None and evidence.store is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        evidence.best = None  # type: ignore[misc]


def test_the_same_word_under_a_mark_taobao_does_not_accept_is_not_called_wrong_office(scorer):
    # LUMORA is registered with CNIPA and with the USPTO: on Taobao the US registration cannot be cited, but
    # the word is covered by the Chinese one, so nothing is reported as the wrong office
    taobao = scorer.gather(a_listing("LUMORA 冲锋衣", 999), None)
    assert {h.trademark_id for h in taobao.hits} == {"LUMORA-CN-25", "LUMORA-US-25"}
    assert {h.trademark_id for h in taobao.citeable} == {"LUMORA-CN-25"}
    assert taobao.wrong_office == () and taobao.expired == ()
    alibaba = scorer.gather(a_listing("LUMORA trail jacket", 999, platform="alibaba"), None)
    assert [tm.id for tm in alibaba.marks_cited] == [
        "LUMORA-CN-25",
        "LUMORA-US-25",
    ]  # the product's own first


def test_goods_outside_the_marks_classes_are_unrelated(scorer):
    evidence = scorer.gather(a_listing("LUMORA 手机壳", 20), None)
    assert evidence.goods == frozenset({9})
    assert evidence.unrelated and not evidence.goods_related


def test_the_strongest_mention_is_cited_and_the_earliest_among_equals():
    def hit(kind: str, start: int) -> TextHit:
        return TextHit("M", "mark", kind, "x", start, start + 1)

    assert best_hit([hit("exact", 0), hit("digit", 9)]).kind == "digit"  # a disguise leaves no doubt
    assert best_hit([hit("in_image", 0), hit("exact", 5)]).kind == "exact"  # the title is what is quoted
    assert best_hit([hit("exact", 7), hit("alias", 2)]).start == 2
    assert best_hit([hit("fuzzy", 0), hit("in_image", 3)]).kind == "in_image"
    assert best_hit([]) is None


def test_brand_spans_are_offsets_into_the_folded_title(scorer):
    title = "\u200b\u200bLUMORA 冲锋衣"  # two invisible characters fold to nothing
    hits = scorer.marks.find(title)
    assert [(h.start, h.end) for h in hits][:1] == [(2, 8)]
    assert folded_spans(title, hits)[:1] == [(0, 6)]


def test_signals_say_what_was_found_in_the_contracts_words(scorer):
    evidence = scorer.gather(a_listing("LUMORA冲锋衣 高仿 定金", 199), photo())
    signals = signals_of(evidence)
    assert list(signals) == [
        "seller_authorized",
        "brand",
        "image",
        "counterfeit_terms",
        "lookalike_terms",
        "accessory_terms",
        "resale_terms",
        "price_not_for_goods",
        "goods_classes",
    ]
    assert signals["brand"]["trademark_id"] == "LUMORA-CN-25" and len(signals["brand"]["all"]) == 2
    assert signals["image"] == {
        "product_id": "trail-jacket",
        "registered_image": "images/trail_jacket_1.jpg",
        "distance": 6,
        "stage": "phash",
        "confident": True,
        "is_logo": False,
    }
    assert (signals["counterfeit_terms"], signals["price_not_for_goods"]) == (["高仿"], ["定金"])
    assert "citeable" not in signals["brand"]


def test_a_mark_that_cannot_be_cited_is_reported_as_such(tmp_path):
    scorer = Scorer(load_registry(wrong_office_registry(tmp_path)))
    evidence = scorer.gather(a_listing("LUMORA 冲锋衣", 999), None)
    assert evidence.best is None and evidence.citeable == ()
    assert [h.trademark_id for h in evidence.wrong_office] == ["LUMORA-US-25"]
    signals = signals_of(evidence)
    assert (signals["brand"]["trademark_id"], signals["brand"]["citeable"]) == ("LUMORA-US-25", False)
    assert signals["wrong_office_marks"] == ["LUMORA-US-25"]
