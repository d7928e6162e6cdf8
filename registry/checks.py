"""The registry's warnings: what is valid but will not do what a rights holder may expect."""

from __future__ import annotations

from contract import CNIPA, CNIPA_ONLY_PLATFORMS, normalize_seller
from registry.model import Registry, today_utc


def warnings_of(reg: Registry) -> list[str]:
    """What loads but will not work as the rights holder may expect: expired marks, and marks or products
    that cannot be cited on the watched platforms that accept only CNIPA marks."""
    out: list[str] = []
    today = today_utc()
    for i, tm in enumerate(reg.trademarks):
        if not tm.is_valid(today):
            when = "expired on" if tm.valid_until < today else "not valid before"
            day = tm.valid_until if tm.valid_until < today else tm.valid_from
            out.append(f"trademarks[{i}] {tm.id}: {when} {day}; it is loaded but never cited")
    chinese = [p for p in reg.watch.platforms if p in CNIPA_ONLY_PLATFORMS]
    if chinese:
        in_products = {t for p in reg.products for t in p.trademarks}
        cnipa_marks = {
            normalize_seller(t.mark) for t in reg.trademarks if t.office == CNIPA and t.is_valid(today)
        }
        for i, tm in enumerate(reg.trademarks):
            if (
                tm.id not in in_products
                and tm.office != CNIPA
                and tm.is_valid(today)
                and normalize_seller(tm.mark) not in cnipa_marks
            ):
                out.append(
                    f"trademarks[{i}] {tm.id}: a {tm.office} mark with no CNIPA registration of {tm.mark!r}; "
                    f"{', '.join(chinese)} accept only CNIPA marks, so mentions there cannot be complained about"
                )
        for i, product in enumerate(reg.products):
            marks = [reg.trademark(t) for t in product.trademarks]
            valid = [t for t in marks if t.is_valid(today)]
            if valid and all(t.office != CNIPA for t in valid):
                out.append(
                    f"products[{i}] {product.id}: only non-CNIPA marks ({', '.join(t.id for t in valid)}); "
                    f"{', '.join(chinese)} accept only CNIPA marks, so its listings there cannot be "
                    "complained about by trademark"
                )
    return out
