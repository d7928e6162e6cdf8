"""The hashes of one image: 64-bit hex pHash and dHash compatible with imagehash, serialisable, and computed
without errors for slivers and specks."""

from __future__ import annotations

import io
import json

import imagehash
import numpy as np
import pytest
from PIL import Image

from bench.image_corpus import Corpus, encode_jpeg
from matchers.images import ImageHashes, ListingImage, hamming, hash_image_bytes
from tests.image_support import encode, index_of, photo, shared_corpus


def test_a_plain_jpeg_hashes_to_two_64_bit_hex_strings():
    h = hash_image_bytes(encode(photo(), "JPEG"), source="main.jpg")
    assert len(h.phash) == 16 and len(h.dhash) == 16
    int(h.phash, 16), int(h.dhash, 16)
    assert h.width == 320 and h.height == 240


def test_phash_is_imagehash_compatible_on_an_untrimmed_photo():
    arr = shared_corpus().references[0][1]
    ours = hash_image_bytes(encode_jpeg(arr, 95))
    theirs = imagehash.phash(Image.fromarray(arr))
    assert not ours.trimmed
    assert hamming(ours.phash, str(theirs)) <= 6


def test_hashes_round_trip_through_as_dict():
    h = hash_image_bytes(encode_jpeg(shared_corpus().references[3][1]))
    assert ImageHashes.from_dict(h.as_dict()) == h


def test_hashes_serialise_as_hex_strings():
    h = hash_image_bytes(encode_jpeg(shared_corpus().references[0][1]))
    d = h.as_dict()
    assert json.loads(json.dumps(d)) == d
    assert all(len(x) == 16 and int(x, 16) >= 0 for x in (d["phash"], d["dhash"]))
    assert ImageHashes.from_dict(d) == h


@pytest.mark.parametrize("size", [(1, 1), (1, 1500), (3, 700), (700, 2), (9, 9), (40, 17)])
@pytest.mark.parametrize("fill", ["noise", "flat", "dot on white"])
def test_extreme_sizes_hash_and_match_without_errors(tmp_path, size, fill):
    # slivers and specks reach every stage: trims of empty sides, banner cuts, the filtered views

    corpus = Corpus(shared_corpus().references[:6], [])
    index = index_of(corpus, tmp_path)
    h, w = size
    rng = np.random.default_rng(h * 1000 + w)
    if fill == "noise":
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    elif fill == "flat":
        arr = np.full((h, w, 3), 90, np.uint8)
    else:
        arr = np.full((h, w, 3), 255, np.uint8)
        arr[h // 2, w // 2] = 0
    for fmt in ("PNG", "JPEG"):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, fmt)
        hashes = hash_image_bytes(buf.getvalue(), source=f"sliver.{fmt.lower()}")
        hits = index.match_all([ListingImage("u", None, hashes)])
        assert all(not hit.confident for hit in hits), hits
