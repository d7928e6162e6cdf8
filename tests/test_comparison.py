"""The side-by-side evidence picture (listing image | registered image)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFont

from matchers.comparison import PANEL, caption_font, make_comparison
from matchers.images import ImageError


def _jpeg(colour, size=(300, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def test_comparison_png_puts_the_listing_left_and_the_registered_image_right(tmp_path):
    out = make_comparison(
        _jpeg((200, 0, 0)), _jpeg((0, 0, 200)), tmp_path / "ev" / "comparison.png",
        distance=6, stage="phash+dhash",
    )  # fmt: skip
    img = Image.open(out)
    assert img.format == "PNG"
    arr = np.asarray(img.convert("RGB")).astype(int)
    mid_y = arr.shape[0] // 2
    left = arr[mid_y, PANEL // 2]
    right = arr[mid_y, arr.shape[1] - PANEL // 2]
    assert left[0] > 150 and left[2] < 60  # red listing image on the left
    assert right[2] > 150 and right[0] < 60  # blue registered image on the right


def test_comparison_accepts_paths_bytes_and_pil_images(tmp_path):
    path = tmp_path / "listing.webp"
    Image.new("RGB", (120, 90), (0, 150, 0)).save(path, "WEBP")
    out = make_comparison(
        path, Image.new("RGB", (50, 50), "white"), tmp_path / "c.png", distance=0, stage="phash"
    )
    assert out.exists()


def test_cjk_labels_render_with_a_cjk_font_when_installed(tmp_path):
    font = caption_font()
    if isinstance(font, ImageFont.FreeTypeFont):
        # a CJK-capable font draws distinct glyphs, not the same "tofu" box for every character
        a = np.asarray(font.getmask("露"))
        b = np.asarray(font.getmask("莫"))
        assert a.size and b.size and (a.shape != b.shape or (a != b).any())
    out = make_comparison(
        _jpeg((10, 10, 10)), _jpeg((240, 240, 240)), tmp_path / "c.png", distance=4, stage="crop",
        listing_label="taobao 6543210 露莫拉官方旗舰店", registered_label="trail-jacket images/trail_jacket_1.jpg",
        title="正品LUMORA冲锋衣 男女款 防水透气 户外登山服 " * 4,
    )  # fmt: skip
    img = Image.open(out)
    assert img.width == 2 * PANEL + 3 * 16
    assert img.height > PANEL + 100  # title, captions and the footer are below/above the pictures


def test_footer_says_distance_and_stage(tmp_path, monkeypatch):
    drawn: list[str] = []
    from PIL import ImageDraw

    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append(text)
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    make_comparison(_jpeg("red"), _jpeg("blue"), tmp_path / "c.png", distance=11, stage="rotation+mirror")
    assert any("distance 11" in t and "rotation+mirror" in t for t in drawn)
    # and what the stage means, for a reviewer who does not know the recipe
    assert any("rotated back a few degrees, mirrored" in t for t in drawn)


def test_unreadable_listing_image_is_an_image_error_naming_it(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"<html>blocked</html>")
    with pytest.raises(ImageError, match=r"bad\.jpg"):
        make_comparison(bad, _jpeg("blue"), tmp_path / "c.png", distance=0, stage="phash")


def test_a_registered_photo_is_read_once_per_run_and_again_when_it_changes(tmp_path):
    import os

    from matchers import comparison

    registered = tmp_path / "registered.jpg"
    registered.write_bytes(_jpeg((0, 0, 200)))
    comparison._cached_panel.cache_clear()
    for i in range(3):
        make_comparison(_jpeg((200, 0, 0)), registered, tmp_path / f"c{i}.png", distance=3, stage="phash")
    assert comparison._cached_panel.cache_info().misses == 1
    # the photo is replaced: the new one is drawn, not the cached panel
    registered.write_bytes(_jpeg((0, 200, 0), size=(320, 200)))
    stat = registered.stat()
    os.utime(registered, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    out = make_comparison(_jpeg((200, 0, 0)), registered, tmp_path / "new.png", distance=3, stage="phash")
    with Image.open(out) as img:
        red, green, blue = img.convert("RGB").getpixel((2 * 16 + PANEL + PANEL // 2, 16 + PANEL // 2))
    assert green > 150 and red < 80 and blue < 80


def test_a_photo_found_inside_the_picture_is_outlined_where_it_sits(tmp_path):
    from pathlib import Path

    import skimage.data

    from matchers.image_local import STAGE

    registered = Path(__file__).resolve().parents[1] / "fixtures" / "registry" / "images" / "trail_jacket_1.jpg"
    canvas = Image.fromarray(skimage.data.coffee()).resize((900, 900))
    canvas.paste(Image.open(registered).resize((300, 300)), (450, 450))  # the bottom-right area
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=88)
    out = make_comparison(buf.getvalue(), registered, tmp_path / "c.png", distance=3,
                          stage=f"{STAGE}: photo at bottom right, 33 % of the picture's width")
    arr = np.asarray(Image.open(out).convert("RGB")).astype(int)
    red = (arr[:, :, 0] > 200) & (arr[:, :, 1] < 40) & (arr[:, :, 2] < 40)
    ys, xs = np.nonzero(red[:, : 16 + PANEL])  # on the listing's panel only
    assert xs.size > 200, "the outline is drawn"
    # the photo (its white margin trimmed) covers 450..750 of 900 px: 0.5..0.83 of the panel
    assert xs.min() >= 16 + 0.5 * PANEL - 12 and xs.max() <= 16 + 0.84 * PANEL + 12
    assert ys.min() >= 16 + 0.5 * PANEL - 12 and ys.max() <= 16 + 0.84 * PANEL + 12  # pictures start at y=16


def test_no_outline_when_the_stage_is_a_whole_picture_hash(tmp_path):
    out = make_comparison(_jpeg((200, 200, 200)), _jpeg((200, 200, 200)), tmp_path / "c.png", distance=0,
                          stage="phash")
    arr = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert not ((arr[:, :, 0] > 200) & (arr[:, :, 1] < 40) & (arr[:, :, 2] < 40))[:, : 16 + PANEL].any()


def test_a_photo_found_in_a_grid_cell_is_outlined_on_that_cell(tmp_path):
    from pathlib import Path

    import skimage.data

    registered = Path(__file__).resolve().parents[1] / "fixtures" / "registry" / "images" / "trail_jacket_1.jpg"
    canvas = Image.fromarray(skimage.data.coffee()).resize((900, 900))
    canvas.paste(Image.open(registered).resize((300, 300)), (0, 300))  # the left middle cell
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=88)
    out = make_comparison(buf.getvalue(), registered, tmp_path / "c.png", distance=2,
                          stage="grid cell: photo at left, 33 % of the picture's width")
    arr = np.asarray(Image.open(out).convert("RGB")).astype(int)
    red = (arr[:, :, 0] > 200) & (arr[:, :, 1] < 40) & (arr[:, :, 2] < 40)
    ys, xs = np.nonzero(red[:, : 16 + PANEL])
    assert xs.size > 200
    assert xs.min() >= 16 - 4 and xs.max() <= 16 + PANEL / 3 + 4
    assert ys.min() >= 16 + PANEL / 3 - 4 and ys.max() <= 16 + 2 * PANEL / 3 + 4
