"""What the image matcher's tests share: the evaluation corpus (built once), a registry folder of its photos,
listing images made from pictures, and small encoded pictures."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from bench.evaluate_images import build_index
from bench.image_corpus import Corpus, build_corpus, encode_jpeg
from matchers.images import ListingImage, RegistryImageIndex, hash_image_bytes


@cache
def shared_corpus() -> Corpus:
    """The default corpus of ``make eval-images`` (deterministic; built once per test process)."""
    return build_corpus()


def index_of(c: Corpus, tmp_path: Path) -> RegistryImageIndex:
    """An index of the corpus's registered photos, written as JPEG files under ``tmp_path``."""
    return build_index(c, tmp_path)


def write_registry(tmp_path: Path) -> Path:
    """A registry folder with the corpus's first six registered photos in ``images/``."""
    images = tmp_path / "images"
    images.mkdir()
    for pid, arr in shared_corpus().references[:6]:
        (images / f"{pid}.jpg").write_bytes(encode_jpeg(arr))
    return tmp_path


def entries(registry_dir: Path) -> list[tuple[str, Path]]:
    return [(p.stem, p) for p in sorted((registry_dir / "images").glob("*.jpg"))]


def listing(arr: np.ndarray, url: str = "https://img.alicdn.com/imgextra/i1/1/O1CN01x.jpg") -> ListingImage:
    return ListingImage(
        url=url, path="full/abc.jpg", hashes=hash_image_bytes(encode_jpeg(arr, 85), source=url)
    )


def photo(size=(320, 240)) -> Image.Image:
    """A synthetic photo: gradients, a texture and a flat block (no uniform border)."""
    rng = np.random.default_rng(1)
    base = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    base[..., 0] = (xx * 255 // size[0]).astype(np.uint8)
    base[..., 1] = (yy * 255 // size[1]).astype(np.uint8)
    base[..., 2] = ((xx + yy) % 64 * 4).astype(np.uint8)
    base[60:180, 100:220] = rng.integers(0, 255, 3, dtype=np.uint8)
    return Image.fromarray(base)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def errors_of_writers_at_once(write, writers: int = 4, times: int = 50) -> list[BaseException]:
    """``write()`` called ``times`` times by each of ``writers`` threads at once (as workers sharing a folder
    would); what any of them raised."""
    import threading

    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(times):
                write()
        except BaseException as exc:  # every one is reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
