"""Text inside a listing's picture: the brand printed on the product or its box, a WeChat id.

A counterfeit's title is often generic ("户外冲锋衣 男 防水") while its main picture shows the mark on
the goods. This reads that text with RapidOCR (PaddleOCR's PP-OCRv4 Chinese and English detection
and recognition models, run by onnxruntime). The wheel ships the models, so nothing is downloaded at
run time. It is optional at install time (``pip install ipwatch[ocr]``): without it
:func:`ocr_engine` returns None with the reason, and matching works on titles and photos only.

Each result is a dict ``{"text", "box": [[x, y] x 4] (pixels of the image as stored), "confidence",
"image"}``; the scorer matches the marks in it as kind ``in_image``. Results are cached by the image
file's checksum (one JSON file each), so a picture shared by many listings, or seen again next
run, is read once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from matchers.images import ImageError, decode_image

logger = logging.getLogger(__name__)

OCR_SIDE = 960  # long side the picture is decoded at and read at: product text stays legible, and the
# detector costs 0.6 s of CPU here instead of 1.4 s at the engine's default (shortest side >= 736 px)
MIN_CONFIDENCE = 0.6  # recognitions below this are noise (a texture read as "lll")
CACHE_VERSION = 1  # bump when the engine's settings or the result format change
OCR_PACKAGE = "rapidocr-onnxruntime"


@dataclass
class OcrEngine:
    """One loaded RapidOCR engine (loading the models takes ~0.1 s and ~75 MB; a first read raises the
    process' peak RSS by ~300 MB more, measured here; keep one per process)."""

    engine: Any
    version: str
    seconds: float = 0.0
    reads: int = 0
    errors: list[str] = field(default_factory=list)

    def read(self, source: bytes | str | Path, *, image: str = "") -> list[dict]:
        """The text in a picture (bytes or a file). Raises :class:`ImageError` when it cannot be read."""
        if isinstance(source, bytes | bytearray):
            data, where = bytes(source), image or "<image bytes>"
        else:
            try:
                data, where = Path(source).read_bytes(), str(source)
            except OSError as exc:
                raise ImageError(f"{source}: cannot read image for OCR: {exc.strerror or exc}") from exc
        img = decode_image(data, source=where, side=OCR_SIDE)
        stored_w, stored_h = img.info.get("stored_size", img.size)
        scale_x, scale_y = stored_w / img.width, stored_h / img.height
        bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
        start = time.perf_counter()
        try:
            found, _ = self.engine(bgr)
        finally:
            self.seconds += time.perf_counter() - start
            self.reads += 1
        out = []
        for box, text, confidence in found or []:
            if float(confidence) < MIN_CONFIDENCE or not str(text).strip():
                continue
            corners = [[round(float(x) * scale_x, 1), round(float(y) * scale_y, 1)] for x, y in box]
            out.append({"text": str(text), "box": corners, "confidence": round(float(confidence), 3), "image": image})
        return out


@cache
def ocr_engine() -> OcrEngine | None:
    """The process' OCR engine, or None when rapidocr-onnxruntime is not installed (logged once)."""
    try:
        from importlib.metadata import version

        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        logger.info("OCR off: %s not installed", OCR_PACKAGE)
        return None
    # one thread per session: a crawl runs one process per core, and onnxruntime's default pool of
    # every core fights the other processes (measured here: no faster on 2 shared cores)
    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, det_limit_type="max", det_limit_side_len=OCR_SIDE)
    return OcrEngine(engine, version(OCR_PACKAGE))


def ocr_unavailable_reason() -> str | None:
    """Why OCR is off, or None when it is available."""
    return None if ocr_engine() is not None else f"{OCR_PACKAGE} not installed"


class ImageTextCache:
    """OCR results by image checksum: ``<directory>/<checksum>.ocr-v<N>.json``."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def _file(self, checksum: str) -> Path | None:
        if self.directory is None or not checksum or not checksum.isalnum():
            return None
        return self.directory / f"{checksum}.ocr-v{CACHE_VERSION}.json"

    def get(self, checksum: str) -> list[dict] | None:
        path = self._file(checksum)
        if path is None:
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # not cached yet, or a damaged entry: read again
        return raw if isinstance(raw, list) else None

    def put(self, checksum: str, texts: list[dict]) -> None:
        path = self._file(checksum)
        if path is None:
            return
        stored = [{k: v for k, v in t.items() if k != "image"} for t in texts]  # the path is per listing
        tmp = path.with_suffix(f".{os.getpid()}.{id(stored)}.tmp")  # one folder may serve several processes
        tmp.write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
