"""Side-by-side evidence picture: the listing image beside the registered image it copies.

Used for the review CSV's ``image_evidence`` column, the HTML report's cards and the complaint
evidence (``comparison.png``). Captions are drawn with a Noto CJK font when one is installed
(``fonts-noto-cjk``), so Chinese titles and shop names render; otherwise Pillow's default font.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from matchers.image_grid import GRID_STAGE, locate_cell
from matchers.image_local import STAGE as LOCAL_STAGE
from matchers.image_local import locate
from matchers.images import ImageError, decode_image
from matchers.images.memo import Memo, content_digest
from matchers.signals import describe_image_stage

CJK_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
)
CJK_FONT_NAMES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansCJK-Bold.ttc")

PANEL = 480  # each picture is fitted into PANEL x PANEL
MARGIN = 16
CAPTION_SIZE = 18

ImageSource = str | Path | bytes | Image.Image


@cache
def _cjk_font_file() -> Path | None:
    for folder in CJK_FONT_DIRS:
        for name in CJK_FONT_NAMES:
            if (folder / name).exists():
                return folder / name
    return None


@cache
def caption_font(size: int = CAPTION_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font that renders CJK: Noto Sans CJK if installed, else Pillow's default font."""
    path = _cjk_font_file()
    return ImageFont.truetype(str(path), size) if path is not None else ImageFont.load_default(size)


def _font_identity() -> list:
    """Which font the captions are drawn with (a picture kept in the memo was drawn with the same one)."""
    path = _cjk_font_file()
    if path is None:
        return ["pillow default"]
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns]


def _open(source: ImageSource, what: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), what
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
        name = str(path)
    img = decode_image(data, source=name, side=2 * PANEL)
    return img


def _fit(img: Image.Image) -> Image.Image:
    img = img.copy()
    img.thumbnail((PANEL, PANEL), Image.Resampling.LANCZOS)
    panel = Image.new("RGB", (PANEL, PANEL), (255, 255, 255))
    panel.paste(img, ((PANEL - img.width) // 2, (PANEL - img.height) // 2))
    return panel


def _registered_panel(source: ImageSource) -> Image.Image:
    """The registered picture's panel. A file's panel is cached (by path, size and modification time):
    a run draws many listings against the same few registered photos."""
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            st = path.stat()
        except OSError as exc:
            raise ImageError(f"{path}: cannot read registered image: {exc.strerror or exc}") from exc
        return _cached_panel(str(path.resolve()), st.st_size, st.st_mtime_ns)
    return _fit(_open(source, "registered image"))


@lru_cache(maxsize=32)
def _cached_panel(path: str, size: int, mtime_ns: int) -> Image.Image:
    return _fit(_open(path, "registered image"))  # never drawn on: make_comparison only pastes it


def _as_bytes_or_path(source: ImageSource) -> bytes | str | Path:
    if isinstance(source, Image.Image):
        buf = io.BytesIO()
        source.convert("RGB").save(buf, "PNG")
        return buf.getvalue()
    return source


def _outline_photo(panel: Image.Image, listing: Image.Image, listing_source: ImageSource,
                   registered_source: ImageSource, *, grid: bool = False) -> None:
    """Draw where the registered photo sits in the listing picture (the local stage's alignment or grid
    cell, found again for this one pair) on the listing's panel; nothing when it is not found again."""
    listing_data, registered_data = _as_bytes_or_path(listing_source), _as_bytes_or_path(registered_source)
    if grid:
        quad = locate_cell(listing_data, registered_data)
    else:
        alignment = locate(listing_data, registered_data)
        quad = alignment.quad if alignment is not None else None
    if quad is None:
        return
    k = min(PANEL / listing.width, PANEL / listing.height, 1.0)  # as _fit's thumbnail: never enlarged
    w, h = listing.width * k, listing.height * k
    ox, oy = (PANEL - int(w)) // 2, (PANEL - int(h)) // 2
    points = [(ox + x * w, oy + y * h) for x, y in quad]
    draw = ImageDraw.Draw(panel)
    draw.line([*points, points[0]], fill=(230, 0, 0), width=4)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Greedy wrap by characters (CJK has no spaces), preferring to break at spaces."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line = ""
        for ch in para:
            if draw.textlength(line + ch, font=font) <= width:
                line += ch
                continue
            cut = line.rfind(" ")
            if cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1 :] + ch
            else:
                lines.append(line)
                line = ch
        lines.append(line)
    return lines


@dataclass(frozen=True)
class _Captions:
    """The wrapped lines of one picture: title on top, a label under each panel, the match in the footer."""

    title: list[str]
    left: list[str]
    right: list[str]
    footer: list[str]


def _captions(distance: int, stage: str, listing_label: str, registered_label: str, title: str) -> _Captions:
    font = caption_font()
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    full = 2 * PANEL + MARGIN
    meaning = describe_image_stage(stage)
    footer = f"Match: Hamming distance {distance} of 64 bits; stage: {stage}" + ("" if meaning == stage
                                                                                 else f" ({meaning})")
    return _Captions(
        title=_wrap(scratch, title, font, full) if title else [],
        left=_wrap(scratch, "Listing: " + listing_label if listing_label else "Listing image", font, PANEL),
        right=_wrap(scratch, "Registered: " + registered_label if registered_label else "Registered image", font,
                    PANEL),
        footer=_wrap(scratch, footer, font, full),
    )


def _lines(draw: ImageDraw.ImageDraw, x: int, y: int, lines: list[str], fill: tuple[int, int, int]) -> int:
    """Draw ``lines`` from ``y`` down; the ``y`` below them."""
    for line in lines:
        draw.text((x, y), line, font=caption_font(), fill=fill)
        y += CAPTION_SIZE + 6
    return y


def _compose(left: Image.Image, right: Image.Image, captions: _Captions) -> Image.Image:
    """The two panels side by side, framed, with the captions around them."""
    line_h = CAPTION_SIZE + 6
    caption_rows = max(len(captions.left), len(captions.right))
    height = MARGIN + len(captions.title) * line_h + (MARGIN if captions.title else 0) + PANEL
    height += MARGIN // 2 + caption_rows * line_h + MARGIN // 2 + len(captions.footer) * line_h + MARGIN
    canvas = Image.new("RGB", (2 * PANEL + 3 * MARGIN, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    y = _lines(draw, MARGIN, MARGIN, captions.title, (0, 0, 0)) + (MARGIN if captions.title else 0)
    canvas.paste(left, (MARGIN, y))
    canvas.paste(right, (2 * MARGIN + PANEL, y))
    draw.rectangle((MARGIN - 1, y - 1, MARGIN + PANEL, y + PANEL), outline=(180, 180, 180))
    draw.rectangle((2 * MARGIN + PANEL - 1, y - 1, 2 * MARGIN + 2 * PANEL, y + PANEL), outline=(180, 180, 180))
    y += PANEL + MARGIN // 2
    _lines(draw, MARGIN, y, captions.left, (40, 40, 40))
    _lines(draw, 2 * MARGIN + PANEL, y, captions.right, (40, 40, 40))
    _lines(draw, MARGIN, y + caption_rows * line_h + MARGIN // 2, captions.footer, (170, 0, 0))
    return canvas


def make_comparison(
    listing_image: ImageSource,
    registered_image: ImageSource,
    out_path: str | Path,
    *,
    distance: int,
    stage: str,
    listing_label: str = "",
    registered_label: str = "",
    title: str = "",
    memo: Memo | None = None,
) -> Path:
    """Write a PNG: listing image (left) | registered image (right), captioned.

    ``listing_label``/``registered_label`` go under each picture (e.g. platform + listing id + shop,
    and product + file name); ``title`` goes on top (e.g. the listing title, CJK is fine). The
    footer says how they matched: Hamming ``distance`` and the ``stage`` that decided. When the local-feature
    stage decided (the photo is one part of the listing's picture), the photo's outline is drawn on the listing
    picture. Raises :class:`ImageError` when either picture cannot be read. Returns the path written.
    ``memo`` (kind "comparison"): a picture drawn before from the same two pictures, captions, font and code
    is copied instead of drawn again.
    """
    out = Path(out_path)
    key = _memo_key(memo, listing_image, registered_image, [distance, stage, listing_label, registered_label, title])
    kept = memo.get_file(key, ".png") if memo is not None else None
    if kept is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, out)
        return out
    listing_img = _open(listing_image, "listing image")
    left = _fit(listing_img)
    if stage.startswith((LOCAL_STAGE, GRID_STAGE)):
        _outline_photo(left, listing_img, listing_image, registered_image, grid=stage.startswith(GRID_STAGE))
    right = _registered_panel(registered_image)
    canvas = _compose(left, right, _captions(distance, stage, listing_label, registered_label, title))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG", compress_level=3)  # optimize=True cost ~130 ms a picture for a few % of size
    if memo is not None:
        memo.put_file(key, ".png", out)
    return out


def _memo_key(memo: Memo | None, listing: ImageSource, registered: ImageSource, captions: list) -> str | None:
    """The memo key of a picture: both pictures' bytes, the captions and the font; None when a picture is
    given as an image object or cannot be read (drawing it then says why)."""
    if memo is None or isinstance(listing, Image.Image) or isinstance(registered, Image.Image):
        return None
    try:
        contents = [content_digest(s) if isinstance(s, bytes | bytearray) else _file_digest(Path(s))
                    for s in (listing, registered)]
    except OSError:
        return None
    return memo.key(contents, captions, _font_identity())


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _cached_digest(str(path.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    """A file's digest, by path, size and modification time: a run draws many listings against the same few
    registered photos (as ``_cached_panel``)."""
    return content_digest(Path(path).read_bytes())
