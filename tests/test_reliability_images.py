"""Hostile and unusual images inside a real crawl: each bad one is counted and skipped, its listing kept;
odd but valid formats are hashed; a redirect never leads the image fetcher into the local network
(RELIABILITY.md, "Images")."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from tests.image_crawl import crawl_images as _crawl


def _picture() -> Image.Image:
    rng = np.random.default_rng(7)
    base = np.kron(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), np.ones((40, 40, 1), dtype=np.uint8))
    return Image.fromarray(base)


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A small PNG whose header claims width × height pixels (a decompression bomb's signature)."""
    png = bytearray(_save(Image.new("L", (1, 1)), "PNG"))
    ihdr = png.index(b"IHDR")
    png[ihdr + 4: ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr: ihdr + 17])))
    return bytes(png)


def _pictures() -> dict[str, tuple[int, dict, bytes]]:
    picture = _picture()
    frames = [picture, picture.rotate(90)]
    sixteen = Image.fromarray(np.asarray(picture.convert("L"), dtype=np.uint16) * 257).convert("I;16")
    jpeg = {"Content-Type": "image/jpeg"}
    return {
        "/zero.jpg": (200, jpeg, b""),
        "/bomb.png": (200, {"Content-Type": "image/png"}, _bomb_png()),
        "/captcha.jpg": (200, jpeg, b"<!DOCTYPE html><html><body>slide to verify</body></html>"),
        "/truncated.jpg": (200, jpeg, _save(picture, "JPEG")[:700]),
        "/animated.gif": (200, {"Content-Type": "image/gif"},
                          _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)),
        "/cmyk.jpg": (200, jpeg, _save(picture.convert("CMYK"), "JPEG")),
        "/sixteen.png": (200, {"Content-Type": "image/png"}, _save(sixteen, "PNG")),
        "/picture.webp": (200, {"Content-Type": "image/webp"}, _save(picture, "WEBP")),
        "/redirect.jpg": (302, {"Location": "/internal-secret.jpg"}, b""),
        "/internal-secret.jpg": (200, jpeg, _save(picture, "JPEG")),
    }


BAD = {"zero": "/zero.jpg", "bomb": "/bomb.png", "captcha": "/captcha.jpg", "truncated": "/truncated.jpg"}
ODD = {"animated": "/animated.gif", "cmyk": "/cmyk.jpg", "sixteen": "/sixteen.png", "webp": "/picture.webp"}


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    pictures = _pictures()
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            status, headers, body = pictures.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = [{"listing_id": name, "image_urls": [base + path]} for name, path in {**BAD, **ODD}.items()]
    items.append({"listing_id": "redirect", "image_urls": [base + "/redirect.jpg"]})
    try:
        tmp = tmp_path_factory.mktemp("hostile-images")
        rows, stats = _crawl(tmp, items, {"IMAGE_ALLOWED_HOSTS": ["127.0.0.1"], "IMAGE_ALLOW_PRIVATE_ADDRESSES": True},
                             registry=False)
    finally:
        server.shutdown()
        server.server_close()
    return {row["listing_id"]: row for row in rows}, stats, requested


def test_every_listing_is_kept_whatever_its_image(hostile_crawl):
    rows, _, _ = hostile_crawl
    assert set(rows) == {*BAD, *ODD, "redirect"}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_zero_byte_bomb_html_or_truncated_image_is_skipped_and_its_listing_kept_without_it(hostile_crawl, name):
    rows, stats, _ = hostile_crawl
    assert rows[name]["images"] == []
    assert stats["images/corrupt"] == 3  # bomb, HTML, truncated; the empty body fails before decoding
    assert stats["images/download_failed"] == len(BAD) + 1  # and the refused redirect


@pytest.mark.parametrize("name", sorted(ODD))
def test_animated_cmyk_16_bit_and_webp_images_are_hashed(hostile_crawl, name):
    rows, _, _ = hostile_crawl
    images = rows[name]["images"]
    assert len(images) == 1 and len(images[0]["phash"]) == 16 and images[0]["path"].startswith("full/")


def test_an_image_redirect_is_not_followed_so_it_cannot_lead_into_the_local_network(hostile_crawl):
    rows, _, requested = hostile_crawl
    assert "/redirect.jpg" in requested and "/internal-secret.jpg" not in requested
    assert rows["redirect"]["images"] == []


def test_the_bomb_is_refused_from_its_header_by_the_pixel_cap():
    from matchers.images import ImageError, hash_image_bytes

    with pytest.raises(ImageError, match=r"(?i)pixels|bomb"):
        hash_image_bytes(_bomb_png(), source="https://img.alicdn.com/bomb.png")
