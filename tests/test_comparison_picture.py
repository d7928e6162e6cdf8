"""The comparison picture's one way in: both paths found and checked, whatever drew it (report or evidence)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from exports.comparison_picture import PictureError, comparison_source, draw_comparison
from tests.export_fixtures import draw_image, listing


def _hit(path: str, registered: str = "images/jacket.png") -> dict:
    return {"registered_image": registered, "listing_image_path": path, "distance": 3, "stage": "phash"}


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    store, registry, report = tmp_path / "store", tmp_path / "registry", tmp_path / "reports" / "run"
    draw_image(store / "full" / "a.jpg", (200, 40, 40))
    draw_image(registry / "images" / "jacket.png", (30, 90, 160))
    draw_image(tmp_path / "outside" / "private.png", (0, 0, 0))
    report.mkdir(parents=True)
    return store, registry, report


@pytest.mark.parametrize("path", ["../outside/private.png", "/ABS", "full/missing.jpg"])
def test_a_listing_image_outside_the_images_store_or_missing_gives_no_picture(tmp_path, folders, path):
    store, registry, report = folders
    named = str(tmp_path / "outside" / "private.png") if path == "/ABS" else path
    with pytest.raises(PictureError, match=r"listing image .* not a file inside the images store"):
        comparison_source(listing(image_hit=_hit(named)), registry_dir=registry, images_store=store,
                          report_dir=report)


def test_a_registered_image_outside_the_registry_folder_gives_no_picture(folders):
    store, registry, report = folders
    with pytest.raises(PictureError, match=r"registered image .* not a file inside the registry"):
        comparison_source(listing(image_hit=_hit("full/a.jpg", "../outside/private.png")), registry_dir=registry,
                          images_store=store, report_dir=report)


def test_an_undecodable_listing_image_is_a_picture_error_naming_it(folders, tmp_path):
    store, registry, _ = folders
    (store / "full" / "page.jpg").write_bytes(b"<html>blocked</html>")
    source = comparison_source(listing(image_hit=_hit("full/page.jpg")), registry_dir=registry, images_store=store)
    with pytest.raises(PictureError, match=r"page\.jpg"):
        draw_comparison(source, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_the_picture_is_captioned_with_the_listing_and_drawn_side_by_side(folders, tmp_path):
    store, registry, _ = folders
    item = listing(image_hit=_hit("full/a.jpg"), seller_name="小店", title="露莫拉冲锋衣")
    source = comparison_source(item, registry_dir=registry, images_store=store)
    assert source.listing_label == "taobao 600000000001 · 小店" and source.title == "露莫拉冲锋衣"
    with Image.open(draw_comparison(source, tmp_path / "c.png")) as picture:
        assert picture.width > 2 * 240


def test_the_report_picture_is_reused_only_from_the_report_pictures_folder(folders, tmp_path):
    store, registry, report = folders
    drawn = draw_image(report / "comparisons" / "taobao-1.png", (0, 200, 0), size=(20, 20))
    (report / "review.csv").write_text("not a picture", encoding="utf-8")
    reused = comparison_source(listing(image_hit=_hit("full/a.jpg"), image_evidence="comparisons/taobao-1.png"),
                               registry_dir=registry, images_store=store, report_dir=report)
    assert draw_comparison(reused, tmp_path / "e.png").read_bytes() == drawn.read_bytes()
    for elsewhere in ("review.csv", "../../outside/private.png"):
        source = comparison_source(listing(image_hit=_hit("full/a.jpg"), image_evidence=elsewhere),
                                   registry_dir=registry, images_store=store, report_dir=report)
        assert source.drawn is None  # drawn afresh, never a copy of another file
