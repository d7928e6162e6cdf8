"""The words around a brand mention: does the seller admit a copy, name the brand only to say what an
accessory fits, or resell a second-hand item?

The vocabularies are data (``matchers/data/*_terms.yaml``). Each is compiled into one pyahocorasick automaton
and matched on the folded title (``matchers.text_fold.fold``: NFKC, casefold, look-alike letters, invisible characters
removed), so full-width ``ＡＡＡ`` and ``Replica`` are covered. Latin terms respect word boundaries (``for`` is
not in ``fortune``); Chinese terms match as substrings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

from contract.data import load_yaml
from matchers.text_fold import fold, same_class

DATA_DIR = Path(__file__).resolve().parent / "data"
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
# a one-character token followed by a short run of separators: the start of split-up wording ("高 仿", "A 货")
_SPLIT_WORD = re.compile(r"(?<!\w)(\w)[^\w]{1,3}(?=\w)")
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fffa-z0-9:]*[\u4e00-\u9fff][\u4e00-\u9fffa-z0-9:]*$")
_DIGITS = frozenset("0123456789")
_WORD_CHARS = _LETTERS | _DIGITS


@dataclass(frozen=True, slots=True)
class TermHit:
    term: str  # as listed in the vocabulary
    text: str  # as written in the title
    start: int  # offsets into the folded title
    end: int
    weight: float
    kind: str  # counterfeit | lookalike | accessory | resale


@dataclass(slots=True)
class Context:
    counterfeit: list[TermHit] = field(default_factory=list)  # kinds counterfeit and lookalike
    accessory: list[TermHit] = field(default_factory=list)  # already filtered by position to a brand mention
    resale: list[TermHit] = field(default_factory=list)
    # the price is a deposit, a fee link, a rental...
    price_notes: list[TermHit] = field(default_factory=list)
    goods_classes: frozenset[int] = frozenset()  # Nice classes of the goods the title names
    counterfeit_weight: float = 0.0  # strongest "this is a copy" wording
    lookalike_weight: float = 0.0  # strongest "like the brand" wording
    resale_weight: float = 0.0


@dataclass(frozen=True)
class _Entry:
    term: str
    folded: str
    kind: str
    weight: float
    position: str = "any"
    window: int = 6
    classes: frozenset[int] = frozenset()


def _load_yaml(name: str) -> dict:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return load_yaml(fh) or {}


class ContextMatcher:
    """Finds counterfeit, look-alike, accessory and resale wording in one pass."""

    def __init__(
        self,
        counterfeit: dict,
        accessory: dict,
        resale: dict,
        price: dict | None = None,
        goods: dict | None = None,
    ):
        self.negations = tuple(fold(str(n)) for n in counterfeit.get("negations", []))
        self.negation_window = int(counterfeit.get("negation_window", 3))
        self.gift_words = tuple(fold(str(g)) for g in accessory.get("gift_words", []))
        self.gift_window = int(accessory.get("gift_window", 2))
        entries = [
            *_wording_entries(counterfeit, accessory, resale, price or {}),
            *(
                _Entry(word, word, "goods", 1.0, classes=frozenset(classes))
                for word, classes in _goods_words(goods or {}).items()
            ),
        ]
        by_key: dict[str, list[_Entry]] = {}
        for e in entries:
            by_key.setdefault(e.folded, []).append(e)
        self._automaton = _automaton_of({key: tuple(es) for key, es in by_key.items()})

    @classmethod
    def default(cls) -> ContextMatcher:
        return _default_matcher()

    def find(
        self, title: str, brand_spans: list[tuple[int, int]] | None = None, *, folded: str | None = None
    ) -> Context:
        """Wording in ``title``. ``brand_spans`` are brand mentions as offsets into the *folded* title;
        accessory wording with a position only counts next to one of them."""
        text = folded if folded is not None else fold(title or "")
        ctx = Context()
        if not text:
            return ctx
        goods = self._collect(ctx, text, brand_spans or [])
        if goods:
            ctx.goods_classes = frozenset(goods)
        squeezed = _SPLIT_WORD.sub(r"\1", text) if _SPLIT_WORD.search(text) else text
        if squeezed != text:
            self._collect_split_up(ctx, squeezed)
        _settle(ctx)
        return ctx

    def _collect(self, ctx: Context, text: str, spans: list[tuple[int, int]]) -> set[int]:
        """Every vocabulary word of the folded title into its list of ``ctx``; returns the goods' classes."""
        goods: set[int] = set()
        for end, (length, entries) in self._automaton.iter(text):
            start = end - length + 1
            stop = end + 1
            # "for" is not in "fortune", "1:1" is not in "11:15"; but "KESTREL1:1" and "AAA级" count
            if start > 0 and same_class(entries[0].folded[0], text[start - 1]):
                continue
            if stop < len(text) and same_class(entries[0].folded[-1], text[stop]):
                continue
            for e in entries:
                if e.kind == "goods":
                    goods |= e.classes
                    continue
                if e.kind in ("counterfeit", "lookalike"):
                    if self._preceded_by(text, start, self.negations, self.negation_window) or not (
                        e.weight == 0 or self._near_brand(e, start, stop, spans, text)
                    ):
                        continue
                    found = ctx.counterfeit
                elif e.kind == "resale":
                    found = ctx.resale
                elif e.kind == "price_note":
                    found = ctx.price_notes
                elif self._near_brand(e, start, stop, spans, text) and not (
                    e.position == "any" and self._preceded_by(text, start, self.gift_words, self.gift_window)
                ):
                    found = ctx.accessory
                else:
                    continue
                found.append(TermHit(e.term, text[start:stop], start, stop, e.weight, e.kind))
        return goods

    def _collect_split_up(self, ctx: Context, squeezed: str) -> None:
        """Counterfeit wording split up like a disguised mark ("高 仿", "复*刻"), read in the title with its
        one-character tokens joined to the next word; Chinese wording only, and not negated."""
        found = {h.term for h in ctx.counterfeit}
        for end, (length, entries) in self._automaton.iter(squeezed):
            for e in entries:
                if e.kind == "counterfeit" and e.position == "any" and e.term not in found and e.weight > 0:
                    start = end - length + 1
                    if not _CJK_ONLY.match(e.folded) or self._preceded_by(
                        squeezed, start, self.negations, self.negation_window
                    ):
                        continue
                    ctx.counterfeit.append(TermHit(e.term, e.folded, -1, -1, e.weight, e.kind))
                    found.add(e.term)

    @staticmethod
    def _preceded_by(text: str, start: int, words: tuple[str, ...], window: int) -> bool:
        """One of ``words`` ends at most ``window`` characters before ``start`` ("非高仿", "送收纳袋")."""
        before = text[max(0, start - window - 12) : start]
        for neg in words:
            i = before.rfind(neg)
            if i < 0:
                continue
            gap = before[i + len(neg) :]
            # a Latin negation must be a whole word ("no replica", not "piano replica")
            if neg[0] in _WORD_CHARS and i > 0 and before[i - 1] in _WORD_CHARS:
                continue
            if len(gap.strip()) <= window and len(gap) <= window + 1:
                return True
        return False

    @staticmethod
    def _near_brand(e: _Entry, start: int, stop: int, spans: list[tuple[int, int]], text: str) -> bool:
        if e.position == "any":
            return True
        for b_start, b_end in spans:
            if e.position in ("before", "near") and 0 <= b_start - stop <= e.window:
                return True
            if e.position in ("after", "near") and 0 <= start - b_end <= e.window:
                return True
        return False


def _settle(ctx: Context) -> None:
    """Keep the longest of overlapping words, drop the neutral phrases, and weigh what is left."""
    if ctx.counterfeit:
        # weight-0 entries are neutral phrases ("AAA battery") that only shadow the shorter term inside them
        ctx.counterfeit = [h for h in _longest(ctx.counterfeit) if h.weight > 0]
        ctx.counterfeit_weight = max(
            (h.weight for h in ctx.counterfeit if h.kind == "counterfeit"), default=0.0
        )
        ctx.lookalike_weight = max((h.weight for h in ctx.counterfeit if h.kind == "lookalike"), default=0.0)
    if ctx.accessory:
        ctx.accessory = _longest(ctx.accessory)
    if ctx.resale:
        ctx.resale = _longest(ctx.resale)
        ctx.resale_weight = max(h.weight for h in ctx.resale)


def _wording_entries(counterfeit: dict, accessory: dict, resale: dict, price: dict) -> list[_Entry]:
    """The counterfeit, look-alike, accessory, resale and price-note vocabularies as automaton entries."""
    entries: list[_Entry] = []
    for t in counterfeit.get("terms", []):
        kind = t.get("kind", "counterfeit")
        default_position, default_window = ("near", 4) if kind == "lookalike" else ("any", 6)
        entries.append(
            _Entry(
                str(t["term"]),
                fold(str(t["term"])),
                kind,
                float(t["weight"]),
                t.get("position", default_position),
                int(t.get("window", default_window)),
            )
        )
    accessory_window = int(accessory.get("default_window", 6))
    for t in accessory.get("terms", []):
        entries.append(
            _Entry(
                str(t["term"]),
                fold(str(t["term"])),
                "accessory",
                float(t.get("weight", 1.0)),
                t.get("position", "any"),
                int(t.get("window", accessory_window)),
            )
        )
    for t in resale.get("terms", []):
        entries.append(_Entry(str(t["term"]), fold(str(t["term"])), "resale", float(t.get("weight", 1.0))))
    for t in price.get("terms", []):
        entries.append(_Entry(str(t), fold(str(t)), "price_note", 1.0))
    return entries


def _goods_words(goods: dict) -> dict[str, set[int]]:
    """Each folded goods word of ``goods_classes.yaml`` -> the Nice classes it names."""
    words: dict[str, set[int]] = {}
    for cls, listed in (goods.get("classes") or {}).items():
        for w in listed:
            words.setdefault(fold(str(w)), set()).add(int(cls))
    return words


def _automaton_of(values: dict) -> ahocorasick.Automaton:
    """One automaton over ``values``' keys; a match gives ``(key length, value)``."""
    automaton = ahocorasick.Automaton()
    for key, value in values.items():
        automaton.add_word(key, (len(key), value))
    automaton.make_automaton()
    return automaton


def _longest(hits: list[TermHit]) -> list[TermHit]:
    """Drop a term found inside a longer one of the same list ("原单" inside "外贸原单")."""
    return [
        h
        for h in hits
        if not any(
            o is not h and o.start <= h.start and h.end <= o.end and (o.end - o.start) > (h.end - h.start)
            for o in hits
        )
    ]


@lru_cache(maxsize=1)
def _default_matcher() -> ContextMatcher:
    return ContextMatcher(
        _load_yaml("counterfeit_terms.yaml"),
        _load_yaml("accessory_terms.yaml"),
        _load_yaml("resale_terms.yaml"),
        _load_yaml("price_terms.yaml"),
        _load_yaml("goods_classes.yaml"),
    )


class GoodsClassifier:
    """Nice classes of the goods a title names (``data/goods_classes.yaml``); empty when none is clear."""

    def __init__(self, classes: dict):
        self._automaton = _automaton_of({key: frozenset(cs) for key, cs in _goods_words(classes).items()})

    @classmethod
    def default(cls) -> GoodsClassifier:
        return _default_goods()

    def classes(self, title: str, *, folded: str | None = None) -> frozenset[int]:
        text = folded if folded is not None else fold(title or "")
        found: set[int] = set()
        for end, (length, cs) in self._automaton.iter(text):
            start = end - length + 1
            if start > 0 and same_class(text[start], text[start - 1]):
                continue
            if end + 1 < len(text) and same_class(text[end], text[end + 1]):
                continue
            found |= cs
        return frozenset(found)


@lru_cache(maxsize=1)
def _default_goods() -> GoodsClassifier:
    return GoodsClassifier(_load_yaml("goods_classes.yaml"))
