"""The harder photo disguises of ``make eval-images``: the official photo *inside* another picture.

Each function takes the registered photo ``a`` (RGB uint8), a random generator and the corpus (its
unrelated images fill the other cells of a grid), and returns the listing picture a copier would
make: one tile of a 3x3 or uneven grid; a corner sticker or logo over it; a thick gradient or
patterned frame around it; inside a screenshot of a shopping app; cropped, watermarked and
bannered at once. Same-scene shots (:func:`same_scene`) are the hard unrelated pictures: other
regions of the photo session the official photo was cut from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from bench import image_corpus as base

STICKER_TEXTS = ("热卖", "新品", "包邮", "爆款", "HOT", "SALE", "正品")
APP_TITLES = ("正品 户外 冲锋衣 男女款 防水 透气", "新款 旗舰店 官方 同款 现货速发", "限时 特价 品质保证 7天无理由")


def _pic(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr)


def _fit_into(pic: Image.Image, w: int, h: int) -> Image.Image:
    """``pic`` scaled to cover a w x h cell and centre-cropped: what a layout tool's "fill" does
    to the *other* pictures of a grid."""
    k = max(w / pic.width, h / pic.height)
    big = pic.resize((max(int(pic.width * k + 0.5), w), max(int(pic.height * k + 0.5), h)), Image.Resampling.LANCZOS)
    x, y = (big.width - w) // 2, (big.height - h) // 2
    return big.crop((x, y, x + w, y + h))


def _fit_within(pic: Image.Image, w: int, h: int) -> Image.Image:
    pic = pic.copy()
    pic.thumbnail((w, h), Image.Resampling.LANCZOS)
    return pic


def _grid(a: np.ndarray, rng: np.random.Generator, c: Any, cells: list[tuple[float, float, float, float]],
          side: int) -> np.ndarray:
    """Cells are (x0, y0, x1, y1) fractions; the photo goes in one at random, unrelated pictures fill
    the rest. The photo keeps its aspect (fitted within its cell); the fillers are cropped to fill."""
    gap = int(rng.integers(0, 10))
    bg = (255, 255, 255) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(0, 256, 3))
    canvas = Image.new("RGB", (side, side), bg)
    where = int(rng.integers(0, len(cells)))
    fillers = c.cell_fillers
    others = rng.choice(len(fillers), len(cells), replace=False)
    for i, (x0, y0, x1, y1) in enumerate(cells):
        left, top = int(x0 * side) + gap // 2, int(y0 * side) + gap // 2
        w, h = int((x1 - x0) * side) - gap, int((y1 - y0) * side) - gap
        if i == where:
            pic = _fit_within(_pic(a), w, h)
            canvas.paste(pic, (left + (w - pic.width) // 2, top + (h - pic.height) // 2))
        else:
            canvas.paste(_fit_into(_pic(fillers[int(others[i])][1]), w, h), (left, top))
    return base._jpeg(np.asarray(canvas), 85)


def t_grid_3x3(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    thirds = [(x / 3, y / 3, (x + 1) / 3, (y + 1) / 3) for y in range(3) for x in range(3)]
    return _grid(a, rng, c, thirds, int(rng.integers(750, 1000)))


def t_grid_uneven(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    """One big cell and a column (or row) of two or three small ones, the split anywhere from 55 to 70 %."""
    s = float(rng.uniform(0.55, 0.7))
    n = int(rng.integers(2, 4))
    small = [(s, i / n, 1.0, (i + 1) / n) for i in range(n)]
    cells = [(0.0, 0.0, s, 1.0), *small]
    if rng.random() < 0.5:  # the same layout turned on its side: a big top cell over a row of small ones
        cells = [(y0, x0, y1, x1) for x0, y0, x1, y1 in cells]
    return _grid(a, rng, c, cells, int(rng.integers(750, 1000)))


def t_sticker(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    """A round or square promotion sticker (or a shop logo) over one corner: 18-28 % of the width."""
    img = _pic(a).copy()
    w, h = img.size
    size = int(min(w, h) * rng.uniform(0.18, 0.28))
    corner = int(rng.integers(0, 4))
    x = int(w * 0.02) if corner % 2 == 0 else w - size - int(w * 0.02)
    y = int(h * 0.02) if corner < 2 else h - size - int(h * 0.02)
    colour = ((220, 20, 30), (250, 190, 0), (20, 110, 220), (30, 30, 30))[int(rng.integers(0, 4))]
    d = ImageDraw.Draw(img)
    if rng.random() < 0.5:
        d.ellipse((x, y, x + size, y + size), fill=colour, outline=(255, 255, 255), width=max(2, size // 25))
    else:
        d.rounded_rectangle((x, y, x + size, y + size), radius=size // 6, fill=colour)
    text = STICKER_TEXTS[int(rng.integers(0, len(STICKER_TEXTS)))]
    font = base._font(max(10, int(size / (len(text) * 0.75 + 0.8))))
    box = d.textbbox((0, 0), text, font=font)
    d.text((x + (size - box[2]) // 2, y + (size - box[3]) // 2), text, font=font, fill=(255, 255, 255))
    return base._jpeg(np.asarray(img), 85)


def _pattern(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    kind = int(rng.integers(0, 4))
    c1 = np.array(rng.integers(0, 256, 3), dtype=np.float64)
    c2 = np.array(rng.integers(0, 256, 3), dtype=np.float64)
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == 0:  # linear gradient at an angle
        ang = rng.uniform(0, np.pi)
        t = (xx * np.cos(ang) + yy * np.sin(ang))
        t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    elif kind == 1:  # radial gradient
        t = np.hypot(xx - w / 2, yy - h / 2)
        t = t / t.max()
    elif kind == 2:  # diagonal stripes
        period = int(rng.integers(12, 40))
        t = (((xx + yy) // period) % 2).astype(np.float64)
    else:  # polka dots
        period = int(rng.integers(18, 44))
        t = (np.hypot(xx % period - period / 2, yy % period - period / 2) < period / 4).astype(np.float64)
    arr = c1[None, None] * (1 - t[..., None]) + c2[None, None] * t[..., None]
    return Image.fromarray(arr.astype(np.uint8))


def t_frame(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    """A thick frame (10-22 % of the side, each side drawn separately) of gradient, stripes or dots."""
    img = _pic(a)
    w, h = img.size
    t, b, lft, r = (int(max(w, h) * rng.uniform(0.10, 0.22)) for _ in range(4))
    canvas = _pattern(w + lft + r, h + t + b, rng)
    if rng.random() < 0.5:  # a thin contrasting line around the photo, as frame templates have
        ImageDraw.Draw(canvas).rectangle((lft - 4, t - 4, lft + w + 3, t + h + 3), fill=(255, 255, 255))
    canvas.paste(img, (lft, t))
    return base._jpeg(np.asarray(canvas), 85)


def t_phone_screenshot(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    """A shopping app's product page on a phone: status bar, header, the photo, price, title, buttons."""
    width = int(rng.integers(540, 760))
    height = int(width * rng.uniform(1.9, 2.2))
    dark = rng.random() < 0.3
    bg, ink = ((18, 18, 18), (235, 235, 235)) if dark else ((245, 245, 245), (30, 30, 30))
    canvas = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(canvas)
    bar = int(height * 0.035)
    small = base._font(int(bar * 0.6))
    d.text((int(width * 0.05), bar // 5), f"{int(rng.integers(8, 23))}:{int(rng.integers(10, 59))}", font=small, fill=ink)
    d.text((int(width * 0.78), bar // 5), "5G 87%", font=small, fill=ink)
    header = int(height * 0.055)
    d.rectangle((0, bar, width, bar + header), fill=(255, 80, 0) if rng.random() < 0.5 else bg)
    d.text((int(width * 0.05), bar + header // 5), "<  宝贝  详情  评价  推荐", font=base._font(int(header * 0.45)),
           fill=(255, 255, 255) if not dark else ink)  # fmt: skip
    margin = int(width * rng.uniform(0.0, 0.06))
    photo = _fit_within(_pic(a), width - 2 * margin, int(height * 0.5))
    top = bar + header + int(height * 0.01)
    canvas.paste(photo, ((width - photo.width) // 2, top))
    y = top + photo.height + int(height * 0.02)
    d.text((int(width * 0.05), y), f"¥{int(rng.integers(29, 899))}.00", font=base._font(int(height * 0.035)),
           fill=(255, 60, 0))  # fmt: skip
    y += int(height * 0.05)
    title = APP_TITLES[int(rng.integers(0, len(APP_TITLES)))]
    d.text((int(width * 0.05), y), title, font=base._font(int(height * 0.022)), fill=ink)
    foot = int(height * 0.07)
    d.rectangle((0, height - foot, width, height), fill=(30, 30, 30) if dark else (255, 255, 255))
    d.rounded_rectangle((int(width * 0.45), height - foot + 10, int(width * 0.7), height - 10), radius=foot // 3,
                        fill=(255, 170, 0))  # fmt: skip
    d.rounded_rectangle((int(width * 0.72), height - foot + 10, int(width * 0.96), height - 10), radius=foot // 3,
                        fill=(255, 60, 0))  # fmt: skip
    shot = canvas.resize((int(width * 0.75), int(height * 0.75)), Image.Resampling.LANCZOS)  # sent as a thumbnail
    return base._jpeg(np.asarray(shot), int(rng.integers(70, 88)))


def t_crop_watermark_banner(a: np.ndarray, rng: np.random.Generator, c: Any) -> np.ndarray:
    """A 5-15 % crop, then a tiled watermark, then a price banner: all three at once."""
    cropped = base._crop(a, rng, 0.05, 0.15)
    return base.t_banner(base.t_watermark(cropped, rng, c), rng, c)


HARD_TRANSFORMS: dict[str, Callable[[np.ndarray, np.random.Generator, Any], np.ndarray]] = {
    "3x3 grid": t_grid_3x3,
    "uneven grid": t_grid_uneven,
    "corner sticker": t_sticker,
    "patterned frame": t_frame,
    "phone screenshot": t_phone_screenshot,
    "crop+watermark+banner": t_crop_watermark_banner,
}
HARD_TARGETS = dict.fromkeys(HARD_TRANSFORMS, 0.8)


def same_scene(src: np.ndarray, rng: np.random.Generator, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """A registered photo cut from one side of ``src`` and ``count`` shots of the same scene from the
    other side, each overlapping the photo by at most ~15 % of its area (a different region of the
    same photo session)."""
    h, w = src.shape[:2]
    horizontal = w >= h
    length = w if horizontal else h
    cut = int(length * rng.uniform(0.42, 0.5))
    photo_part = src[:, :cut] if horizontal else src[:cut]
    shots = []
    for _ in range(count):
        start = int(cut - length * rng.uniform(0.0, 0.06))  # overlaps the photo by 0-6 % of the scene
        end = int(min(length, start + length * rng.uniform(0.4, 0.55)))
        part = src[:, start:end] if horizontal else src[start:end]
        shots.append(base.photo(part, rng))
    return base.photo(photo_part, rng), shots

