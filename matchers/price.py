"""How a listing's price compares with the genuine product's reference price.

``ratio`` = listing unit price / reference price, both in the reference currency (rates: ``data/rates.yaml``,
overridable). The listing's *highest* price (``price_max``) is used: a range such as ¥59–¥1299 often hides a
cheap variant (a sticker, a dust bag), and judging by its top keeps a cheap variant from making a genuine
listing look like a fake.

Wholesale rule (1688 and Alibaba.com, or any listing with MOQ > 1): a genuine unit bought in bulk is normally
well below retail, so the raw ratio is divided by the expected wholesale share of retail before banding:
``wholesale_share`` (default 0.6) and, from ``bulk_moq`` units (default 100), ``bulk_share`` (default 0.5).
A ¥300 jacket on 1688 against a ¥1299 reference is raw 23%, effective 38%: "low", not "absurd"; ¥150 (12%) is
still "absurd" (19%): no genuine wholesale price is that low. The shares are deliberately modest (genuine
distributor prices for branded goods are rarely below half of retail) so the rule softens, not hides, a fake.

Bands of the effective ratio (``data/scoring.yaml`` ``price``): ``absurd`` below 0.3, ``low`` below 0.6,
otherwise ``normal``. Price alone never flags a listing; the scorer uses it only with a brand or image hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from contract.data import load_yaml
from registry import Money

DATA_DIR = Path(__file__).resolve().parent / "data"
WHOLESALE_PLATFORMS = frozenset({"1688", "alibaba"})


@lru_cache(maxsize=1)
def default_rates() -> dict[str, float]:
    with (DATA_DIR / "rates.yaml").open(encoding="utf-8") as fh:
        data = load_yaml(fh)
    return {str(k).upper(): float(v) for k, v in data["rates"].items()}


def load_rates(path: str | Path) -> dict[str, float]:
    """A rate table file in the format of ``data/rates.yaml`` (or a plain ``{CUR: rate}`` mapping)."""
    from yaml import YAMLError

    try:
        with Path(path).open(encoding="utf-8") as fh:
            data = load_yaml(fh) or {}
    except YAMLError as exc:  # the caller reports a ValueError with the file's name
        raise ValueError(f"not YAML: {exc}") from None
    table = data.get("rates", data) if isinstance(data, dict) else {}
    return {str(k).upper(): float(v) for k, v in table.items()}


@dataclass(frozen=True, slots=True)
class PriceSignal:
    ratio: float  # effective ratio (after the wholesale rule), what the band is read from
    raw_ratio: float  # unit price / reference price, both in the reference currency
    unit_price: float  # in the reference currency
    reference: Money
    wholesale: bool
    band: str  # absurd | low | normal

    def describe(self) -> str:
        text = f"price {self.raw_ratio:.0%} of reference"
        if self.wholesale:
            text += f" (wholesale: {self.ratio:.0%} of expected)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "ratio": round(self.ratio, 4),
            "raw_ratio": round(self.raw_ratio, 4),
            "unit_price": round(self.unit_price, 2),
            "reference": {"amount": self.reference.amount, "currency": self.reference.currency},
            "wholesale": self.wholesale,
            "band": self.band,
        }


class PriceJudge:
    def __init__(
        self,
        rates: dict[str, float] | None = None,
        *,
        absurd_below: float = 0.3,
        low_below: float = 0.6,
        wholesale_share: float = 0.6,
        bulk_share: float = 0.5,
        bulk_moq: int = 100,
        wholesale_platforms: frozenset[str] = WHOLESALE_PLATFORMS,
    ):
        self.rates = {**default_rates(), **{k.upper(): float(v) for k, v in (rates or {}).items()}}
        self.absurd_below = absurd_below
        self.low_below = low_below
        self.wholesale_share = wholesale_share
        self.bulk_share = bulk_share
        self.bulk_moq = bulk_moq
        self.wholesale_platforms = wholesale_platforms

    def convert(self, amount: float, from_currency: str, to_currency: str) -> float | None:
        src = self.rates.get((from_currency or "").upper())
        dst = self.rates.get((to_currency or "").upper())
        if src is None or dst is None or dst == 0:
            return None
        return amount * src / dst

    def judge(self, listing: dict, reference: Money | None) -> PriceSignal | None:
        """None when there is no reference, no usable price, or an unknown currency."""
        if reference is None:
            return None
        price = _number(listing.get("price_max"))
        if price is None:
            price = _number(listing.get("price_min"))
        if price is None or price <= 0:
            return None
        currency = listing.get("currency") or reference.currency
        unit = self.convert(price, currency, reference.currency)
        if unit is None:
            return None
        raw = unit / reference.amount
        moq = _number(listing.get("moq"))
        wholesale = listing.get("platform") in self.wholesale_platforms or (moq is not None and moq > 1)
        share = 1.0
        if wholesale:
            share = self.bulk_share if moq is not None and moq >= self.bulk_moq else self.wholesale_share
        ratio = raw / share
        band = "absurd" if ratio < self.absurd_below else "low" if ratio < self.low_below else "normal"
        return PriceSignal(ratio, raw, unit, reference, wholesale, band)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN
