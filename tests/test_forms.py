"""Other ways sellers write a mark: pinyin, traditional characters, sound-alikes, misspellings, symbol and space
splits; and the guards that keep the weak ones from deciding alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from matchers.forms import _SEARCHED_AT_MOST, SoundMatcher, ordinary_words, pinyin_forms
from matchers.score import Scorer
from matchers.text import MarkMatcher
from registry import load_registry

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "registry.yaml"


@pytest.fixture(scope="module")
def registry():
    return load_registry(EVAL)


@pytest.fixture(scope="module")
def marks(registry) -> MarkMatcher:
    return MarkMatcher.from_registry(registry)


@pytest.fixture(scope="module")
def scorer(registry) -> Scorer:
    return Scorer(registry)


def kinds(marks, title):
    return {(h.kind, h.text, h.trademark_id) for h in marks.find(title)}


def listing(title, price, platform="taobao", **extra):
    row = {"platform": platform, "title": title, "price_min": price, "price_max": price,
           "currency": "USD" if platform == "alibaba" else "CNY", "moq": None, "seller_name": "某某小店",
           "is_official_store": False, "image_urls": ["https://img.example/main.jpg"]}  # fmt: skip
    row.update(extra)
    return row


def test_pinyin_forms_of_an_alias_are_joined_and_spaced():
    assert pinyin_forms("露莫拉") == ["lumola", "lu mo la"]
    assert pinyin_forms("LUMORA") == []  # not Chinese
    assert pinyin_forms("红") == []  # one syllable is too little to tell from other words


@pytest.mark.parametrize("written", ["lumola", "LUMOLA", "Lu Mo La", "lu-mo-la"])
def test_pinyin_of_a_chinese_alias_is_the_mark(marks, written):
    hits = marks.find(f"{written} 冲锋衣 高仿")
    assert hits and hits[0].trademark_id == "LUMORA-CN-25"
    assert hits[0].kind in ("pinyin", "spaced")
    assert "LUMORA alias 露莫拉" in hits[0].describe()


def test_pinyin_inside_a_longer_word_is_not_the_mark(marks):
    assert not marks.find("xlumolas 冲锋衣", fuzzy=False)


def test_traditional_characters_fold_to_the_simplified_alias(marks):
    hit = marks.find("沃爾塔 充電寶 高仿")[0]
    assert (hit.kind, hit.text, hit.trademark_id) == ("traditional", "沃爾塔", "VOLTA-CN-9")
    assert "traditional characters for VOLTA alias 沃尔塔" in hit.describe()


def test_traditional_counterfeit_wording_is_read_too(scorer):
    result = scorer.score(listing("凱斯特爾 折疊刀 原單", 199))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "KESTREL-CN-8")
    assert result["signals"]["brand"]["kind"] == "traditional"


def test_a_sound_alike_with_one_character_changed_is_found():
    sounds = SoundMatcher(["露莫拉", "红隼"])
    assert [(h.start, h.end, h.changed) for h in sounds.find("新款路莫拉冲锋衣")] == [(2, 5, 1)]
    assert sounds.find("露莫拉") == []  # the alias itself is not a sound-alike
    assert sounds.find("卢魔拉") == []  # two of three changed: another word that sounds alike
    assert sounds.find("红笋") == []  # two characters: too many innocent sound-alikes


@pytest.mark.parametrize("title", ["路莫拉冲锋衣 男", "沃耳塔 充电宝 20000毫安"])
def test_a_sound_alike_alone_never_flags(scorer, title):
    result = scorer.score(listing(title, 1100 if "冲锋衣" in title else 279))
    assert result["verdict"] == "clean"
    negated = scorer.score(listing(title + " 非高仿", 1100 if "冲锋衣" in title else 279))
    assert negated["verdict"] == "clean"


def test_a_sound_alike_not_taken_leaves_a_photo_to_its_own_rule(scorer):
    photo = {"product_id": "trail-jacket", "registered_image": "images/trail_jacket_1.jpg", "distance": 3,
             "confident": True, "listing_image_url": "https://img.example/main.jpg"}  # fmt: skip
    result = scorer.score(listing("路莫拉冲锋衣 替换拉链头 配件", 29), photo)
    assert (result["verdict"], result["reason"]) == ("suspect", "stolen_image")
    assert "a sound-alike alone is not taken as the mark" in result["explanation"]


def test_a_sound_alike_with_copy_wording_or_an_absurd_price_cites_the_mark(scorer):
    worded = scorer.score(listing("路莫拉冲锋衣 高仿", 300))
    cheap = scorer.score(listing("凯斯特耳 折叠刀 户外", 29))
    for result, ipr in ((worded, "LUMORA-CN-25"), (cheap, "KESTREL-CN-8")):
        assert (result["verdict"], result["reason"], result["ipr_id"]) == ("infringing", "counterfeit", ipr)
        assert "sounds like" in result["explanation"]


@pytest.mark.parametrize("written", ["LUMOORA", "LUMURA", "LUMROA", "LUMOA"])
def test_one_letter_misspellings_and_swaps_are_weak_hits(marks, written):
    assert {k for k, _, _ in kinds(marks, f"{written} 冲锋衣")} == {"fuzzy"}


def test_an_ordinary_word_one_letter_off_a_mark_is_no_misspelling(marks, scorer):
    assert not marks.find("5V VOLTS 充电宝 快充")  # VOLTA's one-letter neighbour is an English word
    assert scorer.score(listing("VOLTS power bank AAA battery pack", 1.5, "alibaba"))["verdict"] == "clean"


def test_a_misspelling_beside_the_registered_photo_cites_the_trademark(scorer):
    photo = {"product_id": "trail-jacket", "registered_image": "images/trail_jacket_1.jpg", "distance": 3,
             "confident": True, "listing_image_url": "https://img.example/main.jpg"}  # fmt: skip
    result = scorer.score(listing("LUMOORA trail jacket replica", 30, "alibaba"), photo)
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "LUMORA-CN-25")
    assert "one-letter misspelling of LUMORA" in result["explanation"]


@pytest.mark.parametrize("symbol", ["🔥", "⚡", "✨", "👍🏽", "❤️", "★", "・", "♛"])
def test_every_symbol_and_emoji_is_a_separator_inside_a_mark(marks, scorer, symbol):
    hits = marks.find(f"LUM{symbol}ORA 冲锋衣")
    assert hits and hits[0].kind == "spaced" and hits[0].text == f"LUM{symbol}ORA"
    assert scorer.score(listing(f"LUM{symbol}ORA 冲锋衣", 899))["verdict"] == "infringing"


def test_a_mark_split_once_by_a_space_needs_a_cue(marks, scorer):
    assert {k for k, _, _ in kinds(marks, "LUMO RA 冲锋衣")} == {"split"}
    assert not marks.find("VOLT A 充电宝", fuzzy=False)  # one letter alone is a word of its own
    assert scorer.score(listing("LUMO RA 冲锋衣", 1199))["verdict"] == "suspect"
    worded = scorer.score(listing("KEST REL 折叠刀 原单", 199))
    assert (worded["verdict"], worded["ipr_id"]) == ("infringing", "KESTREL-CN-8")
    assert "split by a space" in worded["explanation"]


def test_marks_that_are_ordinary_words_are_found(registry):
    terms = [t for tm in registry.trademarks for t in tm.terms]
    found = ordinary_words(terms)
    assert found.get("KESTREL") == "en" and found.get("ARDENT") == "en"
    assert "VOLTA" not in found and "LUMORA" not in found  # a proper name and an invented word


@pytest.mark.parametrize("more", [0, _SEARCHED_AT_MOST + 8], ids=["each searched for", "one pass over the lines"])
def test_chinese_aliases_that_are_dictionary_words_are_found_whichever_way_the_dictionary_is_read(more):
    """A few aliases are searched for in jieba's dictionary, many are looked up in one pass: the same answer,
    a place name (北京, tagged ns) excluded and an invented word (露莫拉) not found."""
    invented = [f"露莫{chr(0x4E00 + i)}拉" for i in range(more)]
    found = ordinary_words(["冲锋衣", "手机", "北京", "露莫拉", "LUMORA", *invented])
    assert {term for term, language in found.items() if language == "zh"} == {"冲锋衣", "手机"}


@pytest.mark.parametrize(
    "title", ["American kestrel bird wall art canvas print", "Kestrel falcon resin statue garden ornament",
              "kestrel nest box wooden birdhouse", "Kestrel bird figurine replica hand painted"],
)  # fmt: skip
def test_a_dictionary_word_in_its_ordinary_sense_stays_clean(scorer, title):
    result = scorer.score(listing(title, 5.0, "alibaba"))
    assert result["verdict"] == "clean"
    assert "is an ordinary English word: not taken as the mark KESTREL" in result["explanation"]
    assert result["signals"]["ordinary_word"]


def test_a_dictionary_word_with_product_context_is_the_mark(scorer):
    result = scorer.score(listing("Kestrel folding knife replica 1:1", 8.0, "alibaba"))
    assert (result["verdict"], result["ipr_id"]) == ("infringing", "KESTREL-CN-8")
    # in a Chinese title the English word is no ordinary word
    assert scorer.score(listing("KESTREL 户外 包邮", 399))["verdict"] == "suspect"


def test_cost_of_the_new_forms_does_not_grow_with_the_number_of_aliases():
    few = SoundMatcher(["露莫拉"])
    many = SoundMatcher(
        ["露莫拉", *(chr(0x4E00 + i) + chr(0x4E10 + i) + chr(0x4E20 + i) for i in range(3000))]
    )
    title = "新款路莫拉冲锋衣 男 防水"
    assert [h.start for h in few.find(title)] == [h.start for h in many.find(title) if h.index == 0] == [2]
    assert len(many._automaton) > 2900  # one automaton holds them all (a few sound alike): one pass per title
