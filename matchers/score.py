"""Judge one listing: score, verdict, IPP reason, the IPR to cite, and a sentence saying why.

Signals (each explained in the output ``signals``): a brand mention in the title (``matchers.text``), an image
hit (``matchers.signals.ImageHit``, from the image stage), counterfeit / look-alike / accessory / resale wording
(``matchers.context``), the price against the product's reference price (``matchers.price``), the goods' Nice
classes, and the seller allow-list.

Verdict rules, in order (precision first: IPP drops a rights holder whose complaints succeed < 90%):

1. Allow-listed seller (``registry.authorized_sellers``) → ``authorized``. Never anything else.
2. Only marks that can be cited count: valid today and, on Taobao/Tmall/1688, registered with CNIPA. A title
   that mentions only an expired or wrong-office mark is at most ``suspect``, and that mark is never cited.
3. A brand mention (not fuzzy) on goods of the mark's classes:
   - with compatibility wording next to it ("适用于LUMORA", "for VOLTA") → ``clean`` (nominative use), or
     ``suspect`` if it also admits a copy;
   - second-hand wording at a sane price → ``clean``;
   - admits a copy (高仿, replica, 1:1 …) or is disguised (LUM0RA, L U M O R A, Cyrillic letters, LUM*RA)
     → ``infringing`` / ``counterfeit``;
   - look-alike wording next to the mark (LUMORA同款, 平替, inspired by, dupe) → ``infringing`` /
     ``trademark_misuse``;
   - absurdly cheap → ``infringing`` / ``counterfeit``, but only when the goods are known to be the brand's kind
     (a product keyword, a registered photo, or goods words of the mark's classes) and the price is the goods'
     price (not a deposit, a shipping-fee link or a rental: ``data/price_terms.yaml``);
   - a registered product photo and a low price → ``infringing`` / ``counterfeit``;
   - otherwise (could be a genuine reseller or 代购) → ``suspect``.
   On goods outside every matched mark's classes (``data/goods_classes.yaml``): ``suspect`` with a disguise,
   look-alike wording or a registered photo, else ``clean`` (a mark protects only its classes; the same word may
   be someone else's mark there, and copy wording or a low price then speaks of their goods).
   An official store (a Tmall 旗舰店 name) that is not on the allow-list is never more than ``suspect``, unless its
   name is one character off the holder's own store's (an imposter, below).
   A mark that is also an ordinary word in the title's language (KESTREL the bird; ``matchers.forms``) counts
   only with product context: a product keyword, goods of the mark's classes, an image hit or the mark read in a
   picture, or copy wording on goods not outside them. Otherwise ``clean``, and the explanation says why the word
   was not taken as the mark.
4. Only a weak mention (a one-letter misspelling or a sound-alike of an alias) → with copy wording, an absurd
   price, the registered photo or logo: ``infringing``, citing the mark (look-alike wording: ``trademark_misuse``);
   alone, or on accessory / resale / unrelated goods, it is not taken as the mark and the listing is judged as
   if it named none (a photo still counts). Weak forms are looked for only when such a cue could stand beside
   them (wording, an image, picture text, or a price absurd even for the registry's dearest product).
5. No brand in the title, a registered product photo: ``infringing`` / ``stolen_image`` citing the product's
   copyright; ``suspect`` when the product has no copyright or the listing is an accessory / resale.
   A logo match with a copy cue or absurd price → ``infringing`` / ``counterfeit``; without → ``suspect``.
6. Anything else → ``clean`` (counterfeit wording without our mark, photo or logo is someone else's problem).

Text read in the listing's pictures (``listing["image_text"]``, from the OCR stage, ``matchers.image_text``) is run
through the same matcher: an ``in_image`` hit weighs as a plain title mention (a title hit, when there is one, is
the one cited), so a generic title with copy wording or an absurd price and the mark in the photo is
``infringing``, citing the trademark; the text, its box and its picture are kept in ``signals["image_text"]``.
``Scorer.needs_image_text(result)`` tells the OCR stage whether reading the pictures could still matter.

Imposter stores (``matchers.sellers``): a seller not on the allow-list whose name claims the brand's official or
flagship store (旗舰店, 官方, "official store"...) → ``infringing`` / ``trademark_misuse`` where the claim cannot be
true (Taobao C-shop, 1688, Alibaba.com) or the name is one character off an authorized store's; ``suspect``
otherwise (Tmall) or on goods outside the mark's classes. It only raises a verdict, never lowers one.

Which mark is cited: among the citeable marks that matched, the matched product's own marks first (in the order
the product lists them), then marks whose classes cover the goods words, then ``office_preference`` in
``data/scoring.yaml`` (CNIPA first), then registry order.

The score (0..100) is a transparent sum of weights from ``data/scoring.yaml``. An ``infringing`` rule also needs
the score to reach ``thresholds.infringing`` (else ``suspect``); the score is then kept inside its verdict's band.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from contract import CitationProblem, ImageHit, Reason, Verdict, citation_status
from matchers import forms
from matchers.context import Context, ContextMatcher
from matchers.image_text import IN_IMAGE, ShownText, describe_box, picture_name, read_image_text
from matchers.price import PriceJudge, PriceSignal
from matchers.registry import Product, Registry, Trademark, today_utc
from matchers.sellers import StoreCheck, StoreClaim
from matchers.signals import PLAIN_IMAGE_STAGES, describe_image_stage
from matchers.text import (
    ALIAS,
    EVASIVE_KINDS,
    EXACT,
    FUZZY,
    TRADITIONAL,
    WEAK_KINDS,
    MarkMatcher,
    TextHit,
    fold,
    fold_with_origin,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
INFRINGING, SUSPECT, AUTHORIZED, CLEAN = Verdict.INFRINGING, Verdict.SUSPECT, Verdict.AUTHORIZED, Verdict.CLEAN
COUNTERFEIT, TRADEMARK_MISUSE, STOLEN_IMAGE = Reason.COUNTERFEIT, Reason.TRADEMARK_MISUSE, Reason.STOLEN_IMAGE

_KIND_STRENGTH = {
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
# Kinds that can be an ordinary word written plainly ("kestrel" the bird); a disguise is never ordinary use.
_PLAIN_KINDS = frozenset({EXACT, ALIAS, TRADITIONAL, IN_IMAGE})
_NOTHING_FOUND = "no registered mark, photo or counterfeit wording found"
_WEAK_NAMES = {FUZZY: "a one-letter misspelling", "homophone": "a sound-alike"}


@lru_cache(maxsize=1)
def default_config() -> dict:
    with (DATA_DIR / "scoring.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


@dataclass
class _Judgement:
    verdict: str
    reason: str = ""
    ipr_id: str = ""
    note: str = ""


class Scorer:
    def __init__(
        self,
        registry: Registry,
        thresholds: dict | None = None,
        *,
        rates: dict[str, float] | None = None,
        today: date | None = None,
    ):
        """``thresholds``: overrides merged into ``data/scoring.yaml`` (either the full nesting,
        e.g. ``{"weights": {...}}``, or just the ``thresholds`` section, e.g. ``{"infringing": 75}``)."""
        self.registry = registry
        overrides = thresholds or {}
        if overrides and not set(overrides) & {"weights", "thresholds", "price", "office_preference"}:
            overrides = {"thresholds": overrides}
        self.config = _merge(default_config(), overrides)
        self.weights = self.config["weights"]
        self.thresholds = self.config["thresholds"]
        self.today = today or today_utc()
        self.marks = MarkMatcher.from_registry(registry)
        self.stores = StoreCheck(registry, self.marks)
        # marks and aliases that are also ordinary words, by folded term: {"kestrel": "en", "红隼": "zh"}
        self._ordinary = {
            fold(term).strip(): lang
            for term, lang in forms.ordinary_words(t for tm in registry.trademarks for t in tm.terms).items()
        }
        self.context = ContextMatcher.default()
        self.price = PriceJudge(rates, **self.config.get("price", {}))
        # the dearest reference price: a listing not absurdly cheap against it is not absurdly cheap at all
        references = [p.reference_price for p in registry.products if p.reference_price]
        in_cny = [(self.price.convert(m.amount, m.currency, "CNY") or 0.0, m) for m in references]
        self._dearest = max(in_cny, key=lambda pair: pair[0])[1] if in_cny else None
        self.office_rank = {o: i for i, o in enumerate(self.config.get("office_preference", []))}
        self._keywords = {
            p.id: tuple(k for k in {fold(k).strip() for k in p.keywords} if k) for p in registry.products
        }
        self._mark_order = {tm.id: i for i, tm in enumerate(registry.trademarks)}
        self._products_of_mark: dict[str, list[Product]] = {}
        for p in registry.products:
            for tm_id in p.trademarks:
                self._products_of_mark.setdefault(tm_id, []).append(p)
        # a logo hit names its image registry-relative, or absolute when outside the registry folder
        self._logo_marks: dict[str, Trademark] = {}
        for tm in registry.trademarks:
            if tm.logo is not None:
                for key in (_rel(tm.logo, registry.path.parent), tm.logo.as_posix(), tm.logo.name):
                    self._logo_marks.setdefault(key, tm)

    # -----------------------------------------------------------------------------------------
    def score(self, listing: dict, image_hit: ImageHit | dict | None = None) -> dict:
        registry = self.registry
        title = str(listing.get("title") or "")
        platform = str(listing.get("platform") or "")
        image = ImageHit.from_dict(image_hit)
        signals: dict[str, Any] = {}

        if registry.is_authorized(platform, str(listing.get("seller_name") or "")):
            signals["seller_authorized"] = True
            return self._result(
                0,
                _Judgement(AUTHORIZED),
                "",
                signals,
                f"seller '{listing.get('seller_name')}' is on the allow-list",
            )
        signals["seller_authorized"] = False
        store = self.stores.check(platform, str(listing.get("seller_name") or ""))

        folded = fold(title)
        hits = self.marks.find(title, folded=folded, fuzzy=False)
        spans = _folded_spans(title, hits) if hits else []
        ctx = self.context.find(title, spans, folded=folded)
        if not hits and self._weak_could_count(listing, ctx, image):
            # misspellings and sound-alikes: weak, they only count beside a cue (a price included)
            hits = self.marks.find_weak(title, folded=folded)
        shown = self._shown_marks(listing)
        if shown:
            hits = hits + [h for h, _ in shown]
        citeable, expired, wrong_office = self._split_hits(hits, platform)
        goods = ctx.goods_classes
        product = self._product(folded, image, citeable or hits) if (hits or image) else None
        strong = [h for h in citeable if h.kind not in WEAK_KINDS]
        best = _best_hit(strong or citeable)
        # a deposit, a shipping-fee link or a rental says nothing about what the goods cost
        price = None if ctx.price_notes else self._price(listing, product, citeable or hits)
        marks_cited = self._rank_marks({h.trademark_id for h in strong or citeable}, product, goods)
        unrelated = (
            bool(goods) and bool(marks_cited) and not any(goods & set(tm.classes) for tm in marks_cited)
        )
        logo_mark = self._logo_mark(image)

        _fill_signals(signals, best, hits, image, price, ctx, unrelated, expired, wrong_office, shown, store)

        goods_related = bool(goods) and any(goods & set(tm.classes) for tm in marks_cited)
        shown_too = bool(shown) and best is not None and best.kind != IN_IMAGE
        ordinary = self._ordinary_use(title, best, product, goods_related, unrelated, image or shown_too, ctx)
        if ordinary:
            signals["ordinary_word"] = ordinary
            judgement = _Judgement(CLEAN, note=ordinary)
        else:
            judgement = self._judge(
                listing,
                best,
                image,
                ctx,
                price,
                unrelated,
                product,
                marks_cited,
                logo_mark,
                hits,
                goods_related,
            )
        weak_taken = bool(best and best.kind in WEAK_KINDS and judgement.verdict == INFRINGING)
        points = self._points(best, image, ctx, price, unrelated, weak_taken)
        if store:
            judgement, points = self._store_judgement(store, judgement, points, platform, unrelated, goods)
        judgement = self._gate(judgement, points, listing, store)
        explanation = self._explain(
            listing,
            best,
            hits,
            image,
            ctx,
            price,
            unrelated,
            goods,
            marks_cited,
            expired,
            wrong_office,
            judgement,
            platform,
        )
        extra = self._explain_more(listing, best, shown, store, judgement)
        if extra:
            explanation = extra if explanation == _NOTHING_FOUND else f"{explanation}; {extra}"
        return self._result(points, judgement, product.id if product else "", signals, explanation)

    def _gate(
        self, judgement: _Judgement, points: float, listing: dict, store: StoreClaim | None
    ) -> _Judgement:
        """An ``infringing`` rule also needs the score; an official store not on the list goes to a human."""
        if judgement.verdict == INFRINGING and points < float(self.thresholds["infringing"]):
            return _Judgement(
                SUSPECT, judgement.reason, judgement.ipr_id, "evidence below the infringing threshold"
            )
        copied_store = store is not None and bool(store.near_copy_of)
        if judgement.verdict == INFRINGING and listing.get("is_official_store") and not copied_store:
            # an official store the holder did not list: a human decides (but a name one character off the
            # holder's own flagship is a copy, whatever the platform's store badge says)
            return _Judgement(
                SUSPECT, judgement.reason, judgement.ipr_id, "official store not on the allow-list"
            )
        return judgement

    def _weak_could_count(self, listing: dict, ctx: Context, image: ImageHit | None) -> bool:
        """Whether a misspelling or sound-alike could find a cue to stand on: wording, an image, picture text,
        or a price below the absurd line of even the registry's dearest product. Else it is not looked for."""
        if ctx.counterfeit or image is not None or listing.get("image_text"):
            return True
        if self._dearest is None or ctx.price_notes:
            return False
        price = self.price.judge(listing, self._dearest)
        return price is not None and price.band == "absurd"

    @staticmethod
    def needs_image_text(result: dict) -> bool:
        """Whether reading the listing's pictures (OCR) could still change its verdict.

        False when the words already decide: the seller is on the allow-list; the title names a citeable mark
        plainly or in a disguise (the mark in a picture adds nothing to that: the title is what is cited), unless
        the word was read in its ordinary sense; or the store name is a strong imposter claim and the verdict
        is ``infringing``. True otherwise: no mark, a weak form only (a misspelling, a sound-alike), an ordinary
        word, or a verdict decided by a photo alone: the pictures may show the mark. The image stage calls it
        to skip OCR where it cannot help, then puts the text on ``listing["image_text"]`` and calls
        ``Scorer.score`` again."""
        verdict = result.get("verdict")
        if verdict == AUTHORIZED:
            return False
        signals = result.get("signals") or {}
        brand = signals.get("brand") or {}
        plain_in_title = (
            bool(brand)
            and brand.get("kind") not in (IN_IMAGE, *WEAK_KINDS)
            and brand.get("citeable", True)
            and not signals.get("ordinary_word")
        )
        strong_store = verdict == INFRINGING and bool((signals.get("store_claim") or {}).get("strong"))
        return not (plain_in_title or strong_store)

    def _shown_marks(self, listing: dict) -> list[tuple[TextHit, ShownText]]:
        """Marks in the text read from the listing's pictures, as ``in_image`` hits (weak forms left out)."""
        if not listing.get("image_text"):
            return []
        texts = read_image_text(
            listing.get("image_text"), float(self.thresholds.get("image_text_confidence", 0.6))
        )
        out = []
        for shown in texts:
            for h in self.marks.find(shown.text, fuzzy=False):
                tricks = tuple(dict.fromkeys((h.kind, *h.tricks)))
                out.append((dataclasses.replace(h, kind=IN_IMAGE, tricks=tricks), shown))
        return out

    def _ordinary_use(self, title, best, product, goods_related, unrelated, image, ctx) -> str:
        """Why a mark that is also an ordinary word was read in its ordinary sense ("" when it was not).

        The word counts as the mark only with product context: one of the product's keywords (a product was
        named), goods of the mark's classes, an image hit or the mark read in a picture (``image``), or
        counterfeit wording on goods not outside them."""
        if not self._ordinary or not best or best.kind not in _PLAIN_KINDS:
            return ""
        lang = self._ordinary.get(fold(best.term).strip())
        if not lang or lang != forms.title_language(title):
            return ""
        admits_copy = ctx.counterfeit_weight >= self.thresholds["counterfeit_term"]
        if product is not None or goods_related or image or (admits_copy and not unrelated):
            return ""
        language = {"en": "English", "zh": "Chinese"}[lang]
        tm = self.registry.trademark(best.trademark_id)
        goods = "goods outside its classes" if unrelated else "no goods of its classes"
        return (
            f"'{best.text}' is an ordinary {language} word: not taken as the mark {tm.mark}, as the title has "
            f"{goods} ({', '.join(str(c) for c in tm.classes)}), no product keyword, no counterfeit wording "
            "and no image match"
        )

    def _store_judgement(self, store: StoreClaim, judgement, points, platform, unrelated, goods):
        """An imposter store name is trademark misuse: infringing where its claim cannot be true or it copies
        the authorized store's name, a question for a human otherwise (and on goods outside the mark)."""
        marks = [
            tm
            for tm in self._rank_marks(set(store.trademark_ids), None, goods)
            if tm.can_be_cited_on(platform, self.today)
        ]
        if not marks or judgement.verdict == INFRINGING:
            return judgement, points
        w = self.weights.get("imposter_store", {})
        points = min(100.0, points + float(w.get("strong" if store.strong else "weak", 0)))
        if unrelated:
            goods_ok = any(goods & set(tm.classes) for tm in marks)
            if not goods_ok:
                return _Judgement(SUSPECT, TRADEMARK_MISUSE, marks[0].id), points
        if store.strong:
            return _Judgement(INFRINGING, TRADEMARK_MISUSE, marks[0].id), points
        return _Judgement(SUSPECT, TRADEMARK_MISUSE, marks[0].id), points

    @staticmethod
    def _explain_more(listing, best, shown, store, judgement) -> str:
        if not shown and not store and not (best and best.kind in WEAK_KINDS):
            return ""
        parts = []
        for hit, text in shown:
            where = describe_box(text.box)
            form = "" if hit.tricks[:1] == (EXACT,) else f" ({hit.describe().split('(', 1)[-1]}"
            said = f"{picture_name(listing, text.image)} shows '{hit.text}'{form}"
            parts.append(f"{said} {where}".strip())
        if store:
            parts.append(store.why)
        if best and best.kind in WEAK_KINDS and judgement.verdict != INFRINGING:
            parts.append(f"{_WEAK_NAMES[best.kind]} alone is not taken as the mark")
        return "; ".join(dict.fromkeys(parts))

    # -----------------------------------------------------------------------------------------
    def _split_hits(self, hits: list[TextHit], platform: str):
        citeable, expired, wrong_office = [], [], []
        for h in hits:
            problem = citation_status(self.registry.trademark(h.trademark_id), platform, self.today)
            if problem in (CitationProblem.EXPIRED, CitationProblem.NOT_YET_VALID):
                expired.append(h)
            elif problem is CitationProblem.WRONG_OFFICE:
                wrong_office.append(h)
            else:
                citeable.append(h)
        # a mark that also matched as citeable is not "wrong office" for the explanation
        ok = {h.trademark_id for h in citeable}
        ok_terms = {h.term for h in citeable}
        wrong_office = [h for h in wrong_office if h.trademark_id not in ok and h.term not in ok_terms]
        expired = [h for h in expired if h.term not in ok_terms]
        return citeable, expired, wrong_office

    def _product(self, folded: str, image: ImageHit | None, hits: list[TextHit]) -> Product | None:
        """The registered photo's product, else the product of a mentioned mark whose keywords the title has."""
        if image and image.product_id and not image.is_logo:
            try:
                return self.registry.product(image.product_id)
            except KeyError:
                pass
        best, best_n = None, 0
        seen: set[str] = set()
        for tm_id in dict.fromkeys(h.trademark_id for h in hits):
            for product in self._products_of_mark.get(tm_id, ()):
                if product.id in seen:
                    continue
                seen.add(product.id)
                n = sum(1 for k in self._keywords[product.id] if k in folded)
                if n > best_n:
                    best, best_n = product, n
        return best

    def _price(self, listing: dict, product: Product | None, hits: list[TextHit]) -> PriceSignal | None:
        if product and product.reference_price:
            return self.price.judge(listing, product.reference_price)
        # No product named: compare with the brand's cheapest product, so "absurd" holds for any of them.
        refs = []
        for tm_id in {h.trademark_id for h in hits}:
            for p in self._products_of_mark.get(tm_id, ()):
                if p.reference_price:
                    judged = self.price.judge(listing, p.reference_price)
                    if judged:
                        refs.append(judged)
        return max(refs, key=lambda s: s.ratio) if refs else None

    def _rank_marks(self, ids: set[str], product: Product | None, goods: frozenset[int]) -> list[Trademark]:
        marks = [self.registry.trademark(i) for i in ids]
        order = self._mark_order
        product_marks = list(product.trademarks) if product else []

        def key(tm: Trademark):
            return (
                product_marks.index(tm.id) if tm.id in product_marks else len(product_marks),
                0 if not goods or goods & set(tm.classes) else 1,
                self.office_rank.get(tm.office, len(self.office_rank)),
                order[tm.id],
            )

        return sorted(marks, key=key)

    def _logo_mark(self, image: ImageHit | None) -> Trademark | None:
        if not image or not image.is_logo or not image.confident:
            return None
        tm = self._logo_marks.get(image.registered_image) or self._logo_marks.get(
            Path(image.registered_image).name
        )
        return tm

    def _points(self, best, image, ctx: Context, price, unrelated, weak_taken: bool = False) -> float:
        w = self.weights
        points = 0.0
        if best:
            # a misspelling or sound-alike with a cue beside it is cited as the mark, and weighs as one
            points += w["brand"].get("weak_corroborated" if weak_taken else best.kind, 0)
        if image:
            if image.is_logo:
                points += w["image"]["logo"] if image.confident else w["image"]["near"]
            else:
                points += w["image"]["confident"] if image.confident else w["image"]["near"]
        points += w["counterfeit_term"] * ctx.counterfeit_weight
        points += w["lookalike_term"] * ctx.lookalike_weight
        if price and (best or image):
            points += w["price"].get(price.band, 0)
        if ctx.accessory:
            points += w["accessory"]
        if ctx.resale and (not price or price.band != "absurd"):
            points += w["resale"]
        if unrelated:
            points += w["unrelated_goods"]
        return max(0.0, min(100.0, points))

    def _judge(
        self,
        listing,
        best,
        image,
        ctx,
        price,
        unrelated,
        product,
        marks_cited,
        logo_mark,
        hits,
        goods_related,
    ) -> _Judgement:
        t = self.thresholds
        admits_copy = ctx.counterfeit_weight >= t["counterfeit_term"]
        lookalike = ctx.lookalike_weight >= t["lookalike_term"]
        photo = image is not None and image.confident and not image.is_logo
        # A price says something only about goods we know the reference for: a named product, a registered
        # photo, or goods of the mark's classes (a cheap phone case is not a cheap jacket).
        goods_known = product is not None or photo or (goods_related and not unrelated)
        absurd = goods_known and price is not None and price.band == "absurd"
        low = goods_known and price is not None and price.band in ("absurd", "low")
        ipr = marks_cited[0].id if marks_cited else ""

        if best and best.kind not in WEAK_KINDS:
            if unrelated:
                # the same word may be someone else's mark on these goods, and copy wording or a low price then
                # says something about their goods, not ours: only a disguise, look-alike wording or our own
                # photo is worth a human's look
                cue = lookalike or best.kind in EVASIVE_KINDS or photo
                return _Judgement(SUSPECT if cue else CLEAN, COUNTERFEIT if cue else "", ipr if cue else "")
            if ctx.accessory:
                return _Judgement(SUSPECT, COUNTERFEIT, ipr) if admits_copy else _Judgement(CLEAN)
            if ctx.resale and not admits_copy:
                return _Judgement(SUSPECT, COUNTERFEIT, ipr) if absurd else _Judgement(CLEAN)
            if admits_copy or best.kind in EVASIVE_KINDS:
                return _Judgement(INFRINGING, COUNTERFEIT, ipr)
            if lookalike:
                return _Judgement(INFRINGING, TRADEMARK_MISUSE, ipr)
            if absurd:
                return _Judgement(INFRINGING, COUNTERFEIT, ipr)
            if photo and low:
                return _Judgement(INFRINGING, COUNTERFEIT, ipr)
            return _Judgement(SUSPECT, COUNTERFEIT, ipr)
        if best:  # a misspelling or a sound-alike only: it counts as the mark with a cue beside it
            if not (unrelated or ctx.accessory or ctx.resale):
                if admits_copy or photo or absurd or logo_mark is not None:
                    return _Judgement(INFRINGING, COUNTERFEIT, ipr)
                if lookalike:
                    return _Judgement(INFRINGING, TRADEMARK_MISUSE, ipr)
            # not taken as the mark: the listing is judged as if it named no mark (a photo still counts)
            hits = [h for h in hits if h.kind not in WEAK_KINDS]
        if hits:  # only expired / wrong-office marks mention the brand
            cue = admits_copy or lookalike or photo or absurd or any(h.kind in EVASIVE_KINDS for h in hits)
            if photo and product and product.copyright and not (ctx.accessory or ctx.resale):
                return _Judgement(INFRINGING, STOLEN_IMAGE, product.copyright)
            return _Judgement(SUSPECT) if cue else _Judgement(CLEAN)
        if photo:
            if ctx.accessory or ctx.resale or not product or not product.copyright:
                return _Judgement(
                    SUSPECT, STOLEN_IMAGE, product.copyright if product and product.copyright else ""
                )
            return _Judgement(INFRINGING, STOLEN_IMAGE, product.copyright)
        if logo_mark is not None:
            platform = str(listing.get("platform") or "")
            if logo_mark.can_be_cited_on(platform, self.today):
                if admits_copy or absurd:
                    return _Judgement(INFRINGING, COUNTERFEIT, logo_mark.id)
                return _Judgement(SUSPECT, COUNTERFEIT, logo_mark.id)
            return _Judgement(SUSPECT)
        if image is not None:  # a weaker image hit: a human should look
            return _Judgement(SUSPECT)
        return _Judgement(CLEAN)

    def _explain(
        self,
        listing,
        best,
        hits,
        image,
        ctx,
        price,
        unrelated,
        goods,
        marks_cited,
        expired,
        wrong_office,
        judgement,
        platform,
    ) -> str:
        parts: list[str] = []
        if best:
            parts.append(f"title has {best.describe()}")
        elif hits:
            parts.append(f"title has {_best_hit(hits).describe()}")
        if expired:
            ids = sorted({h.trademark_id for h in expired})
            days = ", ".join(f"{i} expired {self.registry.trademark(i).valid_until}" for i in ids)
            parts.append(f"mark not citable ({days})")
        if wrong_office and not best:
            ids = sorted({h.trademark_id for h in wrong_office})
            offices = ", ".join(f"{i} is {self.registry.trademark(i).office}" for i in ids)
            parts.append(f"{offices}; {platform} accepts only CNIPA marks")
        if image:
            which = "main image" if _is_main_image(listing, image) else "a listing image"
            what = "logo" if image.is_logo else Path(image.registered_image).name
            strength = "matches" if image.confident else "resembles"
            how = "" if image.stage in PLAIN_IMAGE_STAGES else f"; {describe_image_stage(image.stage)}"
            parts.append(f"{which} {strength} {what} (distance {image.distance}{how})")
        if price and (best or hits or image):
            parts.append(price.describe())
        if ctx.counterfeit:
            parts.append("says " + ", ".join(dict.fromkeys(h.text for h in ctx.counterfeit)))
        if ctx.accessory:
            parts.append(
                "compatibility wording " + ", ".join(dict.fromkeys(f"'{h.text}'" for h in ctx.accessory))
            )
        if ctx.price_notes and (best or hits or image):
            parts.append("price ignored (" + ", ".join(dict.fromkeys(h.text for h in ctx.price_notes)) + ")")
        if ctx.resale:
            parts.append("second-hand wording " + ", ".join(dict.fromkeys(h.text for h in ctx.resale)))
        if unrelated and marks_cited:
            classes = ", ".join(str(c) for c in sorted(goods))
            parts.append(
                f"goods (class {classes}) outside {marks_cited[0].id}'s classes "
                f"{', '.join(str(c) for c in marks_cited[0].classes)}"
            )
        if judgement.verdict == SUSPECT and judgement.reason == STOLEN_IMAGE and not judgement.ipr_id:
            parts.append("product has no registered copyright to cite")
        if judgement.note:
            parts.append(judgement.note)
        if not parts:
            return _NOTHING_FOUND
        return "; ".join(parts)

    def _result(
        self, points: float, judgement: _Judgement, product_id: str, signals: dict, explanation: str
    ) -> dict:
        t = self.thresholds
        hi, lo = float(t["infringing"]), float(t["suspect"])
        if judgement.verdict == INFRINGING:
            points = max(points, hi)
        elif judgement.verdict == SUSPECT:
            points = min(max(points, lo), hi - 1)
        else:
            points = min(points, lo - 1)
        return {
            "score": round(points),
            "verdict": judgement.verdict,
            "reason": judgement.reason if judgement.verdict in (INFRINGING, SUSPECT) else "",
            "ipr_id": judgement.ipr_id if judgement.verdict in (INFRINGING, SUSPECT) else "",
            "product_id": product_id,
            "signals": signals,
            "explanation": explanation,
        }


def _fill_signals(
    signals, best, hits, image, price, ctx, unrelated, expired, wrong_office, shown, store
) -> None:
    """The signals, as the output contract lists them (and the second generation's: picture text, store claim)."""
    goods = ctx.goods_classes
    if best:
        signals["brand"] = {**best.as_dict(), "all": [h.as_dict() for h in hits]}
    elif hits:
        signals["brand"] = {
            **_best_hit(hits).as_dict(),
            "all": [h.as_dict() for h in hits],
            "citeable": False,
        }
    if image:
        signals["image"] = {
            "product_id": image.product_id,
            "registered_image": image.registered_image,
            "distance": image.distance,
            "stage": image.stage,
            "confident": image.confident,
            "is_logo": image.is_logo,
        }
    if price:
        signals["price"] = price.as_dict()
    signals["counterfeit_terms"] = [h.text for h in ctx.counterfeit if h.kind == "counterfeit"]
    signals["lookalike_terms"] = [h.text for h in ctx.counterfeit if h.kind == "lookalike"]
    signals["accessory_terms"] = [h.text for h in ctx.accessory]
    signals["resale_terms"] = [h.text for h in ctx.resale]
    if ctx.price_notes:
        signals["price_not_for_goods"] = [h.text for h in ctx.price_notes]
    if goods:
        signals["goods_classes"] = sorted(goods)
    if unrelated:
        signals["unrelated_goods"] = True
    if expired:
        signals["expired_marks"] = sorted({h.trademark_id for h in expired})
    if wrong_office:
        signals["wrong_office_marks"] = sorted({h.trademark_id for h in wrong_office})
    if shown:
        signals["image_text"] = [{**h.as_dict(), **t.as_dict()} for h, t in shown]
    if store:
        signals["store_claim"] = store.as_dict()


def _best_hit(hits: list[TextHit]) -> TextHit | None:
    if not hits:
        return None
    return max(hits, key=lambda h: (_KIND_STRENGTH.get(h.kind, 0), -h.start))


def _folded_spans(title: str, hits: list[TextHit]) -> list[tuple[int, int]]:
    """Brand mentions as offsets into the folded title (context wording is matched there)."""
    _, origin = fold_with_origin(title)
    spans = []
    for h in hits:
        start = bisect.bisect_left(origin, h.start)
        end = bisect.bisect_left(origin, h.end)
        spans.append((start, end))
    return spans


def _is_main_image(listing: dict, image: ImageHit) -> bool:
    urls = listing.get("image_urls") or []
    return bool(urls) and urls[0] == image.listing_image_url


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()
