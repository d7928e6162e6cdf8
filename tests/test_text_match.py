"""Brand mentions in titles: every disguise is found, words that merely contain a mark are not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.text import MarkMatcher
from matchers.text_fold import fold
from matchers.text_hit import EVASIVE_KINDS

TERMS = [
    ("LUMORA-CN", "LUMORA", False, "LUMORA"),
    ("LUMORA-CN", "露莫拉", True, "LUMORA"),
    ("LUMORA-US", "LUMORA", False, "LUMORA"),
    ("VOLTA-CN", "VOLTA", False, "VOLTA"),
    ("VOLTA-CN", "沃尔塔", True, "VOLTA"),
    ("KESTREL-CN", "KESTREL", False, "KESTREL"),
]


@pytest.fixture(scope="module")
def matcher() -> MarkMatcher:
    return MarkMatcher(TERMS)


def one(matcher: MarkMatcher, title: str, tm: str = "LUMORA-CN"):
    hits = [h for h in matcher.find(title) if h.trademark_id == tm]
    assert len(hits) == 1, (title, hits)
    return hits[0]


@pytest.mark.parametrize(
    ("title", "kind", "written"),
    [
        ("LUMORA冲锋衣 男款", "exact", "LUMORA"),
        ("lumora trail jacket", "exact", "lumora"),
        ("露莫拉 冲锋衣", "alias", "露莫拉"),
        ("ＬＵＭＯＲＡ 外套", "fullwidth", "ＬＵＭＯＲＡ"),
        ("LUМОRА 冲锋衣", "homoglyph", "LUМОRА"),  # Cyrillic М, О, А
        ("LUMΟRΑ 冲锋衣", "homoglyph", "LUMΟRΑ"),  # Greek Omicron and Alpha
        ("IUMORA 冲锋衣", "homoglyph", "IUMORA"),  # capital I for l
        ("L U M O R A 冲锋衣", "spaced", "L U M O R A"),
        ("L-U-M-O-R-A", "spaced", "L-U-M-O-R-A"),
        ("L*U*M*O*R*A 冲锋衣", "spaced", "L*U*M*O*R*A"),
        ("L.U.M.O.R.A jacket", "spaced", "L.U.M.O.R.A"),
        ("LUMO-RA 冲锋衣", "spaced", "LUMO-RA"),
        ("LU\u200bMORA 冲锋衣", "spaced", "LU\u200bMORA"),  # zero-width space inside
        ("LUM\u202eORA", "spaced", "LUM\u202eORA"),  # bidi override inside
        ("LUM0RA 冲锋衣", "digit", "LUM0RA"),
        ("1UMORA", "digit", "1UMORA"),
        ("LUM*RA 冲锋衣", "masked", "LUM*RA"),
        ("LU?ORA 冲锋衣", "masked", "LU?ORA"),
        ("露*拉 冲锋衣", "masked", "露*拉"),
        ("露 莫 拉 冲锋衣", "spaced", "露 莫 拉"),
    ],
)
def test_each_disguise_is_found_with_its_kind_and_the_text_as_written(matcher, title, kind, written):
    hit = one(matcher, title)
    assert hit.kind == kind
    assert hit.text == written
    assert title[hit.start : hit.end] == written
    assert hit.mark == "LUMORA"


@pytest.mark.parametrize(
    ("title", "written"), [("V0LTA 充电宝", "V0LTA"), ("VOL7A", "VOL7A"), ("V*LTA", "V*LTA")]
)
def test_volta_disguises(matcher, title, written):
    hit = one(matcher, title, "VOLTA-CN")
    assert hit.text == written and hit.kind in EVASIVE_KINDS


@pytest.mark.parametrize(
    "title", ["K3STREL folding knife", "KE5TREL 折叠刀", "ΚΕSTRΕL knife", "K E S T R E L"]
)
def test_kestrel_disguises(matcher, title):
    assert one(matcher, title, "KESTREL-CN").kind in EVASIVE_KINDS


@pytest.mark.parametrize(
    "title",
    [
        "VOLTAGE regulator",
        "REVOLTA 运动鞋",
        "high voltage cable",
        "V0LTAGE tester",
        "ILLUMORA lamp",
        "KESTRELINE fishing line",
        "VOLT A battery",  # two words, not a disguise
        "iumora",  # a lower-case i does not look like l
    ],
)
def test_marks_inside_longer_latin_words_are_not_mentions(matcher, title):
    assert [h for h in matcher.find(title) if h.kind != "fuzzy"] == []


@pytest.mark.parametrize(
    "title", ["VOLTA充电宝", "VOLTA-X power bank", "2024VOLTA新款", "【VOLTA】充电宝", "VOLTA3000"]
)
def test_latin_marks_next_to_chinese_digits_or_punctuation_match(matcher, title):
    assert one(matcher, title, "VOLTA-CN").kind == "exact"


def test_chinese_aliases_match_as_substrings(matcher):
    assert one(matcher, "新款露莫拉冲锋衣", "LUMORA-CN").kind == "alias"
    assert one(matcher, "沃尔塔充电宝", "VOLTA-CN").kind == "alias"


def test_every_trademark_with_the_same_mark_gets_a_hit(matcher):
    hits = matcher.find("LUMORA 冲锋衣")
    assert {h.trademark_id for h in hits} == {"LUMORA-CN", "LUMORA-US"}


def test_near_spelling_is_only_a_fuzzy_hit(matcher):
    assert one(matcher, "LUMORRA 冲锋衣").kind == "fuzzy"
    assert one(matcher, "LUMERA jacket").kind == "fuzzy"
    assert [h for h in matcher.find("LUMORA 冲锋衣") if h.kind == "fuzzy"] == []


def test_several_marks_in_one_title_are_all_found(matcher):
    hits = matcher.find("LUMORA x VOLTA 联名 K3STREL")
    assert {h.trademark_id for h in hits} == {"LUMORA-CN", "LUMORA-US", "VOLTA-CN", "KESTREL-CN"}


def test_titles_without_marks_give_nothing(matcher):
    assert matcher.find("") == []
    assert matcher.find("户外冲锋衣 男 防水 2024新款") == []


def test_fold_normalises_width_case_confusables_and_invisible_characters():
    assert fold("ＬＵＭＯＲＡ") == "lumora"
    assert fold("LU\u200bM\u200dO\ufeffRA") == "lumora"
    assert fold("LUМОRА") == "lumora"
    assert fold("露莫拉") == "露莫拉"  # Chinese is untouched


def test_cost_does_not_grow_with_the_number_of_marks():
    """One automaton holds every term: the per-title work is the same for 10 or 5,000 marks. Each cost is the
    least of five passes in this thread's own CPU time, which a busy machine's other processes do not add to."""
    import time

    def cost(n):
        words = [
            f"MARK{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}{chr(65 + i // 676 % 26)}X" for i in range(n)
        ]
        m = MarkMatcher((w, w, False) for w in words)
        titles = [f"户外冲锋衣 {words[i % n]} 男款 防水" for i in range(400)]
        passes = []
        for _ in range(5):
            start = time.thread_time()
            for t in titles:
                m.find(t)
            passes.append(time.thread_time() - start)
        return min(passes)

    cost(10)
    assert cost(5000) < 3 * cost(10) + 0.02


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_safe_and_offsets_point_into_the_title(text):
    m = MarkMatcher(TERMS)
    for hit in m.find(text + " LUMORA"):
        assert 0 <= hit.start < hit.end <= len(text) + 7
        assert hit.text == (text + " LUMORA")[hit.start : hit.end]


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("LUMÓRA 冲锋衣", "homoglyph"),
        ("LÜMORA", "homoglyph"),
        ("*UMORA 外套", "masked"),
        ("LU**RA 外套", "masked"),
        ("L♥U♥M♥O♥R♥A", "spaced"),
        ("L|U|M|O|R|A", "spaced"),
        ("露【莫】拉", "spaced"),
    ],
)
def test_accents_edge_masks_double_masks_and_any_symbol_as_separator(matcher, title, kind):
    assert one(matcher, title).kind == kind


def test_multi_word_marks_match_written_together_or_hyphenated():
    m = MarkMatcher([("BP", "BLUE PEAK", False)])
    for title in ("BLUE PEAK 冲锋衣", "bluepeak jacket", "Blue-Peak 外套"):
        assert [h.kind for h in m.find(title)] == ["exact"], title
    assert [h.kind for h in m.find("B L U E P E A K")] == ["spaced"]


def test_short_marks_and_marks_with_digits_respect_number_boundaries():
    m = MarkMatcher([("K2", "K2", False), ("ZEN", "ZEN", False)])
    assert [h.text for h in m.find("K2 冲锋衣")] == ["K2"]
    assert m.find("K200 相机") == []
    assert m.find("Z3N 茶") == []  # too short to read a digit swap
    assert [h.text for h in m.find("ZEN 茶具")] == ["ZEN"]


def test_a_registered_alias_written_with_a_hyphen_is_not_read_as_a_disguised_mark():
    m = MarkMatcher([("NP", "NOVAPEAK", False, "NOVAPEAK"), ("NP", "Nova Peak", True, "NOVAPEAK")])
    assert [(h.kind, h.text) for h in m.find("NOVA-PEAK 羽绒服")] == [("alias", "NOVA-PEAK")]
    assert [h.kind for h in m.find("N-O-V-A-P-E-A-K 羽绒服")] == ["spaced"]
