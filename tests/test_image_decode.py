"""Decoding: hostile and broken images either hash or fail with an ImageError that names the source."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from matchers.images import ImageError, hamming, hash_image_bytes, hash_image_file
from tests.image_support import encode, photo


def test_zero_byte_body_is_an_image_error_naming_the_url():
    with pytest.raises(ImageError, match=r"https://img\.alicdn\.com/x\.jpg: empty file"):
        hash_image_bytes(b"", source="https://img.alicdn.com/x.jpg")


def test_truncated_jpeg_is_an_image_error_naming_the_source():
    data = encode(photo(), "JPEG")
    with pytest.raises(ImageError, match=r"cut\.jpg: corrupt or truncated"):
        hash_image_bytes(data[: len(data) // 3], source="cut.jpg")


def test_html_served_as_jpeg_is_refused_as_not_an_image():
    page = b"<!DOCTYPE html><html><head><title>\xe9\xaa\x8c\xe8\xaf\x81\xe7\xa0\x81</title></head></html>"
    with pytest.raises(ImageError, match=r"punish\.jpg: not an image: the body is HTML"):
        hash_image_bytes(page, source="punish.jpg")


def test_random_bytes_are_not_a_recognised_image():
    with pytest.raises(ImageError, match="not a recognised image format"):
        hash_image_bytes(bytes(range(256)) * 4, source="noise.bin")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny compressed row: a decompression bomb."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_from_its_header_before_decoding():
    with pytest.raises(ImageError, match=r"bomb\.png: .*pixel cap \(possible decompression bomb\)"):
        hash_image_bytes(_png_header_only(8_000, 8_000), source="bomb.png")  # over our 40M cap
    with pytest.raises(ImageError, match=r"huge\.png: .*decompression bomb"):
        hash_image_bytes(_png_header_only(30_000, 30_000), source="huge.png")  # over Pillow's own limit


def test_pixel_cap_is_configurable():
    data = encode(photo((400, 300)), "PNG")
    with pytest.raises(ImageError, match="over the 100,000-pixel cap"):
        hash_image_bytes(data, source="big.png", max_pixels=100_000)
    hash_image_bytes(data, source="big.png", max_pixels=120_000)


def test_animated_gif_is_hashed_from_its_first_frame():
    first = photo()
    other = Image.fromarray(255 - np.asarray(first))
    gif = io.BytesIO()
    first.save(gif, "GIF", save_all=True, append_images=[other], duration=100, loop=0)
    h = hash_image_bytes(gif.getvalue(), source="anim.gif")
    still = hash_image_bytes(encode(first, "GIF"), source="first.gif")
    assert hamming(h.phash, still.phash) <= 4


def test_cmyk_jpeg_hashes_like_its_rgb_original():
    img = photo()
    rgb = hash_image_bytes(encode(img, "JPEG", quality=95))
    cmyk = hash_image_bytes(encode(img.convert("CMYK"), "JPEG", quality=95), source="cmyk.jpg")
    assert hamming(rgb.phash, cmyk.phash) <= 6


def test_16_bit_png_is_rescaled_not_clipped_to_white():
    grey = np.asarray(photo().convert("L"), dtype=np.uint16) * 257
    img16 = Image.fromarray(grey.astype(np.uint16))  # mode I;16
    assert img16.mode.startswith("I;16")
    h16 = hash_image_bytes(encode(img16, "PNG"), source="deep.png")
    h8 = hash_image_bytes(encode(photo().convert("L"), "PNG"))
    assert hamming(h16.phash, h8.phash) <= 4


def test_webp_and_transparent_png_hash_like_the_jpeg():
    img = photo()
    jpeg = hash_image_bytes(encode(img, "JPEG", quality=95))
    webp = hash_image_bytes(encode(img, "WEBP", quality=90), source="x.webp")
    assert hamming(jpeg.phash, webp.phash) <= 4
    rgba = img.convert("RGBA")
    alpha = np.asarray(rgba).copy()
    alpha[:20, :, 3] = 0  # transparent strip: composited on white, then trimmed like padding
    png = hash_image_bytes(encode(Image.fromarray(alpha, "RGBA"), "PNG"), source="x.png")
    assert png.phash  # decodes; alpha is composited on white


def test_unreadable_file_is_an_image_error_naming_the_path(tmp_path):
    with pytest.raises(ImageError, match=r"missing\.jpg: cannot read"):
        hash_image_file(tmp_path / "missing.jpg")
