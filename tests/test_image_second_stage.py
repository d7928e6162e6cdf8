"""The second stage: run only where the first stage cannot decide; tiled watermarks are caught by the filtered
comparison, and the filtered views of unrelated pictures stay apart."""

from __future__ import annotations

import numpy as np

from bench.image_corpus import Corpus, encode_jpeg, t_watermark
from matchers.images import (
    ListingImage,
    RegistryImageIndex,
    default_thresholds,
    hamming,
    hash_image_bytes,
    int64,
    unmarked_views,
)
from tests.image_support import index_of, shared_corpus


def test_second_stage_is_skipped_for_a_reference_the_first_stage_decided(tmp_path):
    # the window search fills the index's crop-grid cache for every reference it compares; a reference
    # the first stage already matched is never compared again (nor is one without a thumbnail)
    corpus = shared_corpus()
    index = index_of(Corpus(corpus.references[:6], []), tmp_path)
    pid, arr = corpus.references[0]
    h = hash_image_bytes(encode_jpeg(arr))
    hit = index.match([ListingImage("u", None, h)])
    assert hit is not None and hit.product_id == pid and hit.stage == "phash"
    decided = next(e.thumb_key for e in index._entries if e.product_id == pid and not e.mirrored)
    assert (decided, False) not in index._crop_grids
    thumbless = RegistryImageIndex.from_hashes([(pid, "images/a.jpg", int64(h.phash), int64(h.dhash))])
    assert thumbless.match([ListingImage("u", None, h)]).product_id == pid
    assert thumbless._crop_grids == {}


def test_tiled_watermark_over_a_dark_photo_is_caught_by_the_filtered_comparison(tmp_path):
    # white or grey text tiled over a star field: the plain hashes of the two are far apart, but with
    # the strokes filtered away (grey erosion/dilation on both sides) the pictures agree
    corpus = shared_corpus()
    pid, arr = next((p, a) for p, a in corpus.references if p == "hubble-photo0")
    index = index_of(corpus, tmp_path)
    caught = 0
    for seed in range(4):
        copy = hash_image_bytes(encode_jpeg(t_watermark(arr, np.random.default_rng(seed), corpus), 90))
        plain = hash_image_bytes(encode_jpeg(arr))
        assert hamming(copy.phash, plain.phash) > default_thresholds().strong_phash
        hits = [h for h in index.match_all([ListingImage("u", None, copy)]) if h.confident]
        assert hits and hits[0].product_id == pid, hits
        caught += hits[0].stage == "filtered"
    assert caught >= 3


def test_filtered_views_of_unrelated_pictures_stay_apart():

    th = default_thresholds()
    corpus = shared_corpus()
    views = [unmarked_views(hash_image_bytes(encode_jpeg(a)).thumb) for _, a in corpus.distractors[::2]]
    refs = [unmarked_views(hash_image_bytes(encode_jpeg(a)).thumb) for _, a in corpus.references]
    for lv in views:
        for rv in refs:
            for lu, ru in zip(lv, rv, strict=True):
                if lu is None or ru is None:
                    continue
                dp = (lu.phash ^ ru.phash).bit_count()
                total = dp + (lu.dhash ^ ru.dhash).bit_count()
                assert not (dp <= th.watermark_phash and total <= th.watermark_sum), (dp, total)
