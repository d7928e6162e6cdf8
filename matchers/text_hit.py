"""One mention of a registered mark in a title (``TextHit``) and the kinds of writing it can take, from
the plainest to the most deliberately disguised."""

from __future__ import annotations

from dataclasses import dataclass

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
# How deliberate a disguise is: a mention's tricks are listed most deliberate first, and when one stretch of
# title reads two ways the plainer reading wins.
KIND_PRIORITY = {MASKED: 5, SPACED: 4, HOMOGLYPH: 3, DIGIT: 2, SPLIT: 1, FULLWIDTH: 1, TRADITIONAL: 1}

# How each kind reads in an explanation (``TextHit.describe``).
_LABELS = {
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


@dataclass(frozen=True, slots=True)
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
        label = _LABELS.get(self.kind, self.kind)
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
        out = {
            "trademark_id": self.trademark_id,
            "term": self.term,
            "mark": self.mark or self.term,
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }
        if self.source:
            out["source"] = self.source
        return out
