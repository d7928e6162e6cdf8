"""Checking one raw automaton match against the title as the seller wrote it, and naming its disguises.

The automaton matches the canonical and squeezed forms of a title (``matchers.text_fold``), which are
deliberately loose; ``verify`` decides whether the match is the mark and how it was written:

1. A Latin term may not run into a neighbouring letter, nor a digit into a digit (``VOLTA`` is not in
   ``VOLTAGE``, ``K2`` is not in ``K200``).
2. Written exactly as registered: a plain mention (the common case, decided first).
3. Letter by letter: a mask character where the pattern masks one, a look-alike, full-width or traditional
   letter, a digit swap (only in terms of four letters or more), an ``i``/``l`` swap only where the letter really
   looks alike (capital ``I`` for ``l``). Anything else is another word.
4. In the squeezed form, the separators between letters: none beyond the term's own is no match (the plain pass
   reports it), one space between halves of two letters or more is ``split``, more is ``spaced``.
5. Invisible characters inside a plain match are ``spaced`` too.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass

from matchers import forms
from matchers.text_fold import DIGIT_SWAPS, MASK_CHARS, SQUEEZE_CHARS, canonical, same_class
from matchers.text_hit import DIGIT, FULLWIDTH, HOMOGLYPH, KIND_PRIORITY, MASKED, SPACED, SPLIT, TRADITIONAL


@dataclass(frozen=True)
class Pattern:
    """One key of the automaton as it stands for one term."""

    term_index: int
    folded: str  # folded term, '*' at a masked position
    masked_at: int  # -1 when not a masked variant
    has_gaps: bool = False  # the term itself has separators ("BLUE PEAK")


@dataclass(frozen=True)
class Term:
    """One registered mark, alias or alias spelling, as the matcher holds it."""

    text: str
    folded: str
    trademark_ids: tuple[str, ...]
    is_alias: bool
    latin: bool  # word boundaries apply
    mark: str
    form: str = ""  # another way of writing the mark (PINYIN), else ""
    source: str = ""  # the alias a form was made from


def verify(
    term: Term,
    pat: Pattern,
    title: str,
    folded: str,
    origin: list[int],
    positions: list[int],
    squeezed: bool,
    min_digit_swap_len: int,
) -> tuple[tuple[str, ...], int, int] | None:
    """Check one raw match against the title as written; returns (tricks, orig_start, orig_end) or None.

    ``positions``: the folded title's index of each matched letter; ``squeezed``: the match was in the squeezed
    form (separators between the letters)."""
    start, last = positions[0], positions[-1]
    if term.latin and _runs_into_neighbours(term.folded, folded, start, last):
        return None
    expected = _expected_letters(pat) if squeezed else list(pat.folded)
    if len(expected) != len(positions):
        return None
    if not squeezed and pat.masked_at < 0 and title[origin[start] : origin[last] + 1].lower() == pat.folded:
        return (), origin[start], origin[last] + 1  # written exactly as registered: the common case
    tricks = _letter_tricks(title, folded, origin, positions, expected, pat, min_digit_swap_len)
    if tricks is None:
        return None
    if squeezed:
        gap = _gap_trick(folded, positions, pat)
        if gap is None:
            return None
        if gap:
            tricks.add(gap)
    o_start, o_end = origin[start], origin[last] + 1
    if not squeezed and o_end - o_start > len(positions) and _invisible_inside(title, origin, positions):
        tricks.add(SPACED)  # invisible characters inside the mark
    return tuple(sorted(tricks, key=lambda k: -KIND_PRIORITY.get(k, 0))), o_start, o_end


def _runs_into_neighbours(term: str, folded: str, start: int, last: int) -> bool:
    """A letter touches a letter, or a digit a digit, at either end: VOLTA is not in VOLTAGE, K2 not in K200."""
    if start > 0 and same_class(term[0], folded[start - 1]):
        return True
    return last + 1 < len(folded) and same_class(term[-1], folded[last + 1])


def _expected_letters(pat: Pattern) -> list[str]:
    """The pattern's letters without its separators, as the squeezed form holds them."""
    return [c for c, cc in zip(pat.folded, canonical(pat.folded), strict=True) if cc not in SQUEEZE_CHARS]


def _letter_tricks(
    title: str,
    folded: str,
    origin: list[int],
    positions: list[int],
    expected: list[str],
    pat: Pattern,
    min_digit_swap_len: int,
) -> set[str] | None:
    """The disguises seen letter by letter, or None when a letter is not the term's."""
    tricks: set[str] = set()
    for pos, want in zip(positions, expected, strict=True):
        got = folded[pos]
        orig = title[origin[pos]]
        if want == "*" and pat.masked_at >= 0:
            if got in MASK_CHARS:
                tricks.add(MASKED)
                continue
            return None
        if got == want:
            disguise = _char_disguise(orig, got)
            if disguise:
                tricks.add(disguise)
            continue
        if got in DIGIT_SWAPS and want.isalpha() and DIGIT_SWAPS[got] == canonical(want):
            if len(expected) < min_digit_swap_len:
                return None  # "Z3N" for ZEN: too short to tell a swap from another word
            tricks.add(DIGIT)
            continue
        # i and l share a canonical symbol: accept only the swap that really looks alike
        if (want == "l" and got == "i" and orig in "IΙІӀ") or (want == "i" and got == "l" and orig in "l|"):
            tricks.add(HOMOGLYPH)
            continue
        return None
    return tricks


def _gap_trick(folded: str, positions: list[int], pat: Pattern) -> str | None:
    """What the separators between a squeezed match's letters make of it: None (no match), "" (a plain
    mention), ``split`` or ``spaced``."""
    term_gaps = sum(
        1
        for a, b in zip(pat.folded, pat.folded[1:], strict=False)
        if a not in SQUEEZE_CHARS and b in SQUEEZE_CHARS
    )
    gaps = 0
    nonspace_gap = False
    for a, b in itertools.pairwise(positions):
        between = folded[a + 1 : b]
        if between:
            gaps += 1
            nonspace_gap = nonspace_gap or bool(between.strip())
    extra = gaps - term_gaps
    if extra <= 0:
        if term_gaps == 0:
            return None  # written as registered: the plain pass reports it
        # a multi-word term written together or with other separators ("BLUEPEAK", "Blue-Peak"):
        # a plain mention (the plain pass's hit for the same span, if any, wins)
        return ""
    if extra < 2 and not nonspace_gap:
        # one space inside: "LUMO RA" is the mark split in two, "VOLT A" is two words
        return SPLIT if _split_in_halves(positions, pat) else None
    return SPACED


def _split_in_halves(positions: list[int], pat: Pattern) -> bool:
    """Both sides of the one space hold at least two letters, and the term itself has no space there."""
    for i, (a, b) in enumerate(itertools.pairwise(positions)):
        if b - a > 1:
            return pat.masked_at < 0 and min(i + 1, len(positions) - i - 1) >= 2
    return False


def _invisible_inside(title: str, origin: list[int], positions: list[int]) -> bool:
    """A format character (zero-width space, bidi mark) between the matched letters as written."""
    o_start, o_end = origin[positions[0]], origin[positions[-1]] + 1
    used = {origin[p] for p in positions}
    return any(i not in used and unicodedata.category(title[i]) == "Cf" for i in range(o_start, o_end))


def _char_disguise(original: str, folded_char: str) -> str | None:
    """How one original character differs from what it was folded to (None: the same letter)."""
    if original.casefold() == folded_char:
        return None
    if unicodedata.normalize("NFKC", original).casefold() == folded_char:
        return FULLWIDTH
    if forms.traditional_to_simplified().get(ord(original)) == folded_char:
        return TRADITIONAL
    return HOMOGLYPH
