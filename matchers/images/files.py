"""File checksums: light on purpose (hashlib only), so the evidence writers can use it without loading the
matcher's numpy and Pillow."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks (a registered photo, an evidence file)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
