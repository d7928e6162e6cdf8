"""Checking a registry's product photos and logos when the registry is loaded.

A photo the image matcher cannot use would otherwise surface only mid-crawl, as a log line, while every
listing that copies it goes unmatched. So each one must be a regular file inside the registry's folder
(after symlinks and ``..`` are resolved: ``../../etc/passwd`` or a link out of the folder is refused
without being opened) that Pillow decodes within the same pixel cap as listing images.

Messages name the problem and the path, never any byte of the file: a file that is not an image may be
anything, a password file included.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

CHECK_SIDE = 64  # decode at a small scale: JPEG then reads 1/8 of the pixels, and truncation still shows
# The cap listing images are held to (DEFAULT_MAX_PIXELS of the image matcher, checked equal by a test);
# not imported from there because that module brings numpy and scipy to every command that loads a registry
MAX_PIXELS = 40_000_000


def photo_problem(raw: str, base_dir: Path) -> tuple[Path, str | None]:
    """The resolved path of a registry photo, and what is wrong with it (None when usable).

    ``raw`` is the path as written in the registry (relative to ``base_dir``, the registry's folder,
    or absolute); ``base_dir`` must already be resolved.
    """
    path, problem = _file_in_folder(raw, base_dir)
    if problem is None:
        problem = image_problem(path)
    return path, f"{problem}: {path}" if problem else None


def document_problem(raw: str, base_dir: Path) -> tuple[Path, str | None]:
    """Like :func:`photo_problem` for a certificate or letter, which may be a PDF: inside the folder, a
    non-empty regular file; its content is not read here (``enforcement/readiness.py`` checks scans)."""
    path, problem = _file_in_folder(raw, base_dir)
    if problem is None and path.stat().st_size == 0:
        problem = "empty file (0 bytes)"
    return path, f"{problem}: {path}" if problem else None


def _file_in_folder(raw: str, base_dir: Path) -> tuple[Path, str | None]:
    """The resolved path, and why it is not a regular file inside ``base_dir`` (checked before any read)."""
    path = (base_dir / raw).resolve()
    if not path.is_relative_to(base_dir):
        return path, f"outside the registry's folder {base_dir}"
    if not path.exists():
        return path, "file not found"
    if not path.is_file():
        return path, "not a regular file"
    return path, None


def image_problem(path: Path) -> str | None:
    """Why Pillow cannot use the image at ``path``, in words that quote nothing from the file."""
    cap = min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width <= 0 or height <= 0:
                    return f"the image has no pixels ({width}x{height})"
                if width * height > cap:
                    return (f"over the {cap:,}-pixel cap ({width}x{height} = {width * height:,} pixels; "
                            "possible decompression bomb)")
                img.draft("RGB", (CHECK_SIDE, CHECK_SIDE))
                img.load()
    except UnidentifiedImageError:
        return "not an image (Pillow does not recognise its format)"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"over the {cap:,}-pixel cap (possible decompression bomb)"
    except PermissionError:
        return "cannot read the file (permission denied)"
    # Pillow's own messages can quote bytes of the file (a PNG chunk name), so they are not passed on
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError,
            ZeroDivisionError):
        return "corrupt or truncated image (Pillow cannot decode it)"
    return None
