"""``report.html`` (docs/contract.md §7): one self-contained page a reviewer opens next to ``review.csv``.

A card per flagged listing shows the listing image beside the matched registered image (thumbnails
embedded as ``data:`` URIs), the hash distance, the explanation, the price against the product's
reference price, the seller and the link. A small inline script filters by platform and verdict.

The page loads nothing from anywhere: its Content-Security-Policy allows only ``data:`` images and the
one inline script and stylesheet carrying this render's nonce. Everything from a listing is escaped by
Jinja2's autoescape, and only http(s) links are ever rendered.
"""

from __future__ import annotations

import base64
import inspect
import io
import secrets
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from PIL import Image, UnidentifiedImageError

from contract import FLAGGED
from contract.image_hit import is_confident
from exports.comparison_picture import image_hit_of
from exports.evidence import utc_now
from exports.review_csv import format_price, registration_number
from matchers.images.memo import Memo, content_digest
from matchers.signals import describe_image_stage

TEMPLATES = Path(__file__).with_name("templates")
THUMBNAIL_PX = 240


def thumbnail_data_uri(path: Path | None, size: int = THUMBNAIL_PX) -> str | None:
    """A small JPEG of the image as a ``data:`` URI, or None when it cannot be read."""
    if path is None or not path.is_file():
        return None
    try:
        return _thumbnail_of(path.read_bytes(), size)
    except OSError:
        return None


def _thumbnail_of(data: bytes, size: int) -> str | None:
    """A small JPEG of the picture ``data`` as a ``data:`` URI, or None when it does not decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=72, optimize=True)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _resolve(relative: Any, *roots: Path | None) -> Path | None:
    """An image named by the listings data, only if it lies inside one of ``roots``."""
    if not relative:
        return None
    from exports.comparison_picture import within

    return within(str(relative), *roots)


def _safe_link(url: Any) -> str | None:
    text = str(url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else None


def _recipe_of(function: Any) -> str:
    """A digest of ``function``'s source (its name alone where the source is not shipped)."""
    try:
        return content_digest(inspect.getsource(function).encode("utf-8"))
    except (OSError, TypeError):
        return function.__qualname__


# what decides a thumbnail besides the picture and its size: this module's drawing of it (the image memo's key
# holds Pillow's version too)
_THUMBNAIL_RECIPE = _recipe_of(_thumbnail_of)


class _Thumbnails:
    """Thumbnails cached by path: a registered image shown on many cards is encoded once. With an image memo
    (``memo_dir``), a picture's thumbnail is kept for the next run's report, keyed by its bytes and size: a
    daily report draws mostly the pictures of the day before (4 ms each, 2,000 cards at most)."""

    def __init__(self, size: int, memo_dir: Path | None = None) -> None:
        self.size = size
        self._cache: dict[Path, str | None] = {}
        self._memo = Memo(memo_dir, "thumbnail")

    def __call__(self, path: Path | None) -> str | None:
        if path is None:
            return None
        if path not in self._cache:
            self._cache[path] = self._draw(path)
        return self._cache[path]

    def _draw(self, path: Path) -> str | None:
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()  # read once: for the key and for the drawing
        except OSError:
            return None
        key = self._memo.key(_THUMBNAIL_RECIPE, content_digest(data), self.size)
        kept = self._memo.get(key)
        if isinstance(kept, str):
            return kept
        drawn = _thumbnail_of(data, self.size)
        if drawn is not None:
            self._memo.put(key, drawn)
        return drawn


def _reference_price(registry: Any, product_id: Any) -> Any:
    if registry is None or not product_id:
        return None
    try:
        return registry.product(str(product_id)).reference_price
    except (KeyError, LookupError):
        return None


def _price_line(listing: dict[str, Any], registry: Any) -> dict[str, str]:
    price = format_price(listing.get("price_min"), listing.get("price_max"))
    currency = str(listing.get("currency") or "")
    line = {"price": f"{price} {currency}".strip() if price else "unknown", "reference": "", "ratio": ""}
    reference = _reference_price(registry, listing.get("product_id"))
    if reference is not None:
        line["reference"] = f"{reference.amount:.2f} {reference.currency}"
        low = listing.get("price_min")
        if isinstance(low, int | float) and reference.amount and reference.currency == currency:
            line["ratio"] = f"{low / reference.amount:.0%} of reference"
    return line


def _card(
    listing: dict[str, Any],
    registry: Any,
    thumbs: _Thumbnails,
    images_store: Path | None,
    report_dir: Path | None,
) -> dict[str, Any]:
    hit = image_hit_of(listing)
    images = listing.get("images") or []
    listing_path = hit.get("listing_image_path") or (images[0].get("path") if images and isinstance(images[0], dict) else None)
    listing_image = thumbs(_resolve(listing_path, images_store, report_dir))
    registry_dir = Path(registry.path).parent if registry is not None and getattr(registry, "path", None) else None
    registered_label = ""
    registered_path = _resolve(hit.get("registered_image"), registry_dir)
    if registered_path is not None:
        registered_label = Path(str(hit.get("registered_image"))).name
    elif registry is not None and listing.get("product_id"):
        try:
            product_images = registry.product(str(listing["product_id"])).images
        except (KeyError, LookupError):
            product_images = ()
        if product_images:
            registered_path = Path(product_images[0])
            registered_label = f"{registered_path.name} (reference photo, no image match)"
    distance = hit.get("distance")
    return {
        "platform": str(listing.get("platform") or ""),
        "verdict": str(listing.get("verdict") or ""),
        "score": listing.get("score"),
        "reason": str(listing.get("reason") or ""),
        "listing_id": str(listing.get("listing_id") or ""),
        "title": str(listing.get("title") or ""),
        "link": _safe_link(listing.get("url")),
        "url": str(listing.get("url") or ""),
        "seller": str(listing.get("seller_name") or ""),
        "explanation": str(listing.get("explanation") or ""),
        "ipr_id": str(listing.get("ipr_id") or ""),
        "registration_number": registration_number(registry, listing.get("ipr_id")),
        "status": str(listing.get("status") or ""),
        "first_seen": str(listing.get("first_seen") or ""),
        "listing_image": listing_image,
        "registered_image": thumbs(registered_path),
        "registered_label": registered_label,
        "distance": "" if distance is None else str(distance),
        "stage": str(hit.get("stage") or ""),
        "stage_text": describe_image_stage(str(hit.get("stage"))) if hit.get("stage") else "",
        "confident": is_confident(hit),
        **_price_line(listing, registry),
    }


MAX_CARDS = 2_000  # a self-contained page with embedded pictures stays usable up to about this many cards


def _top_flagged(listings: Iterable[dict[str, Any]], limit: int):
    """(top ``limit`` flagged listings by score, counts per platform, counts per verdict, total flagged).

    One pass, memory bounded by ``limit``: the review CSV carries every row; the page shows the
    highest-scoring ones and says how many more there are."""
    import heapq

    heap: list[tuple[float, int, dict[str, Any]]] = []
    per_platform: Counter = Counter()
    per_verdict: Counter = Counter()
    total = 0
    for order, item in enumerate(listings):
        if item.get("verdict") not in FLAGGED:
            continue
        total += 1
        per_platform[str(item.get("platform") or "")] += 1
        per_verdict[str(item.get("verdict") or "")] += 1
        try:
            score = float(item.get("score") or 0)
        except (TypeError, ValueError):
            score = 0.0
        entry = (score, -order, item)
        if len(heap) < limit:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    return [item for _, _, item in heap], per_platform, per_verdict, total


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)


def report_template():
    """The page's template, compiled once per process (jinja compiles it again if the file changes)."""
    return _environment().get_template("report.html.j2")


def render_report_html(
    listings: Iterable[dict[str, Any]],
    *,
    registry: Any = None,
    images_store: str | Path | None = None,
    report_dir: str | Path | None = None,
    run_id: str = "",
    generated_at: str | None = None,
    thumbnail_px: int = THUMBNAIL_PX,
    max_cards: int = MAX_CARDS,
    sections: str = "",
    memo_dir: Path | None = None,
) -> str:
    """The report page as text. Only ``infringing`` and ``suspect`` listings get a card: the
    ``max_cards`` highest-scoring ones (the counts cover all of them). ``memo_dir``: the image memo's folder
    (``matchers.images.memo.memo_folder``), where the cards' thumbnails are kept for the next run."""
    thumbs = _Thumbnails(thumbnail_px, memo_dir)
    store = Path(images_store) if images_store else None
    folder = Path(report_dir) if report_dir else None
    top, per_platform, per_verdict, total = _top_flagged(listings, max_cards)
    cards = [_card(item, registry, thumbs, store, folder) for item in top]
    cards.sort(key=lambda card: (-float(card["score"] or 0), card["platform"], card["listing_id"]))
    return report_template().render(
        cards=cards,
        total_flagged=total,
        per_platform=sorted(per_platform.items()),
        per_verdict=sorted(per_verdict.items()),
        rights_holder=getattr(getattr(registry, "rights_holder", None), "name", ""),
        run_id=run_id,
        generated_at=generated_at or utc_now(),
        nonce=secrets.token_urlsafe(18),
        sections=Markup(sections),  # built by our own templates, escaped there (enforcement/report.py)
    )


def write_report_html(listings: Iterable[dict[str, Any]], path: str | Path, **options: Any) -> int:
    """Write ``report.html``; returns the number of cards. Options as for ``render_report_html``;
    ``report_dir`` defaults to the folder of ``path``. ``listings`` is read once (a generator is fine)."""
    path = Path(path)
    options.setdefault("report_dir", path.parent)
    page = render_report_html(listings, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return page.count('<article class="card ')
