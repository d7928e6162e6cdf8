"""A loose automaton match is the mark only when the title as written bears it out; its disguises are named."""

from __future__ import annotations

import pytest

from matchers.text_fold import SQUEEZE_CHARS, SQUEEZE_TABLE, canonical, fold, fold_with_origin
from matchers.text_verify import Pattern, Term, verify


def verified(term: str, title: str, *, squeezed: bool = False, pattern: str | None = None):
    """``verify`` on the first place the automaton would match ``term`` (or its masked ``pattern``)."""
    folded = fold(title)
    _, origin = fold_with_origin(title)
    key = pattern or fold(term)
    masked_at = key.find("*")
    t = Term(term, fold(term), ("M",), False, True, term.upper())
    pat = Pattern(0, key, masked_at, any(c in SQUEEZE_CHARS for c in key))
    canon = canonical(folded)
    if squeezed:
        letters = [i for i, c in enumerate(canon) if c not in SQUEEZE_CHARS]
        at = canon.translate(SQUEEZE_TABLE).find(canonical(key).translate(SQUEEZE_TABLE))
        positions = letters[at : at + len(canonical(key).translate(SQUEEZE_TABLE))]
    else:
        at = canon.find(canonical(key))
        positions = list(range(at, at + len(key)))
    assert at >= 0, (term, title)
    return verify(t, pat, title, folded, origin, positions, squeezed, 4)


@pytest.mark.parametrize(
    ("term", "title", "expected"),
    [
        ("volta", "VOLTA充电宝", ((), 0, 5)),  # written as registered
        ("volta", "VOLTA2024 充电宝", ((), 0, 5)),  # a digit does not run into a letter
        ("volta", "V0LTA 充电宝", (("digit",), 0, 5)),
        ("volta", "VOItA 充电宝", (("homoglyph",), 0, 5)),  # a capital I for the l
        ("lumora", "LUМОRА 冲锋衣", (("homoglyph",), 0, 6)),  # Cyrillic letters
        ("lumora", "ＬＵＭＯＲＡ", (("fullwidth",), 0, 6)),
        ("lumora", "LUM\u200bORA", (("spaced",), 0, 7)),  # an invisible character inside
    ],
)
def test_a_match_the_title_bears_out_is_kept_with_its_disguises(term, title, expected):
    assert verified(term, title) == expected


@pytest.mark.parametrize(
    ("term", "title"),
    [
        ("volta", "VOLTAGE 充电宝"),  # inside a longer word
        ("volta", "REVOLTA"),
        ("volta", "VOiTA 充电宝"),  # a lower-case i does not look like an l
        ("zen", "Z3N 手表"),  # a digit swap in a three-letter word could be another word
    ],
)
def test_a_match_the_title_does_not_bear_out_is_dropped(term, title):
    assert verified(term, title) is None


def test_a_masked_letter_must_be_a_mask_character():
    assert verified("lumora", "LUM*RA 冲锋衣", pattern="lum*ra") == (("masked",), 0, 6)
    assert verified("lumora", "LUM●RA 冲锋衣", pattern="lum*ra") == (("masked",), 0, 6)


@pytest.mark.parametrize(
    ("term", "title", "expected"),
    [
        ("lumora", "LUMO RA 冲锋衣", (("split",), 0, 7)),  # one space, two letters or more each side
        ("lumora", "L U M O R A", (("spaced",), 0, 11)),
        ("lumora", "LUMO-RA", (("spaced",), 0, 7)),  # a separator that is not a space is a disguise
        ("lumora", "LUM🔥ORA", (("spaced",), 0, 7)),
        ("volta", "VOLT A", None),  # two words
        ("lumora", "LUMORA", None),  # nothing between the letters: the plain pass reports it
    ],
)
def test_separators_between_the_letters_decide_the_squeezed_reading(term, title, expected):
    assert verified(term, title, squeezed=True) == expected


def test_a_two_word_mark_written_together_is_a_plain_mention():
    assert verified("blue peak", "BLUEPEAK 冲锋衣", squeezed=True) == ((), 0, 8)
