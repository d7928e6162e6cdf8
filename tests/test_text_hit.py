"""A mention reads for a reviewer as the seller wrote it, with the form it takes, and keeps its fields."""

from __future__ import annotations

import pytest

from matchers.text_hit import EVASIVE_KINDS, KIND_PRIORITY, WEAK_KINDS, TextHit


def mention(kind: str, text: str, term: str = "LUMORA", is_alias: bool = False, source: str = "") -> TextHit:
    return TextHit("LUMORA-CN-25", term, kind, text, 0, len(text), is_alias, (kind,), "LUMORA", source)


@pytest.mark.parametrize(
    ("hit", "reads"),
    [
        (mention("exact", "Lumora"), "'Lumora'"),
        (mention("alias", "露莫拉", "露莫拉", True), "'露莫拉' (alias of LUMORA)"),
        (mention("digit", "LUM0RA"), "'LUM0RA' (digit-swapped LUMORA)"),
        (mention("fuzzy", "LUMOORA"), "'LUMOORA' (one-letter misspelling of LUMORA)"),
        (mention("pinyin", "lumola", "lumola", True, "露莫拉"), "'lumola' (pinyin of LUMORA alias 露莫拉)"),
        (
            mention("homophone", "路莫拉", "露莫拉", True, "露莫拉"),
            "'路莫拉' (sounds like LUMORA alias 露莫拉)",
        ),
        (mention("split", "LUMO RA"), "'LUMO RA' (split by a space: LUMORA)"),
        (mention("new-kind", "LUMORA"), "'LUMORA' (new-kind LUMORA)"),
    ],
)
def test_a_mention_describes_its_form(hit, reads):
    assert hit.describe() == reads


def test_a_mention_as_data_names_its_source_only_when_it_has_one():
    plain = mention("exact", "LUMORA").as_dict()
    assert plain == {
        "trademark_id": "LUMORA-CN-25",
        "term": "LUMORA",
        "mark": "LUMORA",
        "kind": "exact",
        "text": "LUMORA",
        "start": 0,
        "end": 6,
    }
    assert mention("pinyin", "lumola", "lumola", True, "露莫拉").as_dict()["source"] == "露莫拉"
    assert list(mention("pinyin", "lumola", "lumola", True, "露莫拉").as_dict())[-1] == "source"


def test_weak_and_evasive_kinds_do_not_overlap_and_disguises_outrank_plain_forms():
    assert not WEAK_KINDS & EVASIVE_KINDS
    assert mention("masked", "LUM*RA").evasive and not mention("exact", "LUMORA").evasive
    assert KIND_PRIORITY["masked"] > KIND_PRIORITY["digit"] > KIND_PRIORITY.get("exact", 0)
