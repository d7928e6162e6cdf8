"""OCR of a listing's picture with RapidOCR's real Chinese and English models (shipped in its wheel)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from matchers.ocr import ImageTextCache, ocr_engine

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"


def rendered(lines: list[str], size=(1600, 900), font_px=72) -> bytes:
    """A product picture with text on it, as a JPEG bigger than the OCR side (boxes must be scaled back)."""
    img = Image.new("RGB", size, (236, 240, 232))
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 60, size[0] - 60, size[1] - 60), outline=(90, 90, 90), width=6)
    font = ImageFont.truetype(FONT, font_px)
    for i, line in enumerate(lines):
        draw.text((140, 140 + i * int(font_px * 2)), line, font=font, fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_cjk_and_latin_text_is_read_with_boxes_in_the_stored_pictures_pixels():
    engine = ocr_engine()
    assert engine is not None, "rapidocr-onnxruntime is in the test extra"
    texts = engine.read(rendered(["露莫拉 LUMORA 冲锋衣", "微信: lumora888"]), image="full/a.jpg")
    joined = " ".join(t["text"] for t in texts)
    assert "露莫拉" in joined and "LUMORA" in joined.upper()
    assert "lumora888" in joined.lower()
    first = next(t for t in texts if "露莫拉" in t["text"])
    xs = [x for x, _ in first["box"]]
    ys = [y for _, y in first["box"]]
    # drawn at x=140, y=140 (plus the font's ascent) on a 1600 px picture decoded at 960 for OCR
    assert 110 <= min(xs) <= 180 and 130 <= min(ys) <= 200 and max(xs) > 700
    assert first["confidence"] >= 0.6 and first["image"] == "full/a.jpg"


def test_a_picture_without_text_gives_no_text():
    img = Image.new("RGB", (600, 600), (200, 30, 30))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert ocr_engine().read(buf.getvalue()) == []


def test_results_are_cached_by_checksum_and_a_damaged_entry_is_read_again(tmp_path):
    cache = ImageTextCache(tmp_path)
    texts = [{"text": "LUMORA", "box": [[1, 2], [3, 2], [3, 4], [1, 4]], "confidence": 0.9, "image": "full/a.jpg"}]
    assert cache.get("abc123") is None
    cache.put("abc123", texts)
    assert cache.get("abc123") == [{k: v for k, v in texts[0].items() if k != "image"}]
    next(tmp_path.glob("abc123.*.json")).write_text("{not json", encoding="utf-8")
    assert cache.get("abc123") is None
    assert cache.get("../etc/passwd") is None  # a checksum is never a path


def test_without_rapidocr_installed_ocr_is_off_with_one_log_line():
    code = (
        "import logging, sys; sys.modules['rapidocr_onnxruntime'] = None\n"  # how Python blocks an import
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from matchers.ocr import ocr_engine, ocr_unavailable_reason\n"
        "assert ocr_engine() is None and ocr_engine() is None\n"
        "print(ocr_unavailable_reason())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "rapidocr-onnxruntime not installed"
    assert done.stderr.count("OCR off: rapidocr-onnxruntime not installed") == 1
