"""Folding a title so that every way of writing a letter reads as that letter (steps 1 to 3 of how
``matchers.text`` reads a title).

1. ``fold``: NFKC, casefold, zero-width and bidi controls removed, accents stripped from Latin, Greek and
   Cyrillic letters, look-alike letters of alphabetic scripts (UTS #39 confusables) mapped to the Latin letter
   they imitate, traditional Chinese characters read as simplified. ``fold_with_origin`` keeps, for each folded
   character, where it came from in the title.
2. ``canonical``: digit and symbol swaps folded to the letter they stand for, mask characters unified to ``*``
   (one character for one, so offsets carry over).
3. ``SQUEEZE_TABLE``: the canonical form without spaces, punctuation, symbols and emoji.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from matchers import forms

_CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "COPTIC", "CHEROKEE", "LISU")
_ACCENTED_SCRIPTS = (
    "LATIN",
    "GREEK",
    "CYRILLIC",
)  # accents are stripped from these letters (LUMÓRA -> lumora)
# Unicode ranges worth folding: Latin/Greek/Cyrillic and symbols, CJK punctuation, half/full-width forms,
# mathematical alphanumerics, enclosed alphanumerics. Everything else passes unchanged.
_FOLD_RANGES = (
    (0x0000, 0x2FFF),
    (0x3000, 0x303F),
    (0xA640, 0xA6FF),
    (0xAB70, 0xABBF),
    (0xFE00, 0xFFFF),
    (0x1D400, 0x1D7FF),
    (0x1F100, 0x1F1FF),
    (0xE0000, 0xE007F),
)

DIGIT_SWAPS = {
    "0": "o", "1": "l", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
}  # fmt: skip
MASK_CHARS = "*?×●○■□※☆★✱✲✳∗"


# Where punctuation, symbols and emoji live (emoji and their skin-tone, keycap and variation marks included).
_SEPARATOR_RANGES = ((0x0000, 0xFFFF), (0x1F000, 0x1FAFF), (0xE0020, 0xE007F))


def _separator_chars() -> str:
    """Spaces, punctuation, symbols, emoji and control characters (CJK punctuation included), except the
    '@'/'$' swaps: every one of them is a separator inside a mark ("LUM🔥ORA", "LUM★ORA")."""
    chars = []
    for lo, hi in _SEPARATOR_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            category = unicodedata.category(ch)
            if category[0] in "PSZ" or category in ("Cc", "Me") or 0xFE00 <= cp <= 0xFE0F:
                chars.append(ch)
    return "".join(c for c in chars if c not in DIGIT_SWAPS)


_SEPARATORS = _separator_chars()
SQUEEZE_CHARS = frozenset(_SEPARATORS)
LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def _confusable_to_latin() -> dict[str, str]:
    """Map each look-alike letter to the lower-case ASCII letter it imitates (UTS #39 data)."""
    from confusable_homoglyphs.utils import load

    table: dict[str, str] = {}
    for char, glyphs in load("confusables.json").items():
        if len(char) != 1 or char.isascii():
            continue
        try:
            script = unicodedata.name(char).split(" ")[0]
        except ValueError:
            continue
        if script not in _CONFUSABLE_SCRIPTS:
            continue
        for g in glyphs:
            target = g["c"]
            if len(target) == 1 and target.isascii() and target.isalpha():
                table[char] = target.lower()
                break
    return table


def _strip_accent(ch: str) -> str:
    if ch.isascii() or not ch.isalpha():
        return ch
    try:
        script = unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return ch
    if script not in _ACCENTED_SCRIPTS:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base or ch


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    confusables = _confusable_to_latin()
    table: dict[int, str] = {}
    for lo, hi in _FOLD_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if unicodedata.category(ch) == "Cf":
                table[cp] = ""
                continue
            # look-alike first (capital Cyrillic М imitates M, its lower case м imitates nothing), then NFKC
            folded = unicodedata.normalize("NFKC", confusables.get(ch, ch)).casefold()
            folded = "".join(confusables.get(c, c) for c in "".join(_strip_accent(c) for c in folded))
            folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
            if folded != ch:
                table[cp] = folded
    # traditional characters read as simplified (沃爾塔 is 沃尔塔), one character for one
    for cp, simple in forms.traditional_to_simplified().items():
        table.setdefault(cp, simple)
    return _with_identity(table, str)


# Where titles spend their characters: ASCII, CJK punctuation, the common ideographs, full-width forms.
_COMMON_RANGES = ((0x0000, 0x007F), (0x3000, 0x303F), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))


def _with_identity(table: dict, kind) -> dict:
    """``table`` plus "maps to itself" for every common character it leaves out. ``str.translate`` pays a
    failed lookup (an exception inside CPython) for each character missing from its table; for a Chinese title
    that halves the cost of every fold."""
    for lo, hi in _COMMON_RANGES:
        for cp in range(lo, hi + 1):
            table.setdefault(cp, chr(cp) if kind is str else cp)
    return table


_CANON_TABLE = _with_identity(str.maketrans({**DIGIT_SWAPS, "i": "l", **{m: "*" for m in MASK_CHARS}}), int)
SQUEEZE_TABLE = _with_identity(str.maketrans(dict.fromkeys(_SEPARATORS)), int)


def fold(text: str) -> str:
    """NFKC + casefold + confusables to Latin + zero-width/bidi controls removed."""
    return text.translate(fold_table())


def canonical(folded: str) -> str:
    """Digit/symbol swaps and mask characters folded; same length as ``folded``."""
    return folded.translate(_CANON_TABLE)


@lru_cache(maxsize=8)  # ``find_weak`` reads the same title right after ``find``
def canonical_cached(folded: str) -> str:
    return folded.translate(_CANON_TABLE)


@lru_cache(maxsize=1)
def _not_one_to_one() -> frozenset[str]:
    """Characters that fold to nothing or to several characters (offsets shift after them)."""
    return frozenset(chr(cp) for cp, v in fold_table().items() if len(v) != 1)


@lru_cache(maxsize=8)  # the scorer asks again for the same title right after ``find``
def fold_with_origin(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` plus, for each folded character, the index of the original character it came from."""
    table = fold_table()
    if _not_one_to_one().isdisjoint(text):
        return text.translate(table), list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        mapped = table.get(ord(ch), ch)
        out.append(mapped)
        origin.extend([i] * len(mapped))
    return "".join(out), origin


_DIGIT_CHARS = frozenset("0123456789")


def same_class(a: str, b: str) -> bool:
    """Two characters that would run together into one Latin word or one number."""
    return (a in LATIN and b in LATIN) or (a in _DIGIT_CHARS and b in _DIGIT_CHARS)
