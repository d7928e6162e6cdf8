"""The labelled evaluation set meets the precision-first targets (IPP drops filers below 90% success)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.evaluate import evaluate, main

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval"


@pytest.fixture(scope="module")
def result():
    return evaluate(EVAL)


def test_eval_set_is_big_enough_and_covers_every_category(result):
    assert result.listings >= 250
    assert {
        "counterfeit_words",
        "obfuscation_homoglyph",
        "obfuscation_spaced",
        "obfuscation_digit",
        "obfuscation_fullwidth",
        "obfuscation_masked",
        "obfuscation_zero_width",
        "alias_only",
        "english_export",
        "photo_only",
        "authorized",
        "accessory",
        "resale",
        "embedded_or_near",
        "unrelated",
        "not_citeable",
        "form_pinyin",
        "form_traditional",
        "form_homophone",
        "form_misspelling",
        "form_symbol_split",
        "form_space_split",
        "form_weak_alone",
        "imposter_store",
        "store_claim_clean",
        "ordinary_word",
        "ordinary_word_mark",
        "image_text",
    } <= set(result.per_category)


def test_every_infringing_class_has_recall_of_at_least_80_percent(result):
    for category, counts in result.per_category.items():
        if counts.tp + counts.fn:
            assert counts.recall >= 0.80, category


def test_clean_listings_sent_to_review_are_at_most_3_percent(result):
    assert result.clean_total >= 80
    assert result.review_share <= 0.03


def test_weak_forms_alone_and_ordinary_words_are_never_flagged(result):
    for category in ("form_weak_alone", "ordinary_word", "store_claim_clean", "image_text_no_cue"):
        assert result.per_category[category].fp == 0, category


def test_precision_of_infringing_is_at_least_97_percent(result):
    assert result.overall.precision >= 0.97


def test_recall_of_infringing_is_at_least_90_percent(result):
    assert result.overall.recall >= 0.90


def test_no_authorized_seller_listing_is_flagged(result):
    assert result.authorized_total > 0
    assert result.authorized_flagged == 0


def test_the_cited_ipr_is_right_on_at_least_95_percent_of_true_positives(result):
    assert result.ipr_accuracy >= 0.95


def test_nothing_that_cannot_be_cited_is_flagged(result):
    for category in ("not_citeable", "accessory", "resale", "embedded_or_near", "unrelated", "brand_no_cue"):
        assert result.per_category[category].fp == 0, category


def test_make_eval_prints_the_figures(capsys):
    assert main([str(EVAL)]) == 0
    out = capsys.readouterr().out
    for text in (
        "precision",
        "recall",
        "F1",
        "ipr_id right",
        "authorized-seller",
        "confusion",
        "per category",
        "clean listings sent to review",
    ):
        assert text in out
