"""Safe decoding: bytes to an RGB image at the working size, or an :class:`ImageError` saying why not.

Pillow only, from bytes. Zero-byte bodies, HTML/JSON/SVG served as ``image/jpeg``, unknown formats,
truncated or corrupt files and images over a pixel cap (decompression bombs: checked from the header
before any pixel is decoded, and Pillow's own bomb warning is an error) are refused, naming the file
or URL. Animated GIF/WebP: the first frame. CMYK, palette, alpha (composited on white), 16-bit grey
PNGs (rescaled, not clipped to white) and EXIF rotation are normalised. JPEGs are decoded with
libjpeg's DCT scaling (``draft``) to about ``WORK_SIDE`` px: the hashes only need 32x32.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from matchers.images.recipe import DEFAULT_MAX_PIXELS, WORK_SIDE

_HTML_PREFIXES = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<?xml", b"<svg", b"{", b"[")


class ImageError(Exception):
    """An image that cannot be hashed; the message names the file/URL and what is wrong."""

def _describe(source: str) -> str:
    return source or "<image bytes>"


def decode_image(
    data: bytes, *, source: str = "", max_pixels: int | None = None, side: int = WORK_SIDE
) -> Image.Image:
    """Decode ``data`` into an RGB image with long side at most ``side`` (never upscaled)."""
    where = _describe(source)
    if not data:
        raise ImageError(f"{where}: empty file (0 bytes), not an image")
    head = data[:256].lstrip().lower()
    if head.startswith(_HTML_PREFIXES):
        kind = "SVG/XML" if head.startswith((b"<?xml", b"<svg")) else "HTML or text"
        raise ImageError(f"{where}: not an image: the body is {kind} ({data[:40]!r}...)")
    cap = max_pixels or min(DEFAULT_MAX_PIXELS, Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageError(f"{where}: image has no pixels ({width}x{height})")
            if width * height > cap:
                raise ImageError(
                    f"{where}: {width}x{height} = {width * height:,} pixels is over the {cap:,}-pixel cap "
                    "(possible decompression bomb); not decoded"
                )
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated GIF/WebP/APNG: the first frame is the product shot
            img.draft("RGB", (side, side))  # JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{where}: refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{where}: not a recognised image format (first bytes {data[:12]!r})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            MemoryError, ZeroDivisionError) as exc:  # fmt: skip
        raise ImageError(f"{where}: corrupt or truncated image: {exc}") from exc
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.BOX)
    img.info["stored_size"] = (width, height)  # from the file header
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else float(max(arr.max(), 1.0))
        if mode in ("I", "F") and top <= 255:
            top = 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if mode != "RGB":
        return img.convert("RGB")
    return img
