"""Reading a registry's sections into its values (``registry.model``), every problem reported with its key
path. The file format is described in docs/contract.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from contract import PLATFORMS
from registry import model
from registry.checker import Checker
from registry.checks import warnings_of
from registry.yaml_loader import read_yaml

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_registry(path: Path) -> model.Registry:
    """Read and check the registry at ``path`` (resolved), every time: ``registry.load_registry`` caches it.

    Raises ``RegistryError`` listing every problem found, each with its key path.
    """
    data = read_yaml(path)
    chk = Checker(path.parent)
    if data is None:
        raise model.RegistryError(path, ["the file is empty"])
    top = chk.mapping(
        data,
        "",
        allowed={"rights_holder", "trademarks", "copyrights", "products", "authorized_sellers", "watch"},
        required={"rights_holder", "trademarks"},
    )
    if top is None:
        raise model.RegistryError(path, chk.errors)

    rights_holder = _rights_holder(chk, top.get("rights_holder"))
    trademarks = _trademarks(chk, top.get("trademarks", []))
    copyrights = _copyrights(chk, top.get("copyrights") or [])
    products = _products(chk, top.get("products") or [], trademarks, copyrights)
    sellers = _authorized_sellers(chk, top.get("authorized_sellers") or [])
    watch = _watch(chk, top.get("watch"))

    if chk.errors:
        raise model.RegistryError(path, chk.errors)
    registry = model.Registry(
        path=path,
        rights_holder=rights_holder,  # type: ignore[arg-type]
        trademarks=tuple(trademarks.values()),
        copyrights=tuple(copyrights.values()),
        products=tuple(products),
        authorized_sellers=tuple(sellers),
        watch=watch,
    )
    registry.warnings.extend(warnings_of(registry))
    return registry


def _rights_holder(chk: Checker, value: Any) -> model.RightsHolder | None:
    if value is None:
        return None  # already reported as missing
    d = chk.mapping(value, "rights_holder", {"name", "contact_email", "agent"}, {"name", "contact_email"})
    if d is None:
        return None
    name = chk.string(d, "name", "rights_holder")
    email = chk.string(d, "contact_email", "rights_holder")
    if email and not _EMAIL.match(email):
        chk.err("rights_holder.contact_email", f"not an e-mail address: {email!r}")
    return model.RightsHolder(name or "", email or "", _agent(chk, d.get("agent")))


def _agent(chk: Checker, value: Any) -> model.Agent | None:
    if value is None:
        return None
    key = "rights_holder.agent"
    d = chk.mapping(value, key, {"name", "power_of_attorney", "valid_until"}, {"name"})
    if d is None:
        return None
    name = chk.string(d, "name", key)
    poa = chk.document(d["power_of_attorney"], f"{key}.power_of_attorney") if d.get("power_of_attorney") else None
    return model.Agent(name or "", poa, chk.a_date(d, "valid_until", key))


_TRADEMARK_FIELDS = {"id", "mark", "registration_number", "office", "classes", "valid_from", "valid_until",
                     "aliases", "logo", "registrant", *model.TRADEMARK_DOCUMENTS}
_TRADEMARK_OPTIONAL = {"aliases", "logo", "registrant", *model.TRADEMARK_DOCUMENTS}


def _trademarks(chk: Checker, value: Any) -> dict[str, model.Trademark]:
    out: dict[str, model.Trademark] = {}
    if isinstance(value, list) and not value:
        chk.err("trademarks", "must list at least one trademark")
    for key, d in chk.entries(value, "trademarks", _TRADEMARK_FIELDS, _TRADEMARK_FIELDS - _TRADEMARK_OPTIONAL):
        tid = chk.entry_id(d, key, "trademark", out)
        # a duplicate's own fields are still checked, but it is not kept (nor its documents looked at)
        trademark = _trademark(chk, d, key, None if tid in out else tid)
        if trademark is not None:
            out[trademark.id] = trademark
    return out


def _trademark(chk: Checker, d: dict, key: str, tid: str | None) -> model.Trademark | None:
    """One entry of ``trademarks``: every field checked (and reported) even when the entry is unusable."""
    mark = chk.string(d, "mark", key)
    reg_no = chk.string(d, "registration_number", key)
    office = chk.string(d, "office", key)
    classes = _nice_classes(chk, d, key)
    valid_from = chk.a_date(d, "valid_from", key)
    valid_until = chk.a_date(d, "valid_until", key)
    if valid_from and valid_until and valid_until < valid_from:
        chk.err(f"{key}.valid_until", f"{valid_until} is before valid_from {valid_from}")
    aliases = chk.string_list(d, "aliases", key)
    logo = chk.file(d["logo"], f"{key}.logo") if d.get("logo") is not None else None
    if not (tid and mark and reg_no and office and valid_from and valid_until):
        return None
    return model.Trademark(
        id=tid,
        mark=mark,
        registration_number=reg_no,
        office=office.upper(),
        classes=classes,
        valid_from=valid_from,
        valid_until=valid_until,
        aliases=aliases,
        logo=logo,
        registrant=chk.string(d, "registrant", key, required=False),
        **{name: chk.documents(d, name, key) for name in model.TRADEMARK_DOCUMENTS},
    )


def _nice_classes(chk: Checker, d: dict, key: str) -> tuple[int, ...]:
    raw = d.get("classes", [])
    if not isinstance(raw, list) or not raw:
        if "classes" in d:
            chk.err(f"{key}.classes", f"must be a non-empty list of Nice classes (1-45), got {raw!r}")
        return ()
    classes: list[int] = []
    for j, c in enumerate(raw):
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 45:
            chk.err(f"{key}.classes[{j}]", f"not a Nice class (an integer 1-45): {c!r}")
        else:
            classes.append(c)
    return tuple(classes)


def _copyrights(chk: Checker, value: Any) -> dict[str, model.Copyright]:
    out: dict[str, model.Copyright] = {}
    fields = {"id", "title", "registration_number", "official_url", "certificate", "claim_statement"}
    for key, d in chk.entries(value, "copyrights", fields, {"id", "title"}):
        cid = chk.entry_id(d, key, "copyright", out)
        title = chk.string(d, "title", key)
        reg_no = chk.string(d, "registration_number", key, required=False)
        url = chk.string(d, "official_url", key, required=False)
        if url and not re.match(r"^https?://", url):
            chk.err(f"{key}.official_url", f"must be an http(s) URL, got {url!r}")
        documents = {name: chk.document(d[name], f"{key}.{name}") if d.get(name) else None
                     for name in ("certificate", "claim_statement")}
        if cid and title and cid not in out:
            out[cid] = model.Copyright(cid, title, reg_no, url, **documents)
    return out


def _products(
    chk: Checker, value: Any, trademarks: dict[str, model.Trademark], copyrights: dict[str, model.Copyright]
) -> list[model.Product]:
    out: list[model.Product] = []
    seen: set[str] = set()
    fields = {"id", "name", "trademarks", "copyright", "keywords", "reference_price", "images"}
    for key, d in chk.entries(value, "products", fields, {"id", "name"}):
        pid = chk.entry_id(d, key, "product", seen)
        name = chk.string(d, "name", key)
        tms = chk.string_list(d, "trademarks", key)
        for j, t in enumerate(tms):
            if t not in trademarks and f"trademark:{t}" not in chk.declared:
                chk.err(f"{key}.trademarks[{j}]", f"unknown trademark {t!r}")
        cr = chk.string(d, "copyright", key, required=False)
        if cr and cr not in copyrights and f"copyright:{cr}" not in chk.declared:
            chk.err(f"{key}.copyright", f"unknown copyright {cr!r}")
        keywords = chk.string_list(d, "keywords", key)
        price = _money(chk, d.get("reference_price"), f"{key}.reference_price")
        images = chk.photos(d, "images", key)
        if pid and name and pid not in seen:
            seen.add(pid)
            out.append(model.Product(pid, name, tms, cr, keywords, price, images))
    return out


def _money(chk: Checker, value: Any, key: str) -> model.Money | None:
    if value is None:
        return None
    d = chk.mapping(value, key, {"amount", "currency"}, {"amount", "currency"})
    if d is None:
        return None
    amount = d.get("amount")
    ok = True
    if "amount" in d and (isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0):
        chk.err(f"{key}.amount", f"must be a positive number, got {amount!r}")
        ok = False
    currency = d.get("currency")
    if "currency" in d and (not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper())):
        chk.err(f"{key}.currency", f"must be a 3-letter ISO 4217 code, got {currency!r}")
        ok = False
    if ok and "amount" in d and "currency" in d:
        return model.Money(float(amount), currency.strip().upper())  # type: ignore[arg-type, union-attr]
    return None


def _authorized_sellers(chk: Checker, value: Any) -> list[model.AuthorizedSeller]:
    out = []
    for key, d in chk.entries(value, "authorized_sellers", {"platform", "seller"}, {"platform", "seller"}):
        platform = chk.string(d, "platform", key)
        if platform and platform not in PLATFORMS:
            chk.err(f"{key}.platform", f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
        seller = chk.string(d, "seller", key)
        if platform and seller:
            out.append(model.AuthorizedSeller(platform, seller))
    return out


def _watch(chk: Checker, value: Any) -> model.Watch:
    if value is None:
        return model.Watch()
    d = chk.mapping(value, "watch", {"platforms", "queries", "pages"}, set())
    if d is None:
        return model.Watch()
    platforms = chk.string_list(d, "platforms", "watch") or PLATFORMS
    for j, p in enumerate(platforms):
        if p not in PLATFORMS:
            chk.err(f"watch.platforms[{j}]", f"unknown platform {p!r} (one of {', '.join(PLATFORMS)})")
    queries = chk.string_list(d, "queries", "watch")
    pages = d.get("pages", 3)
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        chk.err("watch.pages", f"must be a positive integer, got {pages!r}")
        pages = 3
    return model.Watch(tuple(platforms), queries, pages)
