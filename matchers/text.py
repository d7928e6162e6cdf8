"""Brand mentions in listing titles, Chinese and English, including the ways sellers disguise them.

How a title is read:

1. **Folding** (one ``str.translate``): NFKC (full-width ``ＬＵＭＯＲＡ`` → ``lumora``), casefold, zero-width and
   bidi control characters removed, accents stripped from Latin/Greek/Cyrillic letters (``LUMÓRA``), and Unicode
   confusables (Cyrillic ``LUМОRА``) mapped to the Latin letter they imitate. The confusables come from Unicode's
   UTS #39 ``confusables.txt`` as shipped by the ``confusable-homoglyphs`` package; only letters of alphabetic
   scripts (Latin, Greek, Cyrillic, Armenian, Coptic, Cherokee, Lisu) are mapped, never CJK, so Chinese text is
   left as it is, except that traditional characters are read as simplified (沃爾塔 is 沃尔塔; OpenCC's
   one-character table, ``matchers.forms``), so offsets still map one to one.
2. **Canonical form** (a second 1:1 ``translate``): digit and symbol swaps folded to the letter they stand for
   (``0→o 1→l 2→z 3→e 4→a 5→s 6→g 7→t 8→b 9→g @→a $→s``; ``i`` and ``l`` share one symbol because
   ``I``/``l``/``1`` look alike), mask characters (``* ? × ● …``) unified to ``*``.
3. **Squeezed form**: the canonical form without spaces, punctuation, symbols and emoji (skin tones, keycaps and
   variation selectors included), so ``L U M O R A`` / ``L-U-M-O-R-A`` / ``LUM🔥ORA`` / ``露【莫】拉`` read as
   the mark.

Canonical and squeezed forms are joined and searched in **one pass** of a pyahocorasick automaton that holds every
mark and alias, the pinyin of every Chinese alias joined and spaced (``lumola``, ``lu mo la``: kind ``pinyin``),
(plus masked variants: one inner letter, from six letters also the first or last or two neighbours),
so the cost per title does not grow with the number of marks. Each raw match is then verified against the title as
written: Latin terms must not run into other Latin letters, nor a digit into a digit (``VOLTA`` is not in
``VOLTAGE`` nor ``REVOLTA``, but is in ``VOLTA充电宝`` and ``VOLTA2024``); Chinese terms match as substrings; an
``i``/``l`` swap only counts when the letter really looks alike (capital ``I`` for ``l``); digit swaps need a term
of four letters or more; a squeezed match needs real separators between letters (two gaps, or one that is not a
space: ``LUMO-RA`` is a disguise; one space with two letters or more on each side, ``LUMO RA``, is kind
``split``, weighed as a plain mention; ``VOLT A`` is two words). The hit records the kind of disguise and the text
exactly as the seller wrote it (offsets map back to the original title).

Two weak kinds are looked for only when nothing registered is written (``find_weak``), and the scorer never
flags on either alone: a **fuzzy** hit (a one-letter misspelling: one edit or one swap of neighbours, found
through a deletion-neighbourhood index and confirmed with rapidfuzz's OSA distance) and a **homophone** (a
Chinese run that sounds like an alias with one character in three written differently: 路莫拉 for 露莫拉; the
title read as sounds in one ``translate`` and one automaton pass, ``matchers.forms.SoundMatcher``).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
from rapidfuzz.distance import OSA

from matchers import forms

# Kinds, from the plainest to the most deliberately disguised.
EXACT, ALIAS, FULLWIDTH, FUZZY, HOMOGLYPH, DIGIT, SPACED, MASKED = (
    "exact",
    "alias",
    "fullwidth",
    "fuzzy",
    "homoglyph",
    "digit",
    "spaced",
    "masked",
)
# Other ways of writing a mark (matchers.forms): the pinyin of an alias, the alias in traditional characters,
# the mark split once by a space ("LUMO RA"), a sound-alike of an alias (weak, like a one-edit misspelling).
PINYIN, TRADITIONAL, SPLIT, HOMOPHONE = forms.PINYIN, forms.TRADITIONAL, "split", forms.HOMOPHONE
WEAK_KINDS = frozenset({FUZZY, HOMOPHONE})  # never decide alone: the scorer needs another cue beside them
# Disguises a seller only uses to slip past brand filters.
EVASIVE_KINDS = frozenset({HOMOGLYPH, DIGIT, SPACED, MASKED})
_KIND_PRIORITY = {MASKED: 5, SPACED: 4, HOMOGLYPH: 3, DIGIT: 2, SPLIT: 1, FULLWIDTH: 1, TRADITIONAL: 1}

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

_DIGIT_SWAPS = {
    "0": "o", "1": "l", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
}  # fmt: skip
_MASK_CHARS = "*?×●○■□※☆★✱✲✳∗"


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
    return "".join(c for c in chars if c not in _DIGIT_SWAPS)


_SEPARATORS = _separator_chars()
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


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
def _fold_table() -> dict[int, str]:
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


_CANON_TABLE = _with_identity(str.maketrans({**_DIGIT_SWAPS, "i": "l", **{m: "*" for m in _MASK_CHARS}}), int)
_SQUEEZE_TABLE = _with_identity(str.maketrans(dict.fromkeys(_SEPARATORS)), int)


def fold(text: str) -> str:
    """NFKC + casefold + confusables to Latin + zero-width/bidi controls removed."""
    return text.translate(_fold_table())


def canonical(folded: str) -> str:
    """Digit/symbol swaps and mask characters folded; same length as ``folded``."""
    return folded.translate(_CANON_TABLE)


@lru_cache(maxsize=8)  # ``find_weak`` reads the same title right after ``find``
def _canonical_cached(folded: str) -> str:
    return folded.translate(_CANON_TABLE)


@lru_cache(maxsize=1)
def _not_one_to_one() -> frozenset[str]:
    """Characters that fold to nothing or to several characters (offsets shift after them)."""
    return frozenset(chr(cp) for cp, v in _fold_table().items() if len(v) != 1)


@lru_cache(maxsize=8)  # the scorer asks again for the same title right after ``find``
def fold_with_origin(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` plus, for each folded character, the index of the original character it came from."""
    table = _fold_table()
    if _not_one_to_one().isdisjoint(text):
        return text.translate(table), list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        mapped = table.get(ord(ch), ch)
        out.append(mapped)
        origin.extend([i] * len(mapped))
    return "".join(out), origin


def _char_disguise(original: str, folded_char: str) -> str | None:
    """How one original character differs from what it was folded to (None: the same letter)."""
    if original.casefold() == folded_char:
        return None
    if unicodedata.normalize("NFKC", original).casefold() == folded_char:
        return FULLWIDTH
    if forms.traditional_to_simplified().get(ord(original)) == folded_char:
        return TRADITIONAL
    return HOMOGLYPH


def _is_cjk_term(term: str) -> bool:
    return not any(c in _LATIN or c.isdigit() for c in term)


@dataclass(frozen=True)
class TextHit:
    """One mention of a registered mark (or alias) in a title."""

    trademark_id: str
    term: str  # the registered mark or alias it matched
    kind: str  # exact, alias, homoglyph, spaced, digit, fullwidth, masked, fuzzy
    text: str  # as written in the original title
    start: int  # offsets into the original title
    end: int
    is_alias: bool = False
    tricks: tuple[str, ...] = ()  # every disguise seen in this mention
    mark: str = ""  # the registered word mark (differs from ``term`` for an alias)
    source: str = ""  # for a pinyin or sound-alike form: the registered alias it stands for

    @property
    def evasive(self) -> bool:
        return self.kind in EVASIVE_KINDS

    def describe(self) -> str:
        """How the mention reads for a reviewer: the text as written and, unless plain, the form it takes."""
        labels = {
            ALIAS: "alias of",
            FULLWIDTH: "full-width",
            HOMOGLYPH: "look-alike letters for",
            DIGIT: "digit-swapped",
            SPACED: "spaced-out",
            MASKED: "masked",
            FUZZY: "one-letter misspelling of",
            PINYIN: "pinyin of",
            TRADITIONAL: "traditional characters for",
            SPLIT: "split by a space:",
            HOMOPHONE: "sounds like",
        }
        label = labels.get(self.kind, self.kind)
        mark = self.mark or self.term
        if self.kind == EXACT:
            return f"'{self.text}'"
        if self.kind == ALIAS:
            return f"'{self.text}' ({label} {mark})"
        alias = self.source or (self.term if self.is_alias else "")
        if alias and self.kind != FUZZY:
            return f"'{self.text}' ({label} {mark} alias {alias})"
        return f"'{self.text}' ({label} {self.term})"

    def as_dict(self) -> dict:
        return {
            "trademark_id": self.trademark_id,
            "term": self.term,
            "mark": self.mark or self.term,
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            **({"source": self.source} if self.source else {}),
        }


@dataclass(frozen=True)
class _Pattern:
    term_index: int
    folded: str  # folded term, '*' at a masked position
    masked_at: int  # -1 when not a masked variant
    has_gaps: bool = False  # the term itself has separators ("BLUE PEAK")


@dataclass(frozen=True)
class _Term:
    text: str
    folded: str
    trademark_ids: tuple[str, ...]
    is_alias: bool
    latin: bool  # word boundaries apply
    mark: str
    form: str = ""  # another way of writing the mark (PINYIN), else ""
    source: str = ""  # the alias a form was made from


class MarkMatcher:
    """All marks and aliases of a registry in one automaton; ``find(title)`` lists the hits."""

    MIN_MASKED_LEN = 5  # masking one letter of a shorter word leaves too little to be sure
    MIN_FUZZY_LEN = 5
    MIN_DIGIT_SWAP_LEN = 4

    def __init__(self, terms: Iterable[tuple]):
        """``terms``: (trademark_id, term text, is_alias[, registered mark]) tuples."""
        by_text: dict[str, list] = {}
        for tm_id, text, is_alias, *rest in terms:
            folded = fold(text).strip()
            if not folded:
                continue
            mark, form, source = (*rest, "", "")[:3] if rest else (text, "", "")
            entry = by_text.setdefault(folded, [text, [], is_alias, mark, form, source])
            if tm_id not in entry[1]:
                entry[1].append(tm_id)
            entry[2] = entry[2] and is_alias
            if not form:  # a registered spelling is not "another form", whatever else it also is
                entry[4] = entry[5] = ""
        self.terms: list[_Term] = [
            _Term(text, folded, tuple(ids), is_alias, not _is_cjk_term(folded), mark, form, source)
            for folded, (text, ids, is_alias, mark, form, source) in by_text.items()
        ]
        cjk_aliases = [i for i, t in enumerate(self.terms) if not t.latin and not t.form]
        self._sound_terms = cjk_aliases
        self._sounds = forms.SoundMatcher(self.terms[i].folded for i in cjk_aliases)
        self._automaton = ahocorasick.Automaton()
        patterns: dict[str, list[_Pattern]] = {}

        def add(key: str, pattern: _Pattern) -> None:
            if key:
                patterns.setdefault(key, []).append(pattern)

        self._fuzzy_index: dict[str, set[int]] = {}
        self._near_cache: dict[str, tuple[int, ...]] = {}
        for idx, term in enumerate(self.terms):
            canon = canonical(term.folded)
            plain = _Pattern(idx, term.folded, -1, any(c in _SQUEEZE_CHARS for c in term.folded))
            add(canon, plain)
            squeezed = canon.translate(_SQUEEZE_TABLE)
            if squeezed != canon:
                add(squeezed, plain)
            letters = [i for i, c in enumerate(term.folded) if c not in _SQUEEZE_CHARS]
            # a pinyin spelling is already another form: masking it too would only add noise (and build time)
            if not term.form and (
                len(letters) >= self.MIN_MASKED_LEN or (not term.latin and len(letters) >= 3)
            ):
                # one masked letter (LUM*RA, 露*拉); from 6 letters also the first or last (*UMORA),
                # or two neighbours (LU**RA)
                long_word = len(letters) >= self.MIN_MASKED_LEN + 1
                singles = letters if long_word and term.latin else letters[1:-1]
                variants = [(k,) for k in singles]
                if long_word:
                    variants += [(a, b) for a, b in itertools.pairwise(letters[1:-1]) if b == a + 1]
                for ks in variants:
                    masked = "".join("*" if i in ks else c for i, c in enumerate(term.folded))
                    add(canonical(masked), _Pattern(idx, masked, ks[0]))
            if term.latin and not term.form and canon.isalpha() and len(canon) >= self.MIN_FUZZY_LEN:
                for key in _deletions(canon):
                    self._fuzzy_index.setdefault(key, set()).add(idx)
        for key, pats in patterns.items():
            self._automaton.add_word(key, (len(key), tuple(pats)))
        if patterns:
            self._automaton.make_automaton()
        self._empty = not patterns

    @classmethod
    def from_registry(cls, registry) -> MarkMatcher:
        """Every mark and alias of the registry, plus the pinyin spellings of its Chinese aliases."""
        return cls(terms_of(registry.trademarks))

    # -----------------------------------------------------------------------------------------
    def find(self, title: str, *, fuzzy: bool = True, folded: str | None = None) -> list[TextHit]:
        """Every mention of every mark and alias in ``title`` (one automaton pass).
        ``folded``: ``fold(title)`` when the caller already has it."""
        if not title or self._empty:
            return []
        if folded is None:
            folded = title.translate(_fold_table())
        canon = _canonical_cached(folded)
        squeezed = canon.translate(_SQUEEZE_TABLE)
        raw = list(self._automaton.iter(canon + "\x00" + squeezed))
        if not raw:
            return self._fuzzy_hits(title, canon) if fuzzy else []
        _, origin = fold_with_origin(title)
        squeeze_map: list[int] | None = None
        hits: dict[tuple[int, int, str], TextHit] = {}
        n = len(canon)
        # Each plain mention shows up again in the squeezed half; only a key found more often there
        # (a mention with separators inside) needs its squeezed matches examined.
        plain_count: dict[int, int] = {}
        squeezed_count: dict[int, int] = {}
        for end, value in raw:
            counts = plain_count if end < n else squeezed_count
            counts[id(value)] = counts.get(id(value), 0) + 1
        for end, value in raw:
            key_len, patterns = value
            if end < n:
                positions = list(range(end - key_len + 1, end + 1))
                squeezed_hit = False
            else:
                if squeezed_count[id(value)] <= plain_count.get(id(value), 0) and not patterns[0].has_gaps:
                    continue
                if squeeze_map is None:
                    squeeze_map = [i for i, c in enumerate(canon) if c not in _SQUEEZE_CHARS]
                s_end = end - n - 1
                positions = squeeze_map[s_end - key_len + 1 : s_end + 1]
                squeezed_hit = True
            for pat in patterns:
                verified = self._verify(title, folded, origin, positions, pat, squeezed_hit)
                if verified is None:
                    continue
                term = self.terms[pat.term_index]
                tricks, o_start, o_end = verified
                kind = tricks[0] if tricks else (term.form or (ALIAS if term.is_alias else EXACT))
                for tm_id in term.trademark_ids:
                    key = (o_start, o_end, tm_id)
                    previous = hits.get(key)
                    # the same stretch read two ways ("NOVA-PEAK": the alias "Nova Peak" as registered, or the
                    # mark with a hyphen inside): the plainest reading wins, a registered form is no disguise
                    if previous is None or _KIND_PRIORITY.get(kind, 0) < _KIND_PRIORITY.get(previous.kind, 0):
                        hits[key] = TextHit(
                            tm_id,
                            term.text,
                            kind,
                            title[o_start:o_end],
                            o_start,
                            o_end,
                            term.is_alias,
                            tricks,
                            term.mark,
                            term.source,
                        )
        if not hits and fuzzy:
            return self._fuzzy_hits(title, canon)
        return _drop_overlapped(
            sorted(hits.values(), key=lambda h: (h.start, -(h.end - h.start), h.trademark_id))
        )

    def find_weak(self, title: str, *, folded: str | None = None) -> list[TextHit]:
        """Only the weak forms (one-letter misspellings, sound-alikes of an alias): for a title in which
        ``find(title, fuzzy=False)`` found nothing, without searching the registered forms again."""
        if not title or self._empty:
            return []
        if folded is None:
            folded = title.translate(_fold_table())
        return self._fuzzy_hits(title, _canonical_cached(folded))

    def _verify(
        self, title: str, folded: str, origin: list[int], positions: list[int], pat: _Pattern, squeezed: bool
    ) -> tuple[tuple[str, ...], int, int] | None:
        """Check one raw match against the title as written; returns (tricks, orig_start, orig_end) or None."""
        term = self.terms[pat.term_index]
        start, last = positions[0], positions[-1]
        if term.latin:
            # a letter may not touch a letter, a digit not a digit: VOLTA is not in VOLTAGE, K2 not in K200
            if start > 0 and _same_class(term.folded[0], folded[start - 1]):
                return None
            if last + 1 < len(folded) and _same_class(term.folded[-1], folded[last + 1]):
                return None
        if squeezed:
            expected = [
                c for c, cc in zip(pat.folded, canonical(pat.folded), strict=True) if cc not in _SQUEEZE_CHARS
            ]
        else:
            expected = list(pat.folded)
        if len(expected) != len(positions):
            return None
        if (
            not squeezed
            and pat.masked_at < 0
            and title[origin[start] : origin[last] + 1].lower() == pat.folded
        ):
            return (), origin[start], origin[last] + 1  # written exactly as registered: the common case
        tricks: set[str] = set()
        for pos, want in zip(positions, expected, strict=True):
            got = folded[pos]
            orig = title[origin[pos]]
            if want == "*" and pat.masked_at >= 0:
                if got in _MASK_CHARS:
                    tricks.add(MASKED)
                    continue
                return None
            if got == want:
                disguise = _char_disguise(orig, got)
                if disguise:
                    tricks.add(disguise)
                continue
            if got in _DIGIT_SWAPS and want.isalpha() and _DIGIT_SWAPS[got] == canonical(want):
                if len(expected) < self.MIN_DIGIT_SWAP_LEN:
                    return None  # "Z3N" for ZEN: too short to tell a swap from another word
                tricks.add(DIGIT)
                continue
            # i and l share a canonical symbol: accept only the swap that really looks alike
            if (want == "l" and got == "i" and orig in "IΙІӀ") or (
                want == "i" and got == "l" and orig in "l|"
            ):
                tricks.add(HOMOGLYPH)
                continue
            return None
        if squeezed:
            term_gaps = sum(
                1
                for a, b in zip(pat.folded, pat.folded[1:], strict=False)
                if a not in _SQUEEZE_CHARS and b in _SQUEEZE_CHARS
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
            elif extra < 2 and not nonspace_gap:
                # one space inside: "LUMO RA" is the mark split in two, "VOLT A" is two words
                if not self._split_in_halves(folded, positions, pat):
                    return None
                tricks.add(SPLIT)
            else:
                tricks.add(SPACED)
        o_start, o_end = origin[start], origin[last] + 1
        if o_end - o_start > len(positions) and not squeezed:
            used = {origin[p] for p in positions}
            if any(i not in used and unicodedata.category(title[i]) == "Cf" for i in range(o_start, o_end)):
                tricks.add(SPACED)  # invisible characters inside the mark
        return tuple(sorted(tricks, key=lambda k: -_KIND_PRIORITY.get(k, 0))), o_start, o_end

    @staticmethod
    def _split_in_halves(folded: str, positions: list[int], pat: _Pattern) -> bool:
        """Both sides of the one space hold at least two letters, and the term itself has no space there."""
        for i, (a, b) in enumerate(itertools.pairwise(positions)):
            if b - a > 1:
                return pat.masked_at < 0 and min(i + 1, len(positions) - i - 1) >= 2
        return False

    def _fuzzy_hits(self, title: str, canon: str) -> list[TextHit]:
        """Near-spellings and sound-alikes: weak signals, looked for only when nothing registered is written."""
        candidates = self._fuzzy_candidates(canon) if self._fuzzy_index else []
        sound_hits = self._sounds.find(canon)
        if not candidates and not sound_hits:
            return []
        _, origin = fold_with_origin(title)
        hits = self._homophone_hits(title, origin, sound_hits) if sound_hits else []
        for start, end, idx in candidates:
            term = self.terms[idx]
            o_start, o_end = origin[start], origin[end - 1] + 1
            for tm_id in term.trademark_ids:
                hits.append(
                    TextHit(
                        tm_id,
                        term.text,
                        FUZZY,
                        title[o_start:o_end],
                        o_start,
                        o_end,
                        term.is_alias,
                        (FUZZY,),
                        term.mark,
                    )
                )
        return hits

    def _homophone_hits(self, title: str, origin: list[int], sound_hits) -> list[TextHit]:
        hits = []
        for sh in sound_hits:
            term = self.terms[self._sound_terms[sh.index]]
            o_start, o_end = origin[sh.start], origin[sh.end - 1] + 1
            for tm_id in term.trademark_ids:
                hits.append(
                    TextHit(
                        tm_id,
                        term.text,
                        HOMOPHONE,
                        title[o_start:o_end],
                        o_start,
                        o_end,
                        term.is_alias,
                        (HOMOPHONE,),
                        term.mark,
                        term.text,
                    )
                )
        return hits

    def _fuzzy_candidates(self, canon: str) -> list[tuple[int, int, int]]:
        out = []
        for m in _WORD.finditer(canon):
            token = m.group()
            if len(token) < self.MIN_FUZZY_LEN or len(token) > 24:
                continue
            near = self._near_cache.get(token)
            if near is None:
                near = self._near_terms(token)
                if len(self._near_cache) > 100_000:  # titles share a vocabulary: words come back
                    self._near_cache.clear()
                self._near_cache[token] = near
            out.extend((m.start(), m.end(), idx) for idx in near)
        return out

    def _near_terms(self, token: str) -> tuple[int, ...]:
        """Terms one edit (or one swap of neighbours) away from ``token``; none when the token is itself an
        ordinary English word ("volts" is not a misspelling of VOLTA)."""
        if forms.is_english_word(token):
            return ()
        candidates: set[int] = set()
        for key in _deletions(token):
            candidates |= self._fuzzy_index.get(key, set())
        return tuple(
            i for i in sorted(candidates) if OSA.distance(token, canonical(self.terms[i].folded)) == 1
        )


_SQUEEZE_CHARS = frozenset(_SEPARATORS)


def terms_of(trademarks) -> Iterable[tuple]:
    """(trademark_id, term, is_alias, mark[, form, source]) for every mark, alias and alias pinyin."""
    for tm in trademarks:
        for i, term in enumerate(tm.terms):
            yield (tm.id, term, i > 0, tm.mark)
        for alias in tm.aliases:
            for spelling in forms.pinyin_forms(alias):
                yield (tm.id, spelling, True, tm.mark, PINYIN, alias)


_DIGIT_CHARS = frozenset("0123456789")


def _same_class(a: str, b: str) -> bool:
    """Two characters that would run together into one Latin word or one number."""
    return (a in _LATIN and b in _LATIN) or (a in _DIGIT_CHARS and b in _DIGIT_CHARS)


_WORD = re.compile(r"[a-z]+")


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _drop_overlapped(hits: list[TextHit]) -> list[TextHit]:
    """Keep, for each stretch of title, only the longest mention (an alias inside a longer alias is one mention)."""
    kept: list[TextHit] = []
    for h in hits:
        if any(k.start <= h.start and h.end <= k.end and (k.end - k.start) > (h.end - h.start) for k in kept):
            continue
        kept.append(h)
    return kept
