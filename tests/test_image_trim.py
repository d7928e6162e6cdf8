"""Trimming: padding on white or colour is cut away before hashing, different products on white stay apart,
and a flat picture is not trimmed to nothing."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from PIL import Image

from bench.image_corpus import encode_jpeg, product_on_white, t_pad_white
from matchers.images import default_thresholds, hamming, hash_image_bytes, trim_box
from tests.image_support import encode, shared_corpus


def test_padding_on_white_is_trimmed_away_before_hashing():
    corpus = shared_corpus()
    for _, arr in corpus.references[:6]:
        plain = hash_image_bytes(encode_jpeg(arr))
        padded = hash_image_bytes(encode_jpeg(t_pad_white(arr, np.random.default_rng(1), corpus)))
        assert padded.trimmed
        assert hamming(plain.phash, padded.phash) <= default_thresholds().strong_phash


def test_different_products_on_white_stay_far_apart_after_trimming():
    rng = np.random.default_rng(99)
    corpus = shared_corpus()
    shots = [product_on_white(arr, rng) for _, arr in corpus.distractors[::2]]
    hashes = [hash_image_bytes(encode_jpeg(s)) for s in shots]
    closest = min(hamming(a.phash, b.phash) + hamming(a.dhash, b.dhash) for a, b in combinations(hashes, 2))
    th = default_thresholds()
    assert closest > th.match_sum


def test_a_flat_single_colour_image_hashes_without_trimming_to_nothing():
    h = hash_image_bytes(encode(Image.new("RGB", (200, 200), (255, 255, 255)), "PNG"), source="white.png")
    assert h.trimmed is False


def test_nested_trimming_never_cuts_a_picture_to_nothing():
    # a dark bar on white with a thin stripe across it: the second pass finds only the stripe, two rows that
    # the halo shave would remove entirely; hashing such a picture raised ZeroDivisionError, not ImageError
    arr = np.full((100, 400, 3), 255, np.uint8)
    arr[40:60, 50:350] = (40, 40, 40)
    arr[49:51, 50:350] = (200, 30, 30)
    t, b, lft, r = trim_box(arr)
    assert b > t and r > lft
    assert (t, b, lft, r) == (41, 59, 51, 349)  # the bar, its halo shaved: the first pass only
    hashes = hash_image_bytes(encode(Image.fromarray(arr), "PNG"), source="bar.png")
    assert hashes.trimmed and hashes.thumb.size > 0
