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

The rules are written out, in order, in ``matchers.judge`` (the verdict), ``matchers.explain`` (the sentence) and
``matchers.listing_evidence`` (what is gathered once per listing and handed to both).

The score (0..100) is a transparent sum of weights from ``data/scoring.yaml``. An ``infringing`` rule also needs
the score to reach ``thresholds.infringing`` (else ``suspect``); the score is then kept inside its verdict's band.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from datetime import date
from functools import lru_cache
from pathlib import Path

from contract import FLAGGED, CitationProblem, ImageHit, Reason, Verdict, citation_status
from contract.data import load_yaml
from matchers import forms
from matchers.context import Context, ContextMatcher
from matchers.explain import explain
from matchers.image_text import IN_IMAGE, ShownText, read_image_text
from matchers.judge import Judgement, gate, judge, judge_store
from matchers.listing_evidence import Evidence, best_hit, folded_spans, signals_of
from matchers.price import PriceJudge, PriceSignal
from matchers.sellers import StoreCheck
from matchers.text import MarkMatcher
from matchers.text_fold import fold
from matchers.text_hit import ALIAS, EXACT, TRADITIONAL, WEAK_KINDS, TextHit
from registry import Product, Registry, Trademark, today_utc

DATA_DIR = Path(__file__).resolve().parent / "data"
# Kinds that can be an ordinary word written plainly ("kestrel" the bird); a disguise is never ordinary use.
_PLAIN_KINDS = frozenset({EXACT, ALIAS, TRADITIONAL, IN_IMAGE})


@lru_cache(maxsize=1)
def default_config() -> dict:
    with (DATA_DIR / "scoring.yaml").open(encoding="utf-8") as fh:
        return load_yaml(fh)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


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
        self._citations: dict[tuple[str, str], CitationProblem | None] = {}
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
        """Judge one listing: the ``SCORE_FIELDS`` (score, verdict, reason, ipr_id, product_id, signals,
        explanation). ``image_hit``: the best match of its pictures against the registry's photos, if any.

        The steps: an allow-listed seller is ``authorized`` and nothing else; otherwise the evidence is gathered
        once (``gather``); a mark that is also an ordinary word, read in its ordinary sense, is ``clean``; else the
        verdict rules decide (``matchers.judge.judge``); the score is summed; an imposter store name may raise
        both; the gate sends an ``infringing`` to a human when the score falls short or the seller is an official
        store not on the allow-list (``matchers.judge.gate``); and the explanation says why
        (``matchers.explain.explain``)."""
        image = ImageHit.from_dict(image_hit)
        seller = str(listing.get("seller_name") or "")
        if self.registry.is_authorized(str(listing.get("platform") or ""), seller):
            why = f"seller '{listing.get('seller_name')}' is on the allow-list"
            return self._result(0, Judgement(Verdict.AUTHORIZED), "", {"seller_authorized": True}, why)
        e = self.gather(listing, image)
        signals = signals_of(e)
        ordinary = self._ordinary_use(e)
        if ordinary:
            signals["ordinary_word"] = ordinary
            judgement = Judgement(Verdict.CLEAN, note=ordinary)
        else:
            judgement = judge(e, self.thresholds, self.today)
        weak_taken = bool(e.best and e.best.kind in WEAK_KINDS and judgement.verdict == Verdict.INFRINGING)
        points = self._points(e, weak_taken)
        if e.store:
            judgement, points = self._weigh_store(e, judgement, points)
        judgement = gate(judgement, points, e, self.thresholds)
        product_id = e.product.id if e.product else ""
        return self._result(points, judgement, product_id, signals, explain(e, judgement, self.registry))

    def gather(self, listing: dict, image: ImageHit | None) -> Evidence:
        """What the rules look at, found once: the store name's claim; the marks in the title (weak forms only
        where a cue could stand beside them) and in the pictures' text, split by whether they can be cited; the
        wording; the product; the price against its reference; the marks to cite, ranked; the goods' classes
        against theirs; the logo a confident logo hit shows."""
        title = str(listing.get("title") or "")
        platform = str(listing.get("platform") or "")
        store = self.stores.check(platform, str(listing.get("seller_name") or ""))
        folded = fold(title)
        hits = self.marks.find(title, folded=folded, fuzzy=False)
        ctx = self.context.find(title, folded_spans(title, hits) if hits else [], folded=folded)
        if not hits and self._weak_could_count(listing, ctx, image):
            # misspellings and sound-alikes: weak, they only count beside a cue (a price included)
            hits = self.marks.find_weak(title, folded=folded)
        shown = self._shown_marks(listing)
        if shown:
            hits = hits + [h for h, _ in shown]
        citeable, expired, wrong_office = self._split_hits(hits, platform)
        product = self._product(folded, image, citeable or hits) if (hits or image) else None
        strong = [h for h in citeable if h.kind not in WEAK_KINDS]
        # a deposit, a shipping-fee link or a rental says nothing about what the goods cost
        price = None if ctx.price_notes else self._price(listing, product, citeable or hits)
        goods = ctx.goods_classes
        marks_cited = self._rank_marks({h.trademark_id for h in strong or citeable}, product, goods)
        in_classes = any(goods & set(tm.classes) for tm in marks_cited)
        return Evidence(
            listing=listing,
            platform=platform,
            title=title,
            hits=tuple(hits),
            citeable=tuple(citeable),
            expired=tuple(expired),
            wrong_office=tuple(wrong_office),
            best=best_hit(strong or citeable),
            shown=tuple(shown),
            image=image,
            logo_mark=self._logo_mark(image),
            price=price,
            context=ctx,
            product=product,
            marks_cited=tuple(marks_cited),
            unrelated=bool(goods) and bool(marks_cited) and not in_classes,
            goods_related=bool(goods) and in_classes,
            store=store,
        )

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
        if verdict == Verdict.AUTHORIZED:
            return False
        signals = result.get("signals") or {}
        brand = signals.get("brand") or {}
        plain_in_title = (
            bool(brand)
            and brand.get("kind") not in (IN_IMAGE, *WEAK_KINDS)
            and brand.get("citeable", True)
            and not signals.get("ordinary_word")
        )
        strong_store = verdict == Verdict.INFRINGING and bool(
            (signals.get("store_claim") or {}).get("strong")
        )
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

    def _ordinary_use(self, e: Evidence) -> str:
        """Why a mark that is also an ordinary word was read in its ordinary sense ("" when it was not).

        The word counts as the mark only with product context: one of the product's keywords (a product was
        named), goods of the mark's classes, an image hit or the mark read in a picture, or counterfeit wording
        on goods not outside them."""
        best = e.best
        if not self._ordinary or not best or best.kind not in _PLAIN_KINDS:
            return ""
        lang = self._ordinary.get(fold(best.term).strip())
        if not lang or lang != forms.title_language(e.title):
            return ""
        admits_copy = e.context.counterfeit_weight >= self.thresholds["counterfeit_term"]
        pictured = e.image is not None or (bool(e.shown) and best.kind != IN_IMAGE)
        if e.product is not None or e.goods_related or pictured or (admits_copy and not e.unrelated):
            return ""
        language = {"en": "English", "zh": "Chinese"}[lang]
        tm = self.registry.trademark(best.trademark_id)
        goods = "goods outside its classes" if e.unrelated else "no goods of its classes"
        return (
            f"'{best.text}' is an ordinary {language} word: not taken as the mark {tm.mark}, as the title has "
            f"{goods} ({', '.join(str(c) for c in tm.classes)}), no product keyword, no counterfeit wording "
            "and no image match"
        )

    def _weigh_store(self, e: Evidence, judgement: Judgement, points: float) -> tuple[Judgement, float]:
        """An imposter store name raises the score and the verdict (``judge_store``), never lowers them; only the
        claimed marks citeable on the platform count."""
        assert e.store is not None
        marks = [
            tm
            for tm in self._rank_marks(set(e.store.trademark_ids), None, e.goods)
            if citation_status(tm, e.platform, self.today) is None
        ]
        if not marks or judgement.verdict == Verdict.INFRINGING:
            return judgement, points
        w = self.weights.get("imposter_store", {})
        points = min(100.0, points + float(w.get("strong" if e.store.strong else "weak", 0)))
        return judge_store(e, marks), points

    # -----------------------------------------------------------------------------------------
    def _split_hits(self, hits: list[TextHit], platform: str):
        citeable, expired, wrong_office = [], [], []
        for h in hits:
            problem = self._citation_problem(h.trademark_id, platform)
            if problem is None:
                citeable.append(h)
            elif problem is CitationProblem.WRONG_OFFICE:
                wrong_office.append(h)
            else:  # expired, or not yet valid
                expired.append(h)
        if not (wrong_office or expired):
            return citeable, expired, wrong_office
        # a mark that also matched as citeable is not "wrong office" for the explanation
        ok = {h.trademark_id for h in citeable}
        ok_terms = {h.term for h in citeable}
        wrong_office = [h for h in wrong_office if h.trademark_id not in ok and h.term not in ok_terms]
        expired = [h for h in expired if h.term not in ok_terms]
        return citeable, expired, wrong_office

    def _citation_problem(self, trademark_id: str, platform: str) -> CitationProblem | None:
        """``citation_status`` of a mark on a platform, asked once per scorer (its day is fixed)."""
        key = (trademark_id, platform)
        if key not in self._citations:
            self._citations[key] = citation_status(
                self.registry.trademark(trademark_id), platform, self.today
            )
        return self._citations[key]

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
        if len(marks) < 2:
            return marks
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

    def _points(self, e: Evidence, weak_taken: bool = False) -> float:
        """The score: the sum of ``data/scoring.yaml``'s weights for what was found, within 0..100."""
        w, ctx, image, price = self.weights, e.context, e.image, e.price
        points = 0.0
        if e.best:
            # a misspelling or sound-alike with a cue beside it is cited as the mark, and weighs as one
            points += w["brand"].get("weak_corroborated" if weak_taken else e.best.kind, 0)
        if image:
            if image.is_logo:
                points += w["image"]["logo"] if image.confident else w["image"]["near"]
            else:
                points += w["image"]["confident"] if image.confident else w["image"]["near"]
        points += w["counterfeit_term"] * ctx.counterfeit_weight
        points += w["lookalike_term"] * ctx.lookalike_weight
        if price and (e.best or image):
            points += w["price"].get(price.band, 0)
        if ctx.accessory:
            points += w["accessory"]
        if ctx.resale and (not price or price.band != "absurd"):
            points += w["resale"]
        if e.unrelated:
            points += w["unrelated_goods"]
        return max(0.0, min(100.0, points))

    def _result(
        self, points: float, judgement: Judgement, product_id: str, signals: dict, explanation: str
    ) -> dict:
        """The output, its score kept inside its verdict's band; a reason and a right only on a flagged one."""
        t = self.thresholds
        hi, lo = float(t["infringing"]), float(t["suspect"])
        if judgement.verdict == Verdict.INFRINGING:
            points = max(points, hi)
        elif judgement.verdict == Verdict.SUSPECT:
            points = min(max(points, lo), hi - 1)
        else:
            points = min(points, lo - 1)
        flagged = judgement.verdict in FLAGGED
        return {
            "score": round(points),
            "verdict": judgement.verdict,
            "reason": judgement.reason if flagged else Reason.NONE,
            "ipr_id": judgement.ipr_id if flagged else "",
            "product_id": product_id,
            "signals": signals,
            "explanation": explanation,
        }


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()
