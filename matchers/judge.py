"""The verdict rules: what a listing's evidence (``matchers.listing_evidence.Evidence``) makes of it.

Precision first: IPP drops a rights holder whose complaints succeed less than 90 % of the time, so every
``infringing`` rule needs a cue a reviewer can see, and everything uncertain goes to a human as ``suspect``.
The allow-list and the ordinary-word reading are decided before these rules (``matchers.score``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from contract import Reason, Verdict, citation_status
from matchers.listing_evidence import Evidence
from matchers.text_hit import EVASIVE_KINDS, WEAK_KINDS, TextHit
from registry import Trademark


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: Reason = Reason.NONE
    ipr_id: str = ""  # the trademark or copyright to cite
    note: str = ""  # a sentence for the explanation, when the rule needs one


# The judgements without a right to cite, made once: a judgement is immutable, so every listing can share them.
_CLEAN = Judgement(Verdict.CLEAN)
_SUSPECT_UNCITED = Judgement(Verdict.SUSPECT)


class Cues(NamedTuple):
    """What the evidence says beyond the mark itself, against ``data/scoring.yaml``'s thresholds."""

    admits_copy: bool  # counterfeit wording (高仿, replica, 1:1 ...)
    lookalike: bool  # look-alike wording next to the mark (同款, 平替, inspired by, dupe)
    photo: bool  # a registered product photo matched, confidently
    absurd: bool  # absurdly cheap, for goods whose reference price we know
    low: bool  # cheap or absurdly cheap, for such goods
    ipr: str  # the mark to cite ("" when none can be)

    @classmethod
    def of(cls, e: Evidence, thresholds: dict) -> Cues:
        ctx, price, image = e.context, e.price, e.image
        photo = image is not None and image.confident and not image.is_logo
        # A price says something only about goods we know the reference for: a named product, a registered
        # photo, or goods of the mark's classes (a cheap phone case is not a cheap jacket).
        goods_known = e.product is not None or photo or (e.goods_related and not e.unrelated)
        band = price.band if goods_known and price is not None else ""
        return cls(
            ctx.counterfeit_weight >= thresholds["counterfeit_term"],
            ctx.lookalike_weight >= thresholds["lookalike_term"],
            photo,
            band == "absurd",
            band in ("absurd", "low"),
            e.marks_cited[0].id if e.marks_cited else "",
        )


def judge(e: Evidence, thresholds: dict, today: date) -> Judgement:
    """The verdict, the IPP reason and the right to cite, by the first rule that applies:

    1. The title names a citeable mark (plainly, by an alias, or in a disguise; a mark read in a picture counts
       as a plain mention): ``_judge_named_mark``.
    2. The title has only a weak form of a citeable mark (a one-letter misspelling, a sound-alike): with copy
       wording, the registered photo or logo, or an absurd price beside it → ``infringing`` / ``counterfeit``;
       with look-alike wording → ``infringing`` / ``trademark_misuse``; on goods outside the mark, accessory or
       resale goods, or alone, it is not taken as the mark and the rules below go on as if it were not there.
    3. The title names only marks that cannot be cited (expired, not yet valid, wrong office): a registered photo
       of a product with a copyright → ``infringing`` / ``stolen_image`` (not on accessory or resale goods);
       else ``suspect`` with a cue (copy or look-alike wording, the photo, an absurd price, a disguise) and
       ``clean`` without. That mark is never cited.
    4. No mark in the title: ``_judge_pictures``.
    """
    cues = Cues.of(e, thresholds)
    if e.best and e.best.kind not in WEAK_KINDS:
        return _judge_named_mark(e, cues)
    hits: tuple[TextHit, ...] = e.hits
    if e.best:
        ctx = e.context
        if not (e.unrelated or ctx.accessory or ctx.resale):
            if cues.admits_copy or cues.photo or cues.absurd or e.logo_mark is not None:
                return Judgement(Verdict.INFRINGING, Reason.COUNTERFEIT, cues.ipr)
            if cues.lookalike:
                return Judgement(Verdict.INFRINGING, Reason.TRADEMARK_MISUSE, cues.ipr)
        # not taken as the mark: the listing is judged as if it named no mark (a photo still counts)
        hits = tuple(h for h in hits if h.kind not in WEAK_KINDS)
    if hits:
        return _judge_uncitable_mark(e, cues, hits)
    return _judge_pictures(e, cues, today)


def _judge_named_mark(e: Evidence, cues: Cues) -> Judgement:
    """A citeable mark named in the title (or shown in a picture), by the first rule that applies:

    1. Goods outside every matched mark's classes: the same word may be someone else's mark on these goods, and
       copy wording or a low price then speaks of their goods, not ours. ``suspect`` with a disguise, look-alike
       wording or our own photo (worth a human's look), else ``clean``.
    2. Compatibility wording next to the mark ("适用于LUMORA", "for VOLTA"): nominative use, ``clean``;
       ``suspect`` if it also admits a copy.
    3. Second-hand wording without copy wording: ``clean``; ``suspect`` if absurdly cheap.
    4. Copy wording, or a disguised mark (LUM0RA, L U M O R A, Cyrillic letters, LUM*RA) → ``infringing`` /
       ``counterfeit``.
    5. Look-alike wording next to the mark → ``infringing`` / ``trademark_misuse``.
    6. Absurdly cheap goods of the brand's kind → ``infringing`` / ``counterfeit``.
    7. The registered product photo and a low price → ``infringing`` / ``counterfeit``.
    8. Otherwise (could be a genuine reseller or 代购) → ``suspect``.
    """
    ctx, kind, ipr = e.context, e.best.kind, cues.ipr
    if e.unrelated:
        cue = cues.lookalike or kind in EVASIVE_KINDS or cues.photo
        if not cue:
            return _CLEAN
        return Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, ipr)
    if ctx.accessory:
        return Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, ipr) if cues.admits_copy else _CLEAN
    if ctx.resale and not cues.admits_copy:
        return Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, ipr) if cues.absurd else _CLEAN
    if cues.admits_copy or kind in EVASIVE_KINDS:
        return Judgement(Verdict.INFRINGING, Reason.COUNTERFEIT, ipr)
    if cues.lookalike:
        return Judgement(Verdict.INFRINGING, Reason.TRADEMARK_MISUSE, ipr)
    if cues.absurd or (cues.photo and cues.low):
        return Judgement(Verdict.INFRINGING, Reason.COUNTERFEIT, ipr)
    return Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, ipr)


def _judge_uncitable_mark(e: Evidence, cues: Cues, hits: tuple[TextHit, ...]) -> Judgement:
    """Only marks that cannot be cited are mentioned (rule 3 of ``judge``)."""
    ctx, product = e.context, e.product
    if cues.photo and product and product.copyright and not (ctx.accessory or ctx.resale):
        return Judgement(Verdict.INFRINGING, Reason.STOLEN_IMAGE, product.copyright)
    cue = cues.admits_copy or cues.lookalike or cues.photo or cues.absurd
    if cue or any(h.kind in EVASIVE_KINDS for h in hits):
        return _SUSPECT_UNCITED
    return _CLEAN


def _judge_pictures(e: Evidence, cues: Cues, today: date) -> Judgement:
    """No mark in the title; the pictures decide, by the first rule that applies:

    1. A registered product photo → ``infringing`` / ``stolen_image`` citing the product's copyright;
       ``suspect`` when the product has no copyright or the listing is an accessory or resale.
    2. A confident logo match of a mark citeable on the platform: with copy wording or an absurd price →
       ``infringing`` / ``counterfeit``, else ``suspect`` citing it; ``suspect`` without a citation when the
       mark cannot be cited.
    3. A weaker image hit → ``suspect``: a human should look.
    4. Anything else → ``clean`` (counterfeit wording without our mark, photo or logo is someone else's problem).
    """
    ctx, product = e.context, e.product
    if cues.photo:
        if ctx.accessory or ctx.resale or not product or not product.copyright:
            return Judgement(
                Verdict.SUSPECT,
                Reason.STOLEN_IMAGE,
                product.copyright if product and product.copyright else "",
            )
        return Judgement(Verdict.INFRINGING, Reason.STOLEN_IMAGE, product.copyright)
    logo = e.logo_mark
    if logo is not None:
        if citation_status(logo, e.platform, today) is not None:
            return _SUSPECT_UNCITED
        if cues.admits_copy or cues.absurd:
            return Judgement(Verdict.INFRINGING, Reason.COUNTERFEIT, logo.id)
        return Judgement(Verdict.SUSPECT, Reason.COUNTERFEIT, logo.id)
    if e.image is not None:
        return _SUSPECT_UNCITED
    return _CLEAN


def judge_store(e: Evidence, marks: list[Trademark]) -> Judgement:
    """An imposter store name (``e.store``, claiming ``marks``, citeable and ranked) is trademark misuse:
    ``infringing`` where the claim cannot be true or it copies the authorized store's name (a strong claim),
    ``suspect`` otherwise, and ``suspect`` on goods outside every claimed mark's classes."""
    if e.unrelated and not any(e.goods & set(tm.classes) for tm in marks):
        return Judgement(Verdict.SUSPECT, Reason.TRADEMARK_MISUSE, marks[0].id)
    verdict = Verdict.INFRINGING if e.store is not None and e.store.strong else Verdict.SUSPECT
    return Judgement(verdict, Reason.TRADEMARK_MISUSE, marks[0].id)


def gate(judgement: Judgement, points: float, e: Evidence, thresholds: dict) -> Judgement:
    """An ``infringing`` rule also needs the score to reach ``thresholds.infringing``; and an official store
    (a Tmall 旗舰店 badge) not on the allow-list goes to a human, unless its name is one character off the
    holder's own store's (an imposter, whatever the platform's badge says)."""
    if judgement.verdict != Verdict.INFRINGING:
        return judgement
    if points < float(thresholds["infringing"]):
        return Judgement(
            Verdict.SUSPECT, judgement.reason, judgement.ipr_id, "evidence below the infringing threshold"
        )
    copied_store = e.store is not None and bool(e.store.near_copy_of)
    if e.listing.get("is_official_store") and not copied_store:
        return Judgement(
            Verdict.SUSPECT, judgement.reason, judgement.ipr_id, "official store not on the allow-list"
        )
    return judgement
