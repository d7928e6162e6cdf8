"""Other ways a mark gets written: pinyin of a Chinese alias, traditional characters, sound-alike characters, and
whether a mark is also an ordinary word.

All of it comes from kept libraries, read once per process:

* **pinyin** (``pypinyin``): the alias 露莫拉 is also written ``lumola`` or ``lu mo la``;
* **traditional → simplified** (the OpenCC character table shipped by ``opencc-python-reimplemented``): 沃爾塔 is
  沃尔塔. Only the one-character table is used, so folding stays one character for one (offsets map back);
* **sound** (``pypinyin``'s character readings, tones dropped): 露莫拉 written 路莫拉 sounds the same. A
  sound-alike is a weak hint (many words share sounds), so the scorer counts it only beside another cue;
* **ordinary words** (``english-words``' Webster's list for English, where proper names are capitalised, and
  ``jieba``'s dictionary for Chinese, names and places excluded): KESTREL is a bird before it is a mark.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick

from contract.sellers import traditional_to_simplified  # noqa: F401  (matching reads it as forms.*)

PINYIN, TRADITIONAL, HOMOPHONE = "pinyin", "traditional", "homophone"
_CJK_RUN = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]+")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")
MIN_PINYIN_LETTERS = 5  # "suolan" yes; a two-letter "ai" would be found inside every English word
MIN_HOMOPHONE_CHARS = 3  # a two-character alias has too many innocent sound-alikes (红隼 / 红笋)
# jieba part-of-speech tags of names, places and organisations: not ordinary words
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})


def _is_cjk(ch: str) -> bool:
    return bool(_CJK_RUN.fullmatch(ch))


@lru_cache(maxsize=1)
def _lazy_pinyin():
    from pypinyin import lazy_pinyin

    return lazy_pinyin


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin of each character of a Chinese alias, read as a phrase (露莫拉 -> lu mo la)."""
    out = []
    for syllable in _lazy_pinyin()(text, style=0, errors="ignore"):  # style 0: pypinyin's Style.NORMAL
        plain = "".join(c for c in unicodedata.normalize("NFKD", syllable) if not unicodedata.combining(c))
        out.append(plain.replace("ü", "v").lower())
    return out


def pinyin_forms(alias: str) -> list[str]:
    """The pinyin spellings of a Chinese alias a seller writes: joined (``lumola``) and spaced (``lu mo la``).
    Empty when the alias is not all Chinese or its pinyin is too short to tell from other words."""
    if not alias or not all(_is_cjk(c) for c in alias) or len(alias) < 2:
        return []
    syllables = pinyin_syllables(alias)
    if len(syllables) != len(alias) or len("".join(syllables)) < MIN_PINYIN_LETTERS:
        return []
    return list(dict.fromkeys(["".join(syllables), " ".join(syllables)]))


@lru_cache(maxsize=1)
def _char_sounds() -> dict[str, str]:
    """Every character's first toneless reading (pypinyin's table): 露 -> lu, 路 -> lu."""
    from pypinyin.pinyin_dict import pinyin_dict

    sounds = {}
    for cp, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        plain = "".join(c for c in unicodedata.normalize("NFKD", first) if not unicodedata.combining(c))
        sounds[chr(cp)] = plain.replace("ü", "v").lower()
    return sounds


@lru_cache(maxsize=1)
def _sound_table() -> dict[int, str]:
    """``str.translate`` table, one character for one: each character to a private-use character standing for
    its reading, so 露 and 路 (both "lu") become the same character and offsets do not move."""
    syllables: dict[str, str] = {}
    table = {}
    for c, reading in _char_sounds().items():
        # private-use characters of the basic plane (about 1,500 readings fit): the output stays compact
        code = syllables.setdefault(reading, chr(0xE000 + len(syllables)))
        table[ord(c)] = code
    for cp in range(0x80):  # Latin letters and digits stay themselves (no failed lookup per character)
        table.setdefault(cp, chr(cp))
    return table


@dataclass(frozen=True)
class SoundHit:
    index: int  # which alias (position in the list given to SoundMatcher)
    start: int  # offsets into the text searched
    end: int
    changed: int  # characters written differently from the alias


class SoundMatcher:
    """Chinese runs that sound like an alias but are written with other characters: the title is read as sounds
    (one ``translate``) and searched in one automaton pass, so the cost does not grow with the number of
    aliases."""

    def __init__(self, aliases: Iterable[str]):
        self.aliases = list(aliases)
        table = _sound_table()
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, list[int]] = {}
        for i, alias in enumerate(self.aliases):
            if len(alias) < MIN_HOMOPHONE_CHARS or not all(ord(c) in table for c in alias):
                continue
            keys.setdefault(alias.translate(table), []).append(i)
        for key, idxs in keys.items():
            self._automaton.add_word(key, (len(key), tuple(idxs)))
        self._empty = not keys
        if keys:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[SoundHit]:
        """Sound-alikes of an alias in ``text`` (already folded: simplified characters)."""
        if self._empty or text.isascii():
            return []
        hits = []
        for end, (n_chars, idxs) in self._automaton.iter(text.translate(_sound_table())):
            start = end - n_chars + 1
            written = text[start : end + 1]
            for i in idxs:
                changed = sum(1 for a, b in zip(written, self.aliases[i], strict=True) if a != b)
                # none changed: the alias itself; most changed: another word that happens to sound alike
                if 0 < changed <= max(1, (n_chars - 1) // 2):
                    hits.append(SoundHit(i, start, end + 1, changed))
        return hits


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Ordinary English words: Webster's list, where proper names (Volta, Nova) are capitalised."""
    from english_words import get_english_words_set

    return frozenset(w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower())


_SEARCHED_AT_MOST = 16  # more candidates than this: one pass over the dictionary's lines beats a search for each


@lru_cache(maxsize=64)
def _chinese_words(candidates: frozenset[str]) -> frozenset[str]:
    """Which of ``candidates`` are ordinary Chinese words in jieba's dictionary (names and places excluded).

    A registry has a few Chinese aliases and the dictionary 349,000 lines: each alias is searched for in the
    file's bytes (about 3 ms) rather than every line split (about 70 ms, paid by every scoring process).
    """
    if not candidates:
        return frozenset()
    # the dictionary file only: importing jieba itself costs a second and a tokenizer we do not use
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    data = b"\n" + (Path(next(iter(spec.submodule_search_locations))) / "dict.txt").read_bytes()
    if len(candidates) > _SEARCHED_AT_MOST:
        tags = _dictionary_tags(data, candidates)
    else:
        tags = ((word, tag) for word in candidates for tag in _tags_of(data, word))
    return frozenset(word for word, tag in tags if tag is not None and tag not in _NAME_TAGS)


def _tags_of(data: bytes, word: str) -> Iterable[str | None]:
    """The part-of-speech tag of each line of the dictionary ``data`` ("word frequency tag") for ``word``."""
    needle = b"\n" + word.encode("utf-8") + b" "
    at = data.find(needle)
    while at != -1:
        end = data.find(b"\n", at + 1)
        fields = data[at + len(needle): end if end != -1 else len(data)].decode("utf-8", "replace").split()
        yield fields[-1] if fields else None
        at = data.find(needle, at + 1)


def _dictionary_tags(data: bytes, candidates: frozenset[str]) -> Iterable[tuple[str, str | None]]:
    """(word, tag) for each line of the dictionary ``data`` whose word is one of ``candidates``."""
    encoded = {word.encode("utf-8"): word for word in candidates}
    for line in data.split(b"\n"):
        word, _, rest = line.partition(b" ")
        if word in encoded:
            fields = rest.decode("utf-8", "replace").split()
            yield encoded[word], fields[-1] if fields else None


def is_english_word(token: str) -> bool:
    """An ordinary English word, plurals included (Webster's list has few inflections): "volts", "cables"."""
    words = _english_words()
    token = token.lower()
    return token in words or (token.endswith("s") and (token[:-1] in words or token[:-2] in words))


def ordinary_words(terms: Iterable[str]) -> dict[str, str]:
    """The terms that are also ordinary words, each with its language ("en" or "zh")."""
    terms = list(terms)
    english = _english_words()
    out = {t: "en" for t in terms if t.isascii() and t.isalpha() and t.lower() in english}
    chinese = frozenset(t for t in terms if t and all(_is_cjk(c) for c in t))
    out.update(dict.fromkeys(_chinese_words(chinese), "zh"))
    return out


def title_language(text: str) -> str:
    """``zh`` when the title has Chinese words (two characters or more), else ``en``: a Latin word in a
    Chinese title is a name or a loanword, not the English word."""
    return "zh" if len(_CJK_CHAR.findall(text)) >= 2 else "en"
