"""What was found about one listing, gathered once by the scorer and read by every rule after it: the
judgement (``matchers.judge``), the score, the explanation (``matchers.explain``) and the output ``signals``."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from contract import ImageHit
from matchers.context import Context
from matchers.image_text import IN_IMAGE, ShownText
from matchers.price import PriceSignal
from matchers.sellers import StoreClaim
from matchers.text_fold import fold_with_origin
from matchers.text_hit import FUZZY, TextHit
from registry import Product, Trademark

# Which mention is cited when a title has several: the most deliberate disguise first (it leaves no doubt the
# seller meant the mark), then a plain mention, then the mark read in a picture, then a weak form.
KIND_STRENGTH = {
    "masked": 7,
    "spaced": 7,
    "homoglyph": 7,
    "digit": 7,
    "exact": 5,
    "alias": 5,
    "fullwidth": 5,
    "pinyin": 5,
    "traditional": 5,
    "split": 5,
    IN_IMAGE: 4,  # a title mention, when there is one, is what the complaint quotes
    "homophone": 1,
    FUZZY: 1,
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the rules look at for one listing that is not from an allow-listed seller."""

    listing: dict
    platform: str
    title: str
    hits: tuple[TextHit, ...]  # every mention: in the title (weak forms only when looked for) and in pictures
    citeable: tuple[TextHit, ...]  # of those, the marks that can be cited on this platform today
    expired: tuple[TextHit, ...]  # marks expired or not yet valid
    wrong_office: tuple[TextHit, ...]  # marks the platform does not accept (not CNIPA on Taobao/Tmall/1688)
    best: TextHit | None  # the mention that would be cited: the strongest citeable one
    shown: tuple[tuple[TextHit, ShownText], ...]  # marks read in the listing's pictures, with where
    image: ImageHit | None  # the best match of the listing's pictures against the registry's photos
    logo_mark: Trademark | None  # the mark whose logo the pictures show, on a confident logo hit
    price: PriceSignal | None  # the price against the reference (None when the price is not the goods')
    context: Context  # copy, look-alike, accessory, resale and price-note wording, and the goods' classes
    product: Product | None  # the registered product: by its photo, else by the title's keywords
    marks_cited: tuple[Trademark, ...]  # the marks that could be cited, the one to cite first
    unrelated: bool  # the goods are outside every mark that could be cited
    goods_related: bool  # the goods are of a class of a mark that could be cited
    store: StoreClaim | None  # the seller's name claims the brand's official store

    @property
    def goods(self) -> frozenset[int]:
        """Nice classes of the goods the title names."""
        return self.context.goods_classes


def best_hit(hits: tuple[TextHit, ...] | list[TextHit]) -> TextHit | None:
    """The mention to cite: the strongest kind, the earliest in the title among equals."""
    if not hits:
        return None
    return max(hits, key=lambda h: (KIND_STRENGTH.get(h.kind, 0), -h.start))


def folded_spans(title: str, hits: list[TextHit]) -> list[tuple[int, int]]:
    """Brand mentions as offsets into the folded title (context wording is matched there)."""
    _, origin = fold_with_origin(title)
    spans = []
    for h in hits:
        start = bisect.bisect_left(origin, h.start)
        end = bisect.bisect_left(origin, h.end)
        spans.append((start, end))
    return spans


def signals_of(evidence: Evidence) -> dict[str, Any]:
    """The signals, as the output contract lists them (and the second generation's: picture text, store claim),
    of a listing whose seller is not on the allow-list."""
    e, ctx = evidence, evidence.context
    signals: dict[str, Any] = {"seller_authorized": False}
    if e.best:
        signals["brand"] = {**e.best.as_dict(), "all": [h.as_dict() for h in e.hits]}
    elif e.hits:
        signals["brand"] = {
            **best_hit(e.hits).as_dict(),
            "all": [h.as_dict() for h in e.hits],
            "citeable": False,
        }
    if e.image:
        signals["image"] = _image_signal(e.image)
    if e.price:
        signals["price"] = e.price.as_dict()
    signals["counterfeit_terms"] = [h.text for h in ctx.counterfeit if h.kind == "counterfeit"]
    signals["lookalike_terms"] = [h.text for h in ctx.counterfeit if h.kind == "lookalike"]
    signals["accessory_terms"] = [h.text for h in ctx.accessory]
    signals["resale_terms"] = [h.text for h in ctx.resale]
    if ctx.price_notes:
        signals["price_not_for_goods"] = [h.text for h in ctx.price_notes]
    if e.goods:
        signals["goods_classes"] = sorted(e.goods)
    if e.unrelated:
        signals["unrelated_goods"] = True
    if e.expired:
        signals["expired_marks"] = sorted({h.trademark_id for h in e.expired})
    if e.wrong_office:
        signals["wrong_office_marks"] = sorted({h.trademark_id for h in e.wrong_office})
    if e.shown:
        signals["image_text"] = [{**h.as_dict(), **t.as_dict()} for h, t in e.shown]
    if e.store:
        signals["store_claim"] = e.store.as_dict()
    return signals


def _image_signal(image: ImageHit) -> dict[str, Any]:
    return {
        "product_id": image.product_id,
        "registered_image": image.registered_image,
        "distance": image.distance,
        "stage": image.stage,
        "confident": image.confident,
        "is_logo": image.is_logo,
    }
