"""The verdict rules, one by one, in the order ``matchers.judge`` applies them, on evidence the real scorer
gathers from the demo registry."""

from __future__ import annotations

import pytest

from contract import ImageHit, Reason, Verdict
from matchers.judge import Cues, Judgement, gate, judge, judge_store
from matchers.score import Scorer
from registry import load_registry
from tests.scoring_support import a_listing, demo_scorer, photo, wrong_office_registry


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return demo_scorer()


def judged(scorer: Scorer, title: str, price: float | None = None, image: ImageHit | None = None, **extra):
    evidence = scorer.gather(a_listing(title, price, **extra), image)
    j = judge(evidence, scorer.thresholds, scorer.today)
    return j.verdict, j.reason, j.ipr_id


COUNTERFEIT = (Verdict.INFRINGING, Reason.COUNTERFEIT, "LUMORA-CN-25")
FOR_A_HUMAN = (Verdict.SUSPECT, Reason.COUNTERFEIT, "LUMORA-CN-25")
CLEAN = (Verdict.CLEAN, Reason.NONE, "")


@pytest.mark.parametrize(
    ("title", "price", "expected"),
    [
        ("LUM0RA 手机壳", 20, FOR_A_HUMAN),  # 1. outside the classes: a disguise is still worth a look
        ("LUMORA 手机壳 高仿", 20, CLEAN),  # 1. ... but copy wording there speaks of someone else's goods
        ("适用于LUMORA 冲锋衣 高仿 收纳袋", 39, FOR_A_HUMAN),  # 2. compatibility wording that admits a copy
        ("LUMORA 冲锋衣 二手", 99, FOR_A_HUMAN),  # 3. second-hand, absurdly cheap
        ("LUMORA 冲锋衣 二手", 1000, CLEAN),  # 3. second-hand at a sane price
        ("LUMORA冲锋衣 高仿", 999, COUNTERFEIT),  # 4. copy wording
        ("L U M O R A 冲锋衣", 999, COUNTERFEIT),  # 4. a disguise alone
        ("LUMORA同款 冲锋衣", 999, (Verdict.INFRINGING, Reason.TRADEMARK_MISUSE, "LUMORA-CN-25")),  # 5.
        ("LUMORA 冲锋衣", 99, COUNTERFEIT),  # 6. absurdly cheap goods of the brand's kind
        ("LUMORA 冲锋衣", 999, FOR_A_HUMAN),  # 8. could be a genuine reseller
    ],
)
def test_a_named_mark_is_judged_by_the_first_rule_that_applies(scorer, title, price, expected):
    assert judged(scorer, title, price) == expected


def test_a_photo_and_a_low_price_beside_a_named_mark_is_counterfeit(scorer):
    assert judged(scorer, "LUMORA 外套", 700, photo()) == COUNTERFEIT
    assert judged(scorer, "LUMORA 外套", 1299, photo()) == FOR_A_HUMAN


def test_a_weak_form_counts_only_beside_a_cue(scorer):
    assert judged(scorer, "LUMOORA 冲锋衣 高仿", 199) == COUNTERFEIT
    assert judged(scorer, "LUMOORA 冲锋衣", 999) == CLEAN
    # on accessory goods it is not taken as the mark: nothing else names the brand
    assert judged(scorer, "适用于LUMOORA 冲锋衣 收纳袋 高仿", 39) == CLEAN


def test_a_price_speaks_only_for_goods_whose_reference_is_known(scorer):
    phone_case = scorer.gather(a_listing("LUMORA 手机壳", 5), None)
    jacket = scorer.gather(a_listing("LUMORA 冲锋衣", 5), None)
    assert not Cues.of(phone_case, scorer.thresholds).absurd
    assert Cues.of(jacket, scorer.thresholds).absurd and Cues.of(jacket, scorer.thresholds).low


def test_a_mark_that_cannot_be_cited_is_never_cited_but_a_stolen_photo_still_is(tmp_path):
    scorer = Scorer(load_registry(wrong_office_registry(tmp_path)))
    assert judged(scorer, "LUMORA 冲锋衣 高仿", 199) == (Verdict.SUSPECT, Reason.NONE, "")
    assert judged(scorer, "LUMORA 冲锋衣", 999) == CLEAN
    assert judged(scorer, "LUMORA 冲锋衣", 999, photo()) == (
        Verdict.INFRINGING,
        Reason.STOLEN_IMAGE,
        "LUMORA-PHOTO",
    )
    # not on an accessory: a human looks
    assert judged(scorer, "适用于LUMORA 冲锋衣 收纳袋", 39, photo())[0] == Verdict.SUSPECT


def test_without_a_mark_the_pictures_decide(scorer):
    logo = ImageHit("", "images/lumora_logo.png", "https://img.example/2.jpg", None, 3, "phash", True, True)
    assert judged(scorer, "户外冲锋衣 男款", 999, photo()) == (
        Verdict.INFRINGING,
        Reason.STOLEN_IMAGE,
        "LUMORA-PHOTO",
    )
    assert judged(scorer, "二手 户外冲锋衣", 999, photo()) == (
        Verdict.SUSPECT,
        Reason.STOLEN_IMAGE,
        "LUMORA-PHOTO",
    )
    assert judged(scorer, "户外冲锋衣 原单 男款", 199, logo) == COUNTERFEIT
    assert judged(scorer, "户外冲锋衣 男款", 999, logo) == FOR_A_HUMAN
    assert judged(scorer, "户外冲锋衣 男款", 999, photo(distance=14, confident=False)) == (
        Verdict.SUSPECT,
        Reason.NONE,
        "",
    )
    assert judged(scorer, "户外冲锋衣 原单 男款", 199) == CLEAN  # copy wording without our mark: not ours


def test_an_infringing_rule_needs_the_score_and_an_official_store_goes_to_a_human(scorer):
    evidence = scorer.gather(a_listing("LUMORA 冲锋衣 高仿", 999), None)
    infringing = Judgement(Verdict.INFRINGING, Reason.COUNTERFEIT, "LUMORA-CN-25")
    assert gate(infringing, 95, evidence, scorer.thresholds) == infringing
    low = gate(infringing, 40, evidence, scorer.thresholds)
    assert (low.verdict, low.ipr_id, low.note) == (
        Verdict.SUSPECT,
        "LUMORA-CN-25",
        "evidence below the infringing threshold",
    )
    official = scorer.gather(a_listing("LUMORA 冲锋衣 高仿", 999, is_official_store=True), None)
    assert gate(infringing, 95, official, scorer.thresholds).note == "official store not on the allow-list"
    suspect = Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, "LUMORA-CN-25")
    assert gate(suspect, 10, official, scorer.thresholds) == suspect  # the gate only ever lowers infringing


def test_an_imposter_store_name_is_trademark_misuse(scorer):
    taobao = scorer.gather(a_listing("冲锋衣 男 正品", 1199, seller_name="LUMORA户外官方旗舰店"), None)
    marks = [scorer.registry.trademark("LUMORA-CN-25")]
    assert judge_store(taobao, marks) == Judgement(
        Verdict.INFRINGING, Reason.TRADEMARK_MISUSE, "LUMORA-CN-25"
    )
    tmall = scorer.gather(
        a_listing("冲锋衣 男 正品", 1199, seller_name="LUMORA户外旗舰店", platform="tmall"), None
    )
    assert judge_store(tmall, marks).verdict == Verdict.SUSPECT
