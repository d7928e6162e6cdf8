"""The recipe's figures and thresholds are data, read once from the package's thresholds file; a broken file is
a clear error naming the file and the key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import matchers.images as images
from matchers.image_local import LocalThresholds, default_local_thresholds
from matchers.images import (
    RECIPE,
    THRESHOLDS_FILE,
    DataFileError,
    Thresholds,
    dct,
    default_thresholds,
    load_recipe,
    stage2,
)

ROOT = Path(__file__).resolve().parents[1]


def _raw() -> dict:
    return json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))


def _broken(tmp_path: Path, change) -> Path:
    raw = _raw()
    change(raw)
    path = tmp_path / "image_thresholds.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_thresholds_are_data_read_from_the_package():
    th = Thresholds.load()
    assert th == default_thresholds()
    assert 0 < th.strong_phash <= th.match_phash < th.candidate_phash <= 64
    assert 0 < th.stage2_ncc < 1


def test_the_recipe_figures_come_from_the_recipe_section_of_the_thresholds_file():
    recipe = _raw()["recipe"]
    assert THRESHOLDS_FILE == ROOT / "matchers" / "data" / "image_thresholds.json"
    assert load_recipe() == RECIPE
    names = {
        "WORK_SIDE": "work_side", "THUMB_SIDE": "thumb_side", "DEFAULT_MAX_PIXELS": "max_pixels",
        "TRIM_TOLERANCE": "trim_tolerance", "TRIM_MIN_CONTENT": "trim_min_content", "TRIM_SHAVE": "trim_shave",
        "TRIM_UNIFORM_FRAME": "trim_uniform_frame", "TRIM_MIN_KEEP": "trim_min_keep", "TRIM_SOLID": "trim_solid",
        "TRIM_SOLID_SHARE": "trim_solid_share", "BANNER_BAND": "banner_band", "BANNER_EDGE": "banner_edge",
        "BANNER_STEP": "banner_step", "WATERMARK_FILTER": "watermark_filter", "WATERMARK_ASPECT": "watermark_aspect",
    }  # fmt: skip
    for module_name, key in names.items():
        assert getattr(images, module_name) == recipe[key], module_name
    # the second stage's grid, rotations and banner strips, and the batch size of the stacked hashes
    assert tuple(recipe["crop_keeps"]) == stage2._CROP_KEEPS
    assert recipe["crop_step"] == stage2._CROP_STEP
    assert tuple(recipe["rotations"]) == stage2._ROTATIONS
    assert RECIPE.banner_strips == tuple(recipe["banner_strips"])
    assert recipe["stack_side"] == dct._STACK_SIDE


def test_another_recipe_file_gives_other_figures(tmp_path):
    path = _broken(tmp_path, lambda raw: raw["recipe"].update(work_side=200, rotations=[-3, 3]))
    recipe = load_recipe(path)
    assert recipe.work_side == 200 and recipe.rotations == (-3, 3)
    assert Thresholds.load(path) == default_thresholds()  # the recipe section is not a threshold


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["recipe"].pop("work_side"), r"key 'recipe\.work_side' is missing"),
        (lambda raw: raw["recipe"].update(work_side="256"), r"key 'recipe\.work_side' must be an integer, not '256'"),
        (lambda raw: raw["recipe"].update(trim_shave=True), r"key 'recipe\.trim_shave' must be an integer"),
        (lambda raw: raw["recipe"].update(banner_band=None), r"key 'recipe\.banner_band' must be a number, not None"),
        (lambda raw: raw["recipe"].update(rotations=[1, 2, 2.5]), r"key 'recipe\.rotations'\[2\] must be an integer"),
        (lambda raw: raw["recipe"].update(crop_keeps=0.9), r"key 'recipe\.crop_keeps' must be a non-empty list"),
        (lambda raw: raw["recipe"].update(work_sidee=256), r"unknown key 'recipe\.work_sidee'"),
        (lambda raw: raw.pop("recipe"), r"key 'recipe' is missing or not an object"),
    ],
)
def test_a_broken_recipe_is_an_error_naming_the_file_and_the_key(tmp_path, change, message):
    path = _broken(tmp_path, change)
    with pytest.raises(DataFileError, match=message) as caught:
        load_recipe(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.pop("match_sum"), r"key 'match_sum' is missing"),
        (lambda raw: raw.update(stage2_ncc="high"), r"key 'stage2_ncc' must be a number, not 'high'"),
        (lambda raw: raw.update(match_phash=14.5), r"key 'match_phash' must be an integer, not 14\.5"),
        (lambda raw: raw.update(strong_phsh=8), r"unknown key 'strong_phsh'"),
    ],
)
def test_a_broken_threshold_is_an_error_naming_the_file_and_the_key(tmp_path, change, message):
    path = _broken(tmp_path, change)
    with pytest.raises(DataFileError, match=message) as caught:
        Thresholds.load(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_thresholds_file_that_is_not_json_or_missing_is_named(tmp_path):
    bad = tmp_path / "image_thresholds.json"
    bad.write_text('{"strong_phash": 8,', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"image_thresholds\.json: not valid JSON"):
        load_recipe(bad)
    with pytest.raises(DataFileError, match=r"absent\.json: cannot read"):
        Thresholds.load(tmp_path / "absent.json")


def test_the_local_stage_thresholds_are_checked_the_same_way(tmp_path):
    assert LocalThresholds.load() == default_local_thresholds()
    raw = json.loads((ROOT / "matchers" / "data" / "image_local_thresholds.json").read_text(encoding="utf-8"))
    raw["min_inliers"] = "six"
    path = tmp_path / "image_local_thresholds.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"image_local_thresholds\.json: key 'min_inliers' must be an integer"):
        LocalThresholds.load(path)


def test_importing_the_matcher_with_a_broken_recipe_fails_naming_the_file_and_key(tmp_path):
    # the installed layout, copied, with one figure of the recipe removed: the import itself says what is wrong
    for package in ("matchers", "contract"):
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    data = tmp_path / "matchers" / "data" / "image_thresholds.json"
    raw = json.loads(data.read_text(encoding="utf-8"))
    del raw["recipe"]["thumb_side"]
    data.write_text(json.dumps(raw), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-c", "from matchers.images import hash_image_bytes"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1
    assert f"DataFileError: {data.resolve()}: key 'recipe.thumb_side' is missing" in run.stderr
