"""The local-feature stage: a registered photo found as one part of a listing's picture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench import disguises
from bench.evaluate_images import build_index
from bench.image_corpus import build_corpus, encode_jpeg, t_resize_jpeg
from matchers.image_local import _INDEXES, STAGE, describe_location
from matchers.images import ListingImage, hash_image_bytes

REFS = ("astronaut-photo0", "coffee-white0", "chelsea-photo0", "china-white1", "rocket-photo0", "camera-white0")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    corpus = build_corpus(seed=7, scene_shots=2)
    corpus.references = [r for r in corpus.references if r[0] in REFS]
    corpus.scenes = corpus.scenes[:3]  # registered scenes; their shots are queried as unrelated pictures
    corpus.scene_shots = [s for s in corpus.scene_shots if s[0] in dict(corpus.scenes)]
    index = build_index(corpus, tmp_path_factory.mktemp("refs"))
    return corpus, index


def query(index, picture: np.ndarray):
    data = encode_jpeg(picture, 90)
    hashes = hash_image_bytes(data, source="q")
    return [h for h in index.match_all([ListingImage("q", None, hashes, data)]) if h.confident]


@pytest.mark.parametrize("disguise", list(disguises.HARD_TRANSFORMS))
def test_each_harder_disguise_is_recognised_as_the_right_product(setup, disguise):
    corpus, index = setup
    fn = disguises.HARD_TRANSFORMS[disguise]
    rng = np.random.default_rng(5)
    right = wrong = 0
    for pid, arr in corpus.references:
        if pid not in REFS:
            continue
        hits = query(index, fn(arr, rng, corpus))
        right += bool(hits) and hits[0].product_id == pid
        wrong += any(h.product_id != pid for h in hits)
    assert right >= 4, f"{disguise}: {right} of {len(REFS)} recognised"  # recall itself: make eval-images
    assert wrong == 0


def test_the_local_stage_says_where_the_photo_sits(setup):
    from PIL import Image

    corpus, index = setup
    photo = Image.fromarray(dict(corpus.references)["astronaut-photo0"])
    photo.thumbnail((300, 300))
    canvas = Image.fromarray(corpus.distractors[0][1]).resize((900, 900))
    canvas.paste(photo, (0, 0))  # the top-left cell of a 3x3 layout, the rest another picture
    hits = query(index, np.asarray(canvas))
    assert hits and hits[0].product_id == "astronaut-photo0"
    assert hits[0].stage.startswith(f"{STAGE}: photo at top left, ")


def test_same_scene_shots_and_unrelated_grids_are_not_matched(setup):
    corpus, index = setup
    rng = np.random.default_rng(9)
    assert len(corpus.scene_shots) == 6
    for _, shot in corpus.scene_shots:  # another region of the scene a registered photo was cut from
        for picture in (shot, disguises.t_frame(shot, rng, corpus), disguises.t_grid_3x3(shot, rng, corpus)):
            assert query(index, picture) == []
    for _, arr in corpus.fillers[:12]:
        assert query(index, disguises.t_grid_3x3(arr, rng, corpus)) == []


def test_the_local_stage_runs_only_when_the_hash_stages_found_nothing(setup):
    corpus, index = setup
    arr = dict(corpus.references)["chelsea-photo0"]
    local = _INDEXES.get(index)
    before = local.calls if local else 0
    hits = query(index, t_resize_jpeg(arr, np.random.default_rng(3), corpus))
    assert hits[0].product_id == "chelsea-photo0" and not hits[0].stage.startswith(STAGE)
    local = _INDEXES.get(index)
    assert (local.calls if local else 0) == before


def test_opencv_keeps_to_one_thread():
    assert cv2.getNumThreads() == 1


@pytest.mark.parametrize(
    ("quad", "expected"),
    [
        (((0.0, 0.0), (0.33, 0.0), (0.33, 0.33), (0.0, 0.33)), "top left, 33 % of the picture's width"),
        (((0.34, 0.34), (0.66, 0.34), (0.66, 0.66), (0.34, 0.66)), "centre, 32 % of the picture's width"),
        (((0.05, 0.1), (0.95, 0.1), (0.95, 0.55), (0.05, 0.55)), "top centre, 90 % of the picture's width"),
        (((0.7, 0.7), (1.2, 0.7), (1.2, 1.1), (0.7, 1.1)), "bottom right, 30 % of the picture's width"),
    ],
)
def test_location_in_words(quad, expected):
    assert describe_location(quad) == expected
