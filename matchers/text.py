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
from collections.abc import Iterable, Iterator

import ahocorasick
from rapidfuzz.distance import OSA

from matchers import forms
from matchers.text_fold import (
    LATIN,
    SQUEEZE_CHARS,
    SQUEEZE_TABLE,
    canonical,
    canonical_cached,
    fold,
    fold_table,
    fold_with_origin,
)
from matchers.text_hit import ALIAS, EXACT, FUZZY, HOMOPHONE, KIND_PRIORITY, PINYIN, TextHit
from matchers.text_verify import Pattern, Term, verify


def _is_cjk_term(term: str) -> bool:
    return not any(c in LATIN or c.isdigit() for c in term)


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
        self.terms: list[Term] = [
            Term(text, folded, tuple(ids), is_alias, not _is_cjk_term(folded), mark, form, source)
            for folded, (text, ids, is_alias, mark, form, source) in by_text.items()
        ]
        cjk_aliases = [i for i, t in enumerate(self.terms) if not t.latin and not t.form]
        self._sound_terms = cjk_aliases
        self._sounds = forms.SoundMatcher(self.terms[i].folded for i in cjk_aliases)
        self._automaton = ahocorasick.Automaton()
        patterns: dict[str, list[Pattern]] = {}

        def add(key: str, pattern: Pattern) -> None:
            if key:
                patterns.setdefault(key, []).append(pattern)

        self._fuzzy_index: dict[str, set[int]] = {}
        self._near_cache: dict[str, tuple[int, ...]] = {}
        for idx, term in enumerate(self.terms):
            canon = canonical(term.folded)
            plain = Pattern(idx, term.folded, -1, any(c in SQUEEZE_CHARS for c in term.folded))
            add(canon, plain)
            squeezed = canon.translate(SQUEEZE_TABLE)
            if squeezed != canon:
                add(squeezed, plain)
            letters = [i for i, c in enumerate(term.folded) if c not in SQUEEZE_CHARS]
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
                    add(canonical(masked), Pattern(idx, masked, ks[0]))
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
            folded = title.translate(fold_table())
        canon = canonical_cached(folded)
        squeezed = canon.translate(SQUEEZE_TABLE)
        raw = list(self._automaton.iter(canon + "\x00" + squeezed))
        if not raw:
            return self._fuzzy_hits(title, canon) if fuzzy else []
        hits = self._verified_hits(title, folded, canon, raw)
        if not hits and fuzzy:
            return self._fuzzy_hits(title, canon)
        return _drop_overlapped(
            sorted(hits.values(), key=lambda h: (h.start, -(h.end - h.start), h.trademark_id))
        )

    def _verified_hits(
        self, title: str, folded: str, canon: str, raw: list
    ) -> dict[tuple[int, int, str], TextHit]:
        """The raw matches that hold against the title as written, one per stretch and mark."""
        _, origin = fold_with_origin(title)
        hits: dict[tuple[int, int, str], TextHit] = {}
        for positions, patterns, squeezed_hit in _match_positions(canon, raw):
            for pat in patterns:
                term = self.terms[pat.term_index]
                verified = verify(
                    term, pat, title, folded, origin, positions, squeezed_hit, self.MIN_DIGIT_SWAP_LEN
                )
                if verified is not None:
                    _keep_plainest(hits, title, term, *verified)
        return hits

    def find_weak(self, title: str, *, folded: str | None = None) -> list[TextHit]:
        """Only the weak forms (one-letter misspellings, sound-alikes of an alias): for a title in which
        ``find(title, fuzzy=False)`` found nothing, without searching the registered forms again."""
        if not title or self._empty:
            return []
        if folded is None:
            folded = title.translate(fold_table())
        return self._fuzzy_hits(title, canonical_cached(folded))

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


def terms_of(trademarks) -> Iterable[tuple]:
    """(trademark_id, term, is_alias, mark[, form, source]) for every mark, alias and alias pinyin."""
    for tm in trademarks:
        for i, term in enumerate(tm.terms):
            yield (tm.id, term, i > 0, tm.mark)
        for alias in tm.aliases:
            for spelling in forms.pinyin_forms(alias):
                yield (tm.id, spelling, True, tm.mark, PINYIN, alias)


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


def _match_positions(canon: str, raw: list) -> Iterator[tuple[list[int], tuple[Pattern, ...], bool]]:
    """Each raw match as (the folded title's index of each matched letter, its patterns, found squeezed).

    Each plain mention shows up again in the squeezed half; only a key found more often there (a mention with
    separators inside) needs its squeezed matches examined."""
    n = len(canon)
    plain_count: dict[int, int] = {}
    squeezed_count: dict[int, int] = {}
    for end, value in raw:
        counts = plain_count if end < n else squeezed_count
        counts[id(value)] = counts.get(id(value), 0) + 1
    squeeze_map: list[int] | None = None
    for end, value in raw:
        key_len, patterns = value
        if end < n:
            yield list(range(end - key_len + 1, end + 1)), patterns, False
            continue
        if squeezed_count[id(value)] <= plain_count.get(id(value), 0) and not patterns[0].has_gaps:
            continue
        if squeeze_map is None:
            squeeze_map = [i for i, c in enumerate(canon) if c not in SQUEEZE_CHARS]
        s_end = end - n - 1
        yield squeeze_map[s_end - key_len + 1 : s_end + 1], patterns, True


def _keep_plainest(
    hits: dict[tuple[int, int, str], TextHit],
    title: str,
    term: Term,
    tricks: tuple[str, ...],
    o_start: int,
    o_end: int,
) -> None:
    """Record a verified match for each of its marks. The same stretch read two ways ("NOVA-PEAK": the alias
    "Nova Peak" as registered, or the mark with a hyphen inside): the plainest reading wins, a registered form
    is no disguise."""
    kind = tricks[0] if tricks else (term.form or (ALIAS if term.is_alias else EXACT))
    for tm_id in term.trademark_ids:
        key = (o_start, o_end, tm_id)
        previous = hits.get(key)
        if previous is None or KIND_PRIORITY.get(kind, 0) < KIND_PRIORITY.get(previous.kind, 0):
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
