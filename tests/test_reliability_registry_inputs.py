"""Registry inputs that used to load wrongly or crash: impossible dates, duplicate keys, product photos that are
missing, not images or outside the registry's folder. Each is refused when the registry is loaded, with the key
path (and line), never a traceback and never any byte of the file named; every command exits 2
(RELIABILITY.md, "Registry inputs")."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from registry import RegistryError, load_registry
from tests.conftest import SCRAPY, scrapy_env
from tests.test_reliability_images import _bomb_png
from tests.test_reliability_registry import _command

SECRET = "root-secret-0xC0FFEE"  # bytes of a file that must never reach a message or a log

REGISTRY = """\
rights_holder: {{name: Lumora Outdoor, contact_email: ip@lumora.example}}
trademarks:
  - id: LUMORA-CN-25
    mark: LUMORA
    registration_number: "40123456"
    office: CNIPA
    classes: [25]
    valid_from: 2020-03-14
    valid_until: {valid_until}
    logo: {logo}
products:
  - id: trail-jacket
    name: Lumora Trail Jacket
    trademarks: [LUMORA-CN-25]
    images: [{image}]
"""


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def _folder(tmp_path: Path) -> Path:
    """A registry folder with one good photo, and a secret file beside (outside) the folder."""
    folder = tmp_path / "registry"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "jacket.png").write_bytes(_png())
    (folder / "images" / "logo.png").write_bytes(_png())
    (tmp_path / "secret.png").write_text(SECRET + "\n", encoding="utf-8")
    return folder


def _registry(tmp_path: Path, *, image: str = "images/jacket.png", logo: str = "images/logo.png",
              valid_until: str = "2099-03-13", text: str | None = None) -> Path:
    folder = _folder(tmp_path)
    path = folder / "registry.yaml"
    path.write_text(text or REGISTRY.format(image=image, logo=logo, valid_until=valid_until), encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert SECRET not in str(info.value)
    return info.value.errors


def test_the_good_registry_of_these_tests_loads(tmp_path):
    registry = load_registry(_registry(tmp_path))
    assert registry.product("trail-jacket").images[0].name == "jacket.png"


# --- dates ------------------------------------------------------------------------------------------------


def test_an_impossible_unquoted_date_is_an_error_with_its_key_path_and_line(tmp_path):
    assert _errors(_registry(tmp_path, valid_until="2031-13-45")) == [
        "trademarks[0].valid_until: not a date: 2031-13-45 (line 9)"
    ]


def test_an_impossible_unquoted_timestamp_is_an_error_too(tmp_path):
    errors = _errors(_registry(tmp_path, valid_until="2031-02-30 10:00:00"))
    assert errors == ["trademarks[0].valid_until: not a date: 2031-02-30 10:00:00 (line 9)"]


# --- duplicate keys ---------------------------------------------------------------------------------------


def test_a_second_top_level_key_is_refused_with_both_line_numbers(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text += "products:\n  - {id: other, name: Other}\n"
    assert _errors(_registry(tmp_path, text=text)) == [
        "products: duplicate key (lines 11 and 16); YAML would keep only the last"
    ]


def test_a_second_mark_inside_a_trademark_is_refused_with_its_key_path(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("    mark: LUMORA\n", "    mark: LUMORA\n    mark: LUMORRA\n")
    assert _errors(_registry(tmp_path, text=text)) == [
        "trademarks[0].mark: duplicate key (lines 4 and 5); YAML would keep only the last"
    ]


def test_duplicate_keys_in_flow_mappings_and_deep_lists_are_refused(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("rights_holder: {name: Lumora", "rights_holder: {name: X, name: Lumora")
    errors = _errors(_registry(tmp_path, text=text))
    assert errors == ["rights_holder.name: duplicate key (lines 1 and 1); YAML would keep only the last"]


def test_a_merge_key_is_not_a_duplicate(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("rights_holder: {name: Lumora Outdoor, contact_email: ip@lumora.example}",
                        "base: &holder {name: Lumora, contact_email: ip@lumora.example}\n"
                        "rights_holder: {<<: *holder, name: Lumora Outdoor}")
    errors = _errors(_registry(tmp_path, text=text))
    assert errors == ["base: unknown key"]  # the anchor's holder key; no duplicate reported for the merge


# --- product photos and logos -----------------------------------------------------------------------------


def test_a_photo_outside_the_registry_folder_is_refused_without_reading_it(tmp_path):
    errors = _errors(_registry(tmp_path, image="../secret.png"))
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_system_file_reached_through_dot_dots_is_refused(tmp_path):
    errors = _errors(_registry(tmp_path, image="../" * 30 + "etc/passwd"))
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: /etc/passwd"]
    assert "root:" not in "".join(errors)


def test_an_absolute_path_outside_the_folder_is_refused(tmp_path):
    errors = _errors(_registry(tmp_path, logo=str(tmp_path / "secret.png")))
    assert errors == [f"trademarks[0].logo: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_symlink_inside_the_folder_that_points_outside_is_refused(tmp_path):
    path = _registry(tmp_path, image="images/link.png")
    os.symlink(tmp_path / "secret.png", tmp_path / "registry" / "images" / "link.png")
    errors = _errors(path)
    assert errors == [f"products[0].images[0]: outside the registry's folder {tmp_path / 'registry'}: "
                      f"{tmp_path / 'secret.png'}"]


def test_a_photo_that_is_not_an_image_is_refused_without_echoing_its_bytes(tmp_path):
    path = _registry(tmp_path, image="images/notes.png")
    (tmp_path / "registry" / "images" / "notes.png").write_text(SECRET, encoding="utf-8")
    assert _errors(path) == ["products[0].images[0]: not an image (Pillow does not recognise its format): "
                             f"{tmp_path / 'registry' / 'images' / 'notes.png'}"]


@pytest.mark.parametrize("damage", ["truncated", "empty", "bomb", "folder"])
def test_a_truncated_empty_oversized_or_folder_photo_is_refused(tmp_path, damage):
    path = _registry(tmp_path, image="images/bad.png")
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
    errors = _errors(path)
    assert len(errors) == 1 and errors[0].startswith(f"products[0].images[0]: {expected}"), errors


def test_registry_photos_are_held_to_the_pixel_cap_of_listing_images():
    from matchers.images import DEFAULT_MAX_PIXELS
    from registry import photos as registry_photos

    assert registry_photos.MAX_PIXELS == DEFAULT_MAX_PIXELS


def test_a_missing_photo_is_still_refused(tmp_path):
    errors = _errors(_registry(tmp_path, image="images/gone.png"))
    assert errors == [f"products[0].images[0]: file not found: {tmp_path / 'registry' / 'images' / 'gone.png'}"]


# --- every command ----------------------------------------------------------------------------------------

CASES = {
    "impossible-date": ({"valid_until": "2031-13-45"}, "trademarks[0].valid_until: not a date: 2031-13-45"),
    "duplicate-key": ({"text": "duplicate"}, "products: duplicate key (lines 11 and 16)"),
    "photo-outside": ({"image": "../" * 30 + "etc/passwd"}, "products[0].images[0]: outside the registry's folder"),
    "photo-not-an-image": ({"image": "notes.png"}, "products[0].images[0]: not an image"),
}


@pytest.mark.parametrize("kind", ["crawl", "monitor", "match", "complaints"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_command_refuses_the_registry_with_exit_code_2_and_the_key_path(tmp_path, kind, case):
    options, message = CASES[case]
    if options.get("text") == "duplicate":
        text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
        options = {"text": text + "products:\n  - {id: other, name: Other}\n"}
    registry = _registry(tmp_path, **options)
    (registry.parent / "notes.png").write_text(SECRET, encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    run = subprocess.run([SCRAPY, *_command(kind, registry, workdir)], cwd=workdir, env=scrapy_env(),
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-3000:]
    assert message in output and str(registry) in output
    assert "Traceback" not in output and SECRET not in output and "root:x:" not in output
    assert not {"out.jsonl", "reports", "scored.jsonl", "complaints"} & {p.name for p in workdir.iterdir()}
