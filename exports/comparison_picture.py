"""A listing's comparison picture (its image beside the registered one it copies): one way to find the two
pictures and one way to draw them, for the run's report and for the complaint evidence alike.

The paths come from listing data (``listings.jsonl``, the store), which is untrusted: the listing image is
only ever read from inside the images store or the report folder, the registered image only from inside the
registry's folder. An absolute path elsewhere, a ``..`` climbing out, a missing or undecodable file gives no
picture and a note saying why, never a picture of some other file on disk.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPORT_FOLDER = "comparisons"  # the run report's pictures, reports/<run_id>/comparisons/


class PictureError(Exception):
    """No comparison picture for this listing; the message says why."""


@dataclass(frozen=True)
class ComparisonSource:
    listing_image: Path
    registered_image: Path
    distance: int | None = None
    stage: str = ""
    listing_label: str = ""  # e.g. "taobao 600000000001 · shop name"
    registered_label: str = ""  # e.g. "images/trail_jacket_1.jpg"
    title: str = ""  # the listing title (CJK is fine)
    drawn: Path | None = None  # the run report's picture of the same pair, reused instead of drawing it again


def within(path: str | Path, *roots: str | Path | None) -> Path | None:
    """``path`` (relative to the first root that has it, or absolute) if it is a file inside one of
    ``roots``; None otherwise. Paths named by listings data are untrusted: an absolute path or one
    climbing out with ``..`` must never make us read (and embed, hash or send to IPP) another file."""
    candidate = Path(str(path))
    for root in roots:
        if root is None:
            continue
        base = Path(root).resolve()
        full = (candidate if candidate.is_absolute() else base / candidate).resolve()
        if full.is_relative_to(base) and full.is_file():
            return full
    return None


def image_hit_of(listing: dict[str, Any]) -> dict[str, Any]:
    """The listing's image hit as a dict (``image_hit``, else the scorer's ``signals.image``), with
    ``listing_image_path`` filled in from ``images[]`` when the hit does not name it."""
    raw = listing.get("image_hit")
    if hasattr(raw, "as_dict"):
        raw = raw.as_dict()
    if not isinstance(raw, dict):
        signals = listing.get("signals") if isinstance(listing.get("signals"), dict) else {}
        raw = signals.get("image") if isinstance(signals.get("image"), dict) else {}
    hit = dict(raw)
    if hit and not hit.get("listing_image_path"):
        images = [image for image in listing.get("images") or [] if isinstance(image, dict) and image.get("path")]
        wanted = hit.get("listing_image_url")
        chosen = next((image for image in images if wanted and image.get("url") == wanted), images[0] if images else None)
        if chosen is not None:
            hit["listing_image_path"] = chosen["path"]
    return hit


def has_picture(listing: dict[str, Any]) -> bool:
    """Whether the listing's image hit names both pictures (else there is nothing to compare)."""
    hit = image_hit_of(listing)
    return bool(hit.get("registered_image") and hit.get("listing_image_path"))


def comparison_source(listing: dict[str, Any], *, registry_dir: Path, images_store: str | Path | None,
                      report_dir: Path | None = None) -> ComparisonSource:
    """Both pictures of the listing's image hit, found and checked; raises :class:`PictureError` naming the
    path that is missing or outside where it may be."""
    hit = image_hit_of(listing)
    if not hit.get("registered_image") or not hit.get("listing_image_path"):
        raise PictureError("the image hit names no listing image or no registered image")
    roots = (images_store, report_dir, report_dir / "images" if report_dir is not None else None)
    listing_image = within(str(hit["listing_image_path"]), *roots)
    if listing_image is None:
        raise PictureError(f"listing image {hit['listing_image_path']!r} is not a file inside the images store "
                           "or the report folder")
    registered = within(str(hit["registered_image"]), registry_dir)
    if registered is None:
        raise PictureError(f"registered image {hit['registered_image']!r} is not a file inside the registry's "
                           "folder")
    distance = hit.get("distance")
    platform, listing_id = listing.get("platform"), listing.get("listing_id")
    return ComparisonSource(
        listing_image, registered, int(distance) if distance is not None else None, str(hit.get("stage") or ""),
        listing_label=f"{platform} {listing_id} · {listing.get('seller_name') or ''}".strip(" ·"),
        registered_label=str(hit["registered_image"]), title=str(listing.get("title") or ""),
        drawn=_report_picture(listing, report_dir),
    )


def _report_picture(listing: dict[str, Any], report_dir: Path | None) -> Path | None:
    """The picture the run's report drew of this listing (``image_evidence``), if it is one."""
    named = str(listing.get("image_evidence") or "")
    if not named or report_dir is None or not named.endswith(".png"):
        return None
    found = within(named, report_dir)  # named relative to the report folder, and only ever inside its pictures
    return found if found is not None and found.is_relative_to((report_dir / REPORT_FOLDER).resolve()) else None


def draw_comparison(source: ComparisonSource, out_path: Path, memo=None) -> Path:
    """Write the picture of ``source`` to ``out_path`` (the report's own picture of the pair, when it has
    one, or the one in ``memo``, is copied rather than drawn again); raises :class:`PictureError` saying why
    there is none."""
    from matchers.comparison import make_comparison
    from matchers.images import ImageError

    if source.distance is None:
        raise PictureError("the image hit has no distance")
    if not source.listing_image.is_file() or not source.registered_image.is_file():
        raise PictureError(f"image missing ({source.listing_image.name}, {source.registered_image.name})")
    if source.drawn is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.drawn, out_path)
        return out_path
    try:
        return make_comparison(source.listing_image, source.registered_image, out_path, distance=source.distance,
                               stage=source.stage, listing_label=source.listing_label,
                               registered_label=source.registered_label, title=source.title, memo=memo)
    except ImageError as error:
        raise PictureError(str(error)) from None
