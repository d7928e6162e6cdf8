"""The sentence that says why a listing got its verdict: what a reviewer reads before a complaint is filed, and
what the complaint's evidence rests on."""

from __future__ import annotations

from pathlib import Path

from contract import ImageHit, Reason, Verdict
from matchers.image_text import describe_box, picture_name
from matchers.judge import Judgement
from matchers.listing_evidence import Evidence, best_hit
from matchers.signals import PLAIN_IMAGE_STAGES, describe_image_stage
from matchers.text_hit import EXACT, FUZZY, WEAK_KINDS
from registry import Registry

NOTHING_FOUND = "no registered mark, photo or counterfeit wording found"
_WEAK_NAMES = {FUZZY: "a one-letter misspelling", "homophone": "a sound-alike"}


def explain(e: Evidence, judgement: Judgement, registry: Registry) -> str:
    """Why, in parts joined by "; ", in this order:

    1. the mention cited ("title has 'LUM0RA' (digit-swapped LUMORA)"), else the best uncitable one;
    2. the marks that cannot be cited: expired (with the day), or from an office the platform does not accept
       (when no citeable mark is named);
    3. the image hit: which picture, matches or resembles which registered photo or logo, the distance, and how
       the picture was disguised when it was;
    4. the price against the reference, when a mark or an image was found;
    5. the wording: counterfeit or look-alike terms, compatibility wording, a price that is not the goods'
       (a deposit, a fee link: when a mark or an image was found), second-hand wording;
    6. goods outside the cited mark's classes;
    7. a photo whose product has no copyright to cite, and the rule's own note (below the threshold, an official
       store not on the allow-list, an ordinary word);
    8. the mark read in a picture (which picture, where), the store name's claim, and a weak form not taken as
       the mark.

    With none of these: "no registered mark, photo or counterfeit wording found"."""
    parts: list[str] = []
    _add_mentions(parts, e, registry)
    _add_image(parts, e)
    _add_wording(parts, e)
    _add_verdict_notes(parts, e, judgement)
    if e.shown or e.store or (e.best and e.best.kind in WEAK_KINDS):
        beside = "; ".join(dict.fromkeys(_beside_parts(e, judgement)))
        if beside:
            parts.append(beside)
    return "; ".join(parts) if parts else NOTHING_FOUND


def _add_mentions(parts: list[str], e: Evidence, registry: Registry) -> None:
    if e.best:
        parts.append(f"title has {e.best.describe()}")
    elif e.hits:
        parts.append(f"title has {best_hit(e.hits).describe()}")
    if e.expired:
        ids = sorted({h.trademark_id for h in e.expired})
        days = ", ".join(f"{i} expired {registry.trademark(i).valid_until}" for i in ids)
        parts.append(f"mark not citable ({days})")
    if e.wrong_office and not e.best:
        ids = sorted({h.trademark_id for h in e.wrong_office})
        offices = ", ".join(f"{i} is {registry.trademark(i).office}" for i in ids)
        parts.append(f"{offices}; {e.platform} accepts only CNIPA marks")


def _add_image(parts: list[str], e: Evidence) -> None:
    image = e.image
    if not image:
        return
    which = "main image" if _is_main_image(e.listing, image) else "a listing image"
    what = "logo" if image.is_logo else Path(image.registered_image).name
    strength = "matches" if image.confident else "resembles"
    how = "" if image.stage in PLAIN_IMAGE_STAGES else f"; {describe_image_stage(image.stage)}"
    parts.append(f"{which} {strength} {what} (distance {image.distance}{how})")


def _add_wording(parts: list[str], e: Evidence) -> None:
    ctx = e.context
    found = bool(e.best or e.hits or e.image)
    if e.price and found:
        parts.append(e.price.describe())
    if ctx.counterfeit:
        parts.append("says " + ", ".join(dict.fromkeys(h.text for h in ctx.counterfeit)))
    if ctx.accessory:
        parts.append(
            "compatibility wording " + ", ".join(dict.fromkeys(f"'{h.text}'" for h in ctx.accessory))
        )
    if ctx.price_notes and found:
        parts.append("price ignored (" + ", ".join(dict.fromkeys(h.text for h in ctx.price_notes)) + ")")
    if ctx.resale:
        parts.append("second-hand wording " + ", ".join(dict.fromkeys(h.text for h in ctx.resale)))


def _add_verdict_notes(parts: list[str], e: Evidence, judgement: Judgement) -> None:
    if e.unrelated and e.marks_cited:
        classes = ", ".join(str(c) for c in sorted(e.goods))
        mark = e.marks_cited[0]
        parts.append(
            f"goods (class {classes}) outside {mark.id}'s classes {', '.join(str(c) for c in mark.classes)}"
        )
    if (
        judgement.verdict == Verdict.SUSPECT
        and judgement.reason == Reason.STOLEN_IMAGE
        and not judgement.ipr_id
    ):
        parts.append("product has no registered copyright to cite")
    if judgement.note:
        parts.append(judgement.note)


def _beside_parts(e: Evidence, judgement: Judgement) -> list[str]:
    """The second generation's signals: the mark in a picture, the store name, a weak form alone."""
    parts = []
    for hit, text in e.shown:
        where = describe_box(text.box)
        form = "" if hit.tricks[:1] == (EXACT,) else f" ({hit.describe().split('(', 1)[-1]}"
        said = f"{picture_name(e.listing, text.image)} shows '{hit.text}'{form}"
        parts.append(f"{said} {where}".strip())
    if e.store:
        parts.append(e.store.why)
    if e.best and e.best.kind in WEAK_KINDS and judgement.verdict != Verdict.INFRINGING:
        parts.append(f"{_WEAK_NAMES[e.best.kind]} alone is not taken as the mark")
    return parts


def _is_main_image(listing: dict, image: ImageHit) -> bool:
    urls = listing.get("image_urls") or []
    return bool(urls) and urls[0] == image.listing_image_url
