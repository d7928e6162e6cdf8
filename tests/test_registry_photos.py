"""The photos, logos and certificates a registry names (``registry.photos``): inside its folder, decodable
within the pixel cap of listing images, and never a byte of a refused file in a message (RELIABILITY.md,
"Registry inputs")."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from tests.registry_inputs import SECRET, load_errors, registry_at
from tests.test_reliability_images import _bomb_png


def test_a_photo_outside_the_registry_folder_is_refused_without_reading_it(tmp_path):
    errors = load_errors(registry_at(tmp_path, image="../secret.png"))
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_system_file_reached_through_dot_dots_is_refused(tmp_path):
    errors = load_errors(registry_at(tmp_path, image="../" * 30 + "etc/passwd"))
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: /etc/passwd"]
    assert "root:" not in "".join(errors)


def test_an_absolute_path_outside_the_folder_is_refused(tmp_path):
    errors = load_errors(registry_at(tmp_path, logo=str(tmp_path / "secret.png")))
    assert errors == [f"trademarks[0].logo: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_symlink_inside_the_folder_that_points_outside_is_refused(tmp_path):
    path = registry_at(tmp_path, image="images/link.png")
    os.symlink(tmp_path / "secret.png", tmp_path / "registry" / "images" / "link.png")
    errors = load_errors(path)
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_photo_that_is_not_an_image_is_refused_without_echoing_its_bytes(tmp_path):
    path = registry_at(tmp_path, image="images/notes.png")
    (tmp_path / "registry" / "images" / "notes.png").write_text(SECRET, encoding="utf-8")
    assert load_errors(path) == ["products[0].images[0]: not an image (Pillow does not recognise its format): "
                             f"{tmp_path / 'registry' / 'images' / 'notes.png'}"]


@pytest.mark.parametrize("damage", ["truncated", "empty", "bomb", "folder"])
def test_a_truncated_empty_oversized_or_folder_photo_is_refused(tmp_path, damage):
    path = registry_at(tmp_path, image="images/bad.png")
    bad = tmp_path / "registry" / "images" / "bad.png"
    if damage == "truncated":
        big = io.BytesIO()
        Image.effect_noise((400, 400), 60).convert("RGB").save(big, "PNG")
        bad.write_bytes(big.getvalue()[: len(big.getvalue()) // 2])
        expected = "corrupt or truncated image"
    elif damage == "empty":
        bad.write_bytes(b"")
        expected = "empty file (0 bytes)"
    elif damage == "bomb":
        bad.write_bytes(_bomb_png())
        expected = "over the 40,000,000-pixel cap"
    else:
        bad.mkdir()
        expected = "not a regular file"
    errors = load_errors(path)
    assert len(errors) == 1 and errors[0].startswith(f"products[0].images[0]: {expected}"), errors


def test_registry_photos_are_held_to_the_pixel_cap_of_listing_images():
    from matchers.images import DEFAULT_MAX_PIXELS
    from registry import photos as registry_photos

    assert registry_photos.MAX_PIXELS == DEFAULT_MAX_PIXELS


def test_a_missing_photo_is_still_refused(tmp_path):
    errors = load_errors(registry_at(tmp_path, image="images/gone.png"))
    assert errors == [f"products[0].images[0]: file not found: {tmp_path / 'registry' / 'images' / 'gone.png'}"]
