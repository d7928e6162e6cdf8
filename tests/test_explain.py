"""The sentence a reviewer reads: every part the rules relied on, in the order ``matchers.explain`` lists."""

from __future__ import annotations

import pytest

from contract import Reason, Verdict
from matchers.explain import NOTHING_FOUND, explain
from matchers.judge import Judgement, judge
from matchers.score import Scorer
from tests.scoring_support import a_listing, demo_scorer, photo


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return demo_scorer()


def explained(scorer: Scorer, title: str, price: float | None = None, image=None, **extra) -> str:
    evidence = scorer.gather(a_listing(title, price, **extra), image)
    return explain(evidence, judge(evidence, scorer.thresholds, scorer.today), scorer.registry)


def test_the_parts_come_in_order_mention_image_price_wording(scorer):
    assert explained(scorer, "LUM0RA 冲锋衣 高仿 定金", 99, photo(distance=3)) == (
        "title has 'LUM0RA' (digit-swapped LUMORA); main image matches trail_jacket_1.jpg (distance 3); "
        "says 高仿; price ignored (定金)"
    )
    assert explained(scorer, "LUMORA 手机壳 二手", 20) == (
        "title has 'LUMORA'; price 2% of reference; second-hand wording 二手; "
        "goods (class 9) outside LUMORA-CN-25's classes 25, 18"
    )


def test_a_weak_image_and_a_weak_form_say_they_did_not_decide(scorer):
    text = explained(scorer, "LUMOORA 冲锋衣", 999, photo(distance=14, confident=False))
    assert "main image resembles trail_jacket_1.jpg (distance 14)" in text
    assert text.endswith("a one-letter misspelling alone is not taken as the mark")


def test_the_store_claim_alone_is_the_whole_explanation(scorer):
    text = explained(scorer, "户外冲锋衣 男款", 999, seller_name="LUMORA户外官方旗舰店")
    assert text == (
        "seller 'LUMORA户外官方旗舰店' calls itself '旗舰店', '官方' on taobao, where no shop can be the brand's own"
    )


def test_a_rule_note_and_a_missing_copyright_are_said(scorer):
    evidence = scorer.gather(a_listing("户外冲锋衣 男款", 999), photo())
    no_copyright = Judgement(Verdict.SUSPECT, Reason.STOLEN_IMAGE, "", "official store not on the allow-list")
    assert explain(evidence, no_copyright, scorer.registry) == (
        "main image matches trail_jacket_1.jpg (distance 6); price 77% of reference; "
        "product has no registered copyright to cite; "
        "official store not on the allow-list"
    )


def test_nothing_found_is_said_in_so_many_words(scorer):
    assert explained(scorer, "户外冲锋衣 男 防水", 399) == NOTHING_FOUND
    # a price is only worth saying beside a mark or an image
    assert explained(scorer, "户外冲锋衣 定金", 9) == NOTHING_FOUND
