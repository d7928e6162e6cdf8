"""The rights holder's registry (``registry.yaml``): what is owned, where to look, who is allowed.

Loading validates everything before anything is crawled. Every problem is collected and reported
with its key path (``products[2].images[0]: file not found: /abs/path``) so a rights holder can fix
the whole file in one go. See docs/contract.md §2 for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from contract import CNIPA, CNIPA_ONLY_PLATFORMS, PLATFORMS, citation_status, normalize_seller
from matchers.registry_photos import document_problem, photo_problem
from matchers.registry_yaml import DuplicateKeys, NotADate, RegistryLoader

MAX_REGISTRY_BYTES = 2_000_000


class RegistryError(Exception):
    """The registry cannot be used. ``errors`` lists every problem, each naming its key path."""

    def __init__(self, path: str | Path, errors: list[str]):
        self.path = Path(path)
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"registry {self.path}: {len(self.errors)} error(s)"]
        lines += [f"  {e}" for e in self.errors]
        return "\n".join(lines)


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str


@dataclass(frozen=True)
class Agent:
    """An agent filing on the rights holder's behalf, with the power of attorney IPP asks for."""

    name: str
    power_of_attorney: Path | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class RightsHolder:
    name: str
    contact_email: str
    agent: Agent | None = None


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Trademark:
    id: str
    mark: str
    registration_number: str
    office: str
    classes: tuple[int, ...]
    valid_from: date
    valid_until: date
    aliases: tuple[str, ...] = ()
    logo: Path | None = None
    # The proof IPP asks for (enforcement/readiness.py says what each is for): absolute paths.
    registrant: str | None = None  # as on the office's register, when it is not the rights holder's name
    certificates: tuple[Path, ...] = ()  # a colour scan of the registration certificate, each class page
    renewal_certificates: tuple[Path, ...] = ()
    assignment_certificates: tuple[Path, ...] = ()  # assignment or change of registrant
    extension_certificates: tuple[Path, ...] = ()  # a Madrid (WIPO) registration's extension to China

    def is_valid(self, on: date | None = None) -> bool:
        """In force on ``on`` (today, UTC, by default)."""
        on = on or today_utc()
        return self.valid_from <= on <= self.valid_until

    def can_be_cited_on(self, platform: str, on: date | None = None) -> bool:
        """Valid, and from an office the platform's IPP accepts."""
        return citation_status(self, platform, on or today_utc()) is None

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.mark, *self.aliases)


@dataclass(frozen=True)
class Copyright:
    id: str
    title: str
    registration_number: str | None = None
    official_url: str | None = None
    certificate: Path | None = None  # the registration certificate, or
    claim_statement: Path | None = None  # a signed or sealed copyright claim statement (a scan)


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    trademarks: tuple[str, ...] = ()
    copyright: str | None = None
    keywords: tuple[str, ...] = ()
    reference_price: Money | None = None
    images: tuple[Path, ...] = ()  # absolute paths


@dataclass(frozen=True)
class AuthorizedSeller:
    platform: str
    seller: str


@dataclass(frozen=True)
class Watch:
    platforms: tuple[str, ...] = PLATFORMS
    queries: tuple[str, ...] = ()
    pages: int = 3


@dataclass
class Registry:
    path: Path
    rights_holder: RightsHolder
    trademarks: tuple[Trademark, ...]
    copyrights: tuple[Copyright, ...]
    products: tuple[Product, ...]
    authorized_sellers: tuple[AuthorizedSeller, ...]
    watch: Watch
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._trademarks = {t.id: t for t in self.trademarks}
        self._copyrights = {c.id: c for c in self.copyrights}
        self._products = {p.id: p for p in self.products}
        self._authorized = {(a.platform, normalize_seller(a.seller)) for a in self.authorized_sellers}

    def trademark(self, id: str) -> Trademark:
        return self._trademarks[id]

    def copyright(self, id: str) -> Copyright:
        return self._copyrights[id]

    def product(self, id: str) -> Product:
        return self._products[id]

    def search_queries(self) -> list[str]:
        """``watch.queries`` if given, else every mark and alias alone and with each product keyword."""
        if self.watch.queries:
            return list(dict.fromkeys(self.watch.queries))
        queries: list[str] = []
        today = today_utc()
        for tm in self.trademarks:
            if not tm.is_valid(today):
                continue
            keywords = [k for p in self.products if tm.id in p.trademarks for k in p.keywords]
            if not keywords:
                keywords = [k for p in self.products for k in p.keywords]
            for term in tm.terms:
                queries.append(term)
                queries.extend(f"{term} {k}" for k in keywords)
        return list(dict.fromkeys(queries))

    def is_authorized(self, platform: str, seller_name: str) -> bool:
        return (str(platform), normalize_seller(seller_name)) in self._authorized

    def products_for_trademark(self, trademark_id: str) -> tuple[Product, ...]:
        return tuple(p for p in self.products if trademark_id in p.trademarks)


# ---------------------------------------------------------------------------------------------
# Safe YAML loading (matchers/registry_yaml.py)


def _read_yaml(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RegistryError(path, [f"cannot read registry: {exc.strerror or exc}"]) from exc
    if size > MAX_REGISTRY_BYTES:
        raise RegistryError(path, [f"file is {size} bytes; a registry may be at most {MAX_REGISTRY_BYTES}"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(path, [f"not UTF-8 text: {exc}"]) from exc
    except OSError as exc:  # a folder, a permission problem, ...
        raise RegistryError(path, [f"cannot read registry: {exc.strerror or exc}"]) from exc
    try:
        return yaml.load(text, Loader=RegistryLoader)
    except DuplicateKeys as exc:
        raise RegistryError(path, exc.problems) from exc
    except yaml.constructor.ConstructorError as exc:
        mark = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise RegistryError(path, [f"unsafe or unknown YAML tag{mark}: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise RegistryError(path, [f"invalid YAML: {exc}"]) from exc
    except RecursionError as exc:
        raise RegistryError(path, ["invalid YAML: nested too deeply"]) from exc


# ---------------------------------------------------------------------------------------------
# Validation helpers: each appends to ``errors`` and returns a usable value (or None)

_MISSING = object()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class _Checker:
    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.errors: list[str] = []
        # ids written in the registry, usable or not: a product naming a trademark whose own entry has
        # an error is not reported a second time as "unknown"
        self.declared: set[str] = set()

    def err(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str]) -> dict | None:
        if not isinstance(value, dict):
            self.err(key, f"must be a mapping, got {_type_name(value)}")
            return None
        for k in value:
            if k not in allowed:
                self.err(f"{key}.{k}" if key else str(k), "unknown key")
        for k in sorted(required):
            if k not in value:
                self.err(f"{key}.{k}" if key else k, "missing required key")
        return value

    def string(self, d: dict, k: str, key: str, *, required: bool = True) -> str | None:
        value = d.get(k, _MISSING)
        if value is _MISSING or (value is None and not required):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.err(f"{key}.{k}", f"must be a string, got {_type_name(value)}")
            return None
        text = str(value).strip()
        if not text:
            self.err(f"{key}.{k}", "must not be empty")
            return None
        return text

    def string_list(self, d: dict, k: str, key: str) -> tuple[str, ...]:
        value = d.get(k, _MISSING)
        if value is _MISSING or value is None:
            return ()
        if not isinstance(value, list):
            self.err(f"{key}.{k}", f"must be a list, got {_type_name(value)}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
                self.err(f"{key}.{k}[{i}]", f"must be a non-empty string, got {item!r}")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def a_date(self, d: dict, k: str, key: str) -> date | None:
        value = d.get(k, _MISSING)
        if value is _MISSING:
            return None
        if isinstance(value, NotADate):  # unquoted, shaped like a date, but no real day
            self.err(f"{key}.{k}", f"not a date: {value} (line {value.line})")
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.err(f"{key}.{k}", f"not a date (YYYY-MM-DD): {value!r}")
        return None

    def file(self, value: Any, key: str) -> Path | None:
        """A product photo or logo: inside the registry's folder and decodable (matchers/registry_photos.py)."""
        if not isinstance(value, str) or not value.strip():
            self.err(key, f"must be a file path, got {value!r}")
            return None
        path, problem = photo_problem(value.strip(), self.base_dir)
        if problem:
            self.err(key, problem)
            return None
        return path


    def document(self, value: Any, key: str) -> Path | None:
        """A certificate or letter: a file inside the registry's folder (any format: scans are often PDF)."""
        if not isinstance(value, str) or not value.strip():
            self.err(key, f"must be a file path, got {value!r}")
            return None
        path, problem = document_problem(value.strip(), self.base_dir)
        if problem:
            self.err(key, problem)
            return None
        return path

    def documents(self, d: dict, k: str, key: str) -> tuple[Path, ...]:
        value = d.get(k)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.err(f"{key}.{k}", f"must be a file path or a list of them, got {_type_name(value)}")
            return ()
        found = (self.document(item, f"{key}.{k}[{j}]") for j, item in enumerate(value))
        return tuple(path for path in found if path is not None)


# A trademark's documents, each a file or a list of files (paths relative to the registry).
TRADEMARK_DOCUMENTS = ("certificates", "renewal_certificates", "assignment_certificates", "extension_certificates")


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


# ---------------------------------------------------------------------------------------------


def load_registry(path: str | Path) -> Registry:
    """Load and validate a registry. Raises ``RegistryError`` listing every problem found."""
    path = Path(path).resolve()
    data = _read_yaml(path)
    chk = _Checker(path.parent)
    if data is None:
        raise RegistryError(path, ["the file is empty"])
    top = chk.mapping(
        data,
        "",
        allowed={"rights_holder", "trademarks", "copyrights", "products", "authorized_sellers", "watch"},
        required={"rights_holder", "trademarks"},
    )
    if top is None:
        raise RegistryError(path, chk.errors)

    rights_holder = _rights_holder(chk, top.get("rights_holder"))
    trademarks = _trademarks(chk, top.get("trademarks", []))
    copyrights = _copyrights(chk, top.get("copyrights") or [])
    products = _products(chk, top.get("products") or [], trademarks, copyrights)
    sellers = _authorized_sellers(chk, top.get("authorized_sellers") or [])
    watch = _watch(chk, top.get("watch"))

    if chk.errors:
        raise RegistryError(path, chk.errors)
    registry = Registry(
        path=path,
        rights_holder=rights_holder,  # type: ignore[arg-type]
        trademarks=tuple(trademarks.values()),
        copyrights=tuple(copyrights.values()),
        products=tuple(products),
        authorized_sellers=tuple(sellers),
        watch=watch,
    )
    registry.warnings.extend(_warnings(registry))
    return registry


def _rights_holder(chk: _Checker, value: Any) -> RightsHolder | None:
    if value is None:
        return None  # already reported as missing
    d = chk.mapping(value, "rights_holder", {"name", "contact_email", "agent"}, {"name", "contact_email"})
    if d is None:
        return None
    name = chk.string(d, "name", "rights_holder")
    email = chk.string(d, "contact_email", "rights_holder")
    if email and not _EMAIL.match(email):
        chk.err("rights_holder.contact_email", f"not an e-mail address: {email!r}")
    return RightsHolder(name or "", email or "", _agent(chk, d.get("agent")))


def _agent(chk: _Checker, value: Any) -> Agent | None:
    if value is None:
        return None
    key = "rights_holder.agent"
    d = chk.mapping(value, key, {"name", "power_of_attorney", "valid_until"}, {"name"})
    if d is None:
        return None
    name = chk.string(d, "name", key)
    poa = chk.document(d["power_of_attorney"], f"{key}.power_of_attorney") if d.get("power_of_attorney") else None
    return Agent(name or "", poa, chk.a_date(d, "valid_until", key))


def _list(chk: _Checker, value: Any, key: str) -> list:
    if not isinstance(value, list):
        chk.err(key, f"must be a list, got {_type_name(value)}")
        return []
    return value


def _trademarks(chk: _Checker, value: Any) -> dict[str, Trademark]:
    out: dict[str, Trademark] = {}
    items = _list(chk, value, "trademarks")
    if isinstance(value, list) and not value:
        chk.err("trademarks", "must list at least one trademark")
    fields = {
        "id",
        "mark",
        "registration_number",
        "office",
        "classes",
        "valid_from",
        "valid_until",
        "aliases",
        "logo",
        *TRADEMARK_DOCUMENTS,
        "registrant",
    }
    required = fields - {"aliases", "logo", "registrant", *TRADEMARK_DOCUMENTS}
    for i, item in enumerate(items):
        key = f"trademarks[{i}]"
        d = chk.mapping(item, key, fields, required)
        if d is None:
            continue
        tid = chk.string(d, "id", key)
        chk.declared.add(f"trademark:{tid}")
        if tid and tid in out:
            chk.err(f"{key}.id", f"duplicate id {tid!r}")
        mark = chk.string(d, "mark", key)
        reg_no = chk.string(d, "registration_number", key)
        office = chk.string(d, "office", key)
        classes: list[int] = []
        raw_classes = d.get("classes", [])
        if not isinstance(raw_classes, list) or not raw_classes:
            if "classes" in d:
                chk.err(
                    f"{key}.classes", f"must be a non-empty list of Nice classes (1-45), got {raw_classes!r}"
                )
        else:
            for j, c in enumerate(raw_classes):
                if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 45:
                    chk.err(f"{key}.classes[{j}]", f"not a Nice class (an integer 1-45): {c!r}")
                else:
                    classes.append(c)
        valid_from = chk.a_date(d, "valid_from", key)
        valid_until = chk.a_date(d, "valid_until", key)
        if valid_from and valid_until and valid_until < valid_from:
            chk.err(f"{key}.valid_until", f"{valid_until} is before valid_from {valid_from}")
        aliases = chk.string_list(d, "aliases", key)
        logo = chk.file(d["logo"], f"{key}.logo") if d.get("logo") is not None else None
        if tid and mark and reg_no and office and valid_from and valid_until and tid not in out:
            out[tid] = Trademark(
                id=tid,
                mark=mark,
                registration_number=reg_no,
                office=office.upper(),
                classes=tuple(classes),
                valid_from=valid_from,
                valid_until=valid_until,
                aliases=aliases,
                logo=logo,
                registrant=chk.string(d, "registrant", key, required=False),
                **{name: chk.documents(d, name, key) for name in TRADEMARK_DOCUMENTS},
            )
    return out


def _copyrights(chk: _Checker, value: Any) -> dict[str, Copyright]:
    out: dict[str, Copyright] = {}
    fields = {"id", "title", "registration_number", "official_url", "certificate", "claim_statement"}
    for i, item in enumerate(_list(chk, value, "copyrights")):
        key = f"copyrights[{i}]"
        d = chk.mapping(item, key, fields, {"id", "title"})
        if d is None:
            continue
        cid = chk.string(d, "id", key)
        chk.declared.add(f"copyright:{cid}")
        if cid and cid in out:
            chk.err(f"{key}.id", f"duplicate id {cid!r}")
        title = chk.string(d, "title", key)
        reg_no = chk.string(d, "registration_number", key, required=False)
        url = chk.string(d, "official_url", key, required=False)
        if url and not re.match(r"^https?://", url):
            chk.err(f"{key}.official_url", f"must be an http(s) URL, got {url!r}")
        documents = {name: chk.document(d[name], f"{key}.{name}") if d.get(name) else None
                     for name in ("certificate", "claim_statement")}
        if cid and title and cid not in out:
            out[cid] = Copyright(cid, title, reg_no, url, **documents)
    return out


def _products(
    chk: _Checker, value: Any, trademarks: dict[str, Trademark], copyrights: dict[str, Copyright]
) -> list[Product]:
    out: list[Product] = []
    seen: set[str] = set()
    fields = {"id", "name", "trademarks", "copyright", "keywords", "reference_price", "images"}
    for i, item in enumerate(_list(chk, value, "products")):
        key = f"products[{i}]"
        d = chk.mapping(item, key, fields, {"id", "name"})
        if d is None:
            continue
        pid = chk.string(d, "id", key)
        if pid and pid in seen:
            chk.err(f"{key}.id", f"duplicate id {pid!r}")
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
        images: list[Path] = []
        raw_images = d.get("images") or []
        if not isinstance(raw_images, list):
            chk.err(f"{key}.images", f"must be a list, got {_type_name(raw_images)}")
            raw_images = []
        for j, img in enumerate(raw_images):
            p = chk.file(img, f"{key}.images[{j}]")
            if p:
                images.append(p)
        if pid and name and pid not in seen:
            seen.add(pid)
            out.append(Product(pid, name, tms, cr, keywords, price, tuple(images)))
    return out


def _money(chk: _Checker, value: Any, key: str) -> Money | None:
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
        return Money(float(amount), currency.strip().upper())  # type: ignore[arg-type, union-attr]
    return None


def _authorized_sellers(chk: _Checker, value: Any) -> list[AuthorizedSeller]:
    out = []
    for i, item in enumerate(_list(chk, value, "authorized_sellers")):
        key = f"authorized_sellers[{i}]"
        d = chk.mapping(item, key, {"platform", "seller"}, {"platform", "seller"})
        if d is None:
            continue
        platform = chk.string(d, "platform", key)
        if platform and platform not in PLATFORMS:
            chk.err(f"{key}.platform", f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
        seller = chk.string(d, "seller", key)
        if platform and seller:
            out.append(AuthorizedSeller(platform, seller))
    return out


def _watch(chk: _Checker, value: Any) -> Watch:
    if value is None:
        return Watch()
    d = chk.mapping(value, "watch", {"platforms", "queries", "pages"}, set())
    if d is None:
        return Watch()
    platforms = chk.string_list(d, "platforms", "watch") or PLATFORMS
    for j, p in enumerate(platforms):
        if p not in PLATFORMS:
            chk.err(f"watch.platforms[{j}]", f"unknown platform {p!r} (one of {', '.join(PLATFORMS)})")
    queries = chk.string_list(d, "queries", "watch")
    pages = d.get("pages", 3)
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        chk.err("watch.pages", f"must be a positive integer, got {pages!r}")
        pages = 3
    return Watch(tuple(platforms), queries, pages)


def _warnings(reg: Registry) -> list[str]:
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
