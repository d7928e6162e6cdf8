"""What a rights holder's registry (``registry.yaml``) holds, once loaded and checked: the rights owned,
the products, who may sell them, and where to look. Plain frozen values; loading and checking them is
``registry.parse``, and the process-wide cache ``registry.load``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from contract import PLATFORMS, citation_status, normalize_seller


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
    """A reference price: listings far below it are suspect."""

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


# A trademark's documents, each a file or a list of files (paths relative to the registry).
TRADEMARK_DOCUMENTS = ("certificates", "renewal_certificates", "assignment_certificates", "extension_certificates")


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
class Watch:
    """Where to look: the platforms, the searches (default: made from the marks), result pages per search."""

    platforms: tuple[str, ...] = PLATFORMS
    queries: tuple[str, ...] = ()
    pages: int = 3


@dataclass(frozen=True)
class AuthorizedSeller:
    """A shop allowed to sell the products on one platform (names compared by ``normalize_seller``)."""

    platform: str
    seller: str


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

    def files(self) -> tuple[Path, ...]:
        """Every file the registry names (photos, logos, certificates, letters), each once, in order."""
        named: list[Path | None] = [self.rights_holder.agent.power_of_attorney if self.rights_holder.agent else None]
        for tm in self.trademarks:
            named.append(tm.logo)
            named.extend(path for name in TRADEMARK_DOCUMENTS for path in getattr(tm, name))
        named.extend(path for c in self.copyrights for path in (c.certificate, c.claim_statement))
        named.extend(path for p in self.products for path in p.images)
        return tuple(dict.fromkeys(path for path in named if path is not None))
