"""Folding: every way of writing a letter reads as that letter, and offsets still lead back to the title."""

from __future__ import annotations

import pytest

from matchers.text_fold import (
    MASK_CHARS,
    SQUEEZE_TABLE,
    canonical,
    fold,
    fold_with_origin,
    same_class,
)


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("ＬＵＭＯＲＡ", "lumora"),  # full-width
        ("LUМОRА", "lumora"),  # Cyrillic М, О, А
        ("LUMΟRΑ", "lumora"),  # Greek Omicron and Alpha
        ("LUMÓRA", "lumora"),  # an accent
        ("LU\u200bMO\u200dRA", "lumora"),  # zero-width characters
        ("沃爾塔", "沃尔塔"),  # traditional characters read as simplified
        ("露莫拉 冲锋衣", "露莫拉 冲锋衣"),  # Chinese text is left as it is
    ],
)
def test_a_disguised_spelling_folds_to_the_plain_mark(written, folded):
    assert fold(written) == folded


def test_the_canonical_form_undoes_digit_swaps_and_masks_letter_for_letter():
    for folded in ("v0lta", "lum*ra", "lum●ra", "l1ght", "a$@p"):
        assert len(canonical(folded)) == len(folded)
    assert canonical("v0lta") == canonical("volta")
    assert canonical("lum●ra") == canonical("lum?ra") == "lum*ra"
    assert set(canonical(MASK_CHARS)) == {"*"}
    assert canonical("i") == canonical("l")  # I, l and 1 look alike


def test_the_squeezed_form_drops_separators_and_emoji_but_not_symbol_swaps():
    assert canonical("l u-m🔥o★r·a").translate(SQUEEZE_TABLE) == canonical("lumora")
    assert "露【莫】拉".translate(SQUEEZE_TABLE) == "露莫拉"
    assert "$@".translate(SQUEEZE_TABLE) == "$@"  # they stand for letters: s, a


def test_each_folded_character_knows_where_it_came_from():
    title = "\u200bⅫLUMORA"  # an invisible character, then the numeral twelve, which folds to three letters
    folded, origin = fold_with_origin(title)
    assert folded == "xiilumora"
    assert origin == [1, 1, 1, 2, 3, 4, 5, 6, 7]
    plain, identity = fold_with_origin("LUMORA 冲锋衣")
    assert (plain, identity) == ("lumora 冲锋衣", list(range(10)))


def test_letters_run_together_with_letters_and_digits_with_digits():
    assert same_class("a", "b") and same_class("1", "2")
    assert not same_class("a", "1") and not same_class("a", "冲") and not same_class("a", " ")
