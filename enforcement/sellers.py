"""Repeat infringers and seller networks, across runs and platforms.

The seller view counts, per seller: listings seen, flagged, filed, removed, re-listed, confirmed
infringements in the last ``confirmed_days`` and the sales of flagged listings. Sellers are then linked,
transitively, when the evidence says one operator is behind them (rules in ``data/sellers.yaml``): the
same shop address, the same WeChat / QQ / phone id in their titles or pictures, or the same photo on flagged
listings when that photo is not one of the rights holder's (every copier steals the official photos, so
those prove nothing). Every link says which rule and which value made it.

The risk score (0–100) is a weighted sum of four capped parts, documented in the data file: recent
confirmed infringements, reach (log of sales), re-listing, and flagged listings. A network's score uses the
summed counts of its members. Sellers with enough confirmed infringements or re-listings are offered as
"store front" complaint candidates (IPP's complaint type for a whole shop).

The figures are tabular work over the store, so they are computed with pandas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pandas as pd

from contract import FLAGGED
from contract.data import read_yaml
from enforcement.lifecycle import TAKEN_DOWN

DATA = Path(__file__).with_name("data") / "sellers.yaml"

SellerKey = tuple[str, str]  # (platform, seller id or folded name)


@cache
def rules() -> dict:
    return read_yaml(DATA)


def seller_key(listing: dict, fold: Callable[[str], str]) -> SellerKey | None:
    """Who sold it: the platform's seller id when given, else the folded shop name; None when hidden."""
    platform = str(listing.get("platform") or "")
    if listing.get("seller_id"):
        return platform, f"id:{listing['seller_id']}"
    name = fold(str(listing.get("seller_name") or ""))
    return (platform, f"name:{name}") if name else None


@dataclass
class Link:
    a: SellerKey
    b: SellerKey
    rule: str
    value: str
    why: str


@dataclass
class SellerView:
    sellers: pd.DataFrame  # one row per seller, with its network and risk
    networks: pd.DataFrame  # one row per network of two or more sellers
    links: list[Link] = field(default_factory=list)


class _UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_seller_view(listings: Iterable[dict], *, case_history: Iterable[dict] = (), relisted: Iterable[tuple] = (),
                      fold: Callable[[str], str], contacts_of: Callable[[dict], Iterable[str]],
                      as_of: date) -> SellerView:
    """``listings``: store rows (platform, listing_id, seller_id, seller_name, verdict, sales, shop_url,
    main_image_phash, registered_image); ``case_history``: ``CaseBook.listing_history()``; ``relisted``:
    (platform, listing_id) of listings found re-listed; ``contacts_of``: normalised ids like ``wechat:abc``."""
    config = rules()
    rows, by_listing = [], {}
    for listing in listings:
        key = seller_key(listing, fold)
        if key is None:
            continue
        by_listing[(str(listing["platform"]), str(listing["listing_id"]))] = key
        rows.append({"seller": key, "platform": key[0], "seller_id": listing.get("seller_id") or "",
                     "seller_name": listing.get("seller_name") or "", "shop_url": _shop(listing.get("shop_url")),
                     "listing": (str(listing["platform"]), str(listing["listing_id"])),
                     "flagged": listing.get("verdict") in FLAGGED, "sales": _int(listing.get("sales")),
                     "phash": listing.get("main_image_phash") or "",
                     "official_photo": bool(listing.get("registered_image")),
                     "contacts": sorted(set(contacts_of(listing)) - set(config.get("ignore_contacts") or []))})
    frame = pd.DataFrame(rows, columns=["seller", "platform", "seller_id", "seller_name", "shop_url", "listing",
                                        "flagged", "sales", "phash", "official_photo", "contacts"])
    links = _links(frame, config)
    groups = _UnionFind()
    for key in frame["seller"]:
        groups.find(key)
    for link in links:
        groups.union(link.a, link.b)
    sellers = _per_seller(frame, case_history, set(relisted), by_listing, config, as_of)
    sellers["network"] = sellers["seller"].map(lambda key: groups.find(key))
    sellers["links"] = sellers["seller"].map(lambda key: "; ".join(
        link.why for link in links if key in (link.a, link.b)))
    networks = _per_network(sellers, config)
    return SellerView(sellers=sellers.sort_values(["risk", "flagged"], ascending=False, kind="stable"),
                      networks=networks, links=links)


def _links(frame: pd.DataFrame, config: dict) -> list[Link]:
    found: dict[tuple, Link] = {}

    def link(a: SellerKey, b: SellerKey, rule: str, value: str) -> None:
        if a == b:
            return
        a, b = sorted((a, b))
        found.setdefault((a, b, rule, value), Link(a, b, rule, value, config["links"][rule]["why"].format(value=value)))

    for column, rule in (("shop_url", "shop_url"),):
        for value, group in frame[frame[column] != ""].groupby(column):
            owners = sorted(set(group["seller"]))
            for other in owners[1:]:
                link(owners[0], other, rule, value)
    kinds = tuple(f"{kind}:" for kind in config["links"]["contact"]["kinds"])
    contacts = frame.explode("contacts").dropna(subset=["contacts"])
    contacts = contacts[contacts["contacts"].str.startswith(kinds)]
    for value, group in contacts.groupby("contacts"):
        owners = sorted(set(group["seller"]))
        for other in owners[1:]:
            link(owners[0], other, "contact", value)
    photos = frame[frame["flagged"] & (frame["phash"] != "") & ~frame["official_photo"]]
    limit = int(config["links"]["own_photo"]["max_distance"])
    entries = list(photos[["phash", "seller"]].itertuples(index=False))
    for i, (phash, owner) in enumerate(entries):
        for other_hash, other in entries[i + 1:]:
            if other != owner and _hamming(phash, other_hash) <= limit:
                link(owner, other, "own_photo", phash)
    return list(found.values())


def _per_seller(frame: pd.DataFrame, case_history: Iterable[dict], relisted: set, by_listing: dict,
                config: dict, as_of: date) -> pd.DataFrame:
    recent = (as_of - timedelta(days=int(config["risk"]["confirmed_days"]))).isoformat()
    filed, removed, confirmed = {}, {}, {}
    for row in case_history:
        key = by_listing.get((str(row["platform"]), str(row["listing_id"])))
        if key is None:
            continue
        filed[key] = filed.get(key, 0) + 1
        if row.get("removed_on"):
            removed[key] = removed.get(key, 0) + 1
        when = row.get("decided_on") or row.get("removed_on") or ""
        if row.get("state") in {str(s) for s in TAKEN_DOWN} and when >= recent:
            confirmed[key] = confirmed.get(key, 0) + 1
    relist_counts: dict = {}
    for listing in relisted:
        key = by_listing.get((str(listing[0]), str(listing[1])))
        if key is not None:
            relist_counts[key] = relist_counts.get(key, 0) + 1
    grouped = frame.groupby("seller", sort=True).agg(
        platform=("platform", "first"), seller_id=("seller_id", "first"), seller_name=("seller_name", "last"),
        shop_url=("shop_url", lambda s: next((v for v in s if v), "")), listings=("listing", "nunique"),
        flagged=("flagged", "sum"),
        sales=("sales", lambda s: int(s[frame.loc[s.index, "flagged"]].sum())),
    ).reset_index()
    grouped["filed"] = grouped["seller"].map(lambda k: filed.get(k, 0))
    grouped["removed"] = grouped["seller"].map(lambda k: removed.get(k, 0))
    grouped["relisted"] = grouped["seller"].map(lambda k: relist_counts.get(k, 0))
    grouped["confirmed_recent"] = grouped["seller"].map(lambda k: confirmed.get(k, 0))
    grouped["flagged"] = grouped["flagged"].astype(int)
    # a list, not apply's result: on no sellers at all, apply gives back a frame, not a column
    grouped["risk"] = [risk_score(row, config) for row in grouped.to_dict("records")]
    storefront = config["storefront"]
    grouped["storefront_candidate"] = (grouped["confirmed_recent"] >= storefront["min_confirmed"]) | (
        grouped["relisted"] >= storefront["min_relisted"])
    return grouped


def _per_network(sellers: pd.DataFrame, config: dict) -> pd.DataFrame:
    columns = ["network", "members", "platforms", "flagged", "filed", "removed", "relisted", "confirmed_recent",
               "sales", "risk", "sellers"]
    multi = sellers.groupby("network").filter(lambda g: len(g) > 1)
    if multi.empty:
        return pd.DataFrame(columns=columns)
    networks = multi.groupby("network").agg(
        members=("seller", "count"), platforms=("platform", lambda s: ",".join(sorted(set(s)))),
        flagged=("flagged", "sum"), filed=("filed", "sum"), removed=("removed", "sum"),
        relisted=("relisted", "sum"), confirmed_recent=("confirmed_recent", "sum"), sales=("sales", "sum"),
        sellers=("seller_name", lambda s: ", ".join(sorted(set(s)))),
    ).reset_index()
    networks["risk"] = [risk_score(row, config) for row in networks.to_dict("records")]
    return networks[columns].sort_values("risk", ascending=False, kind="stable")


def risk_score(row, config: dict) -> float:
    weights, caps = config["risk"]["weights"], config["risk"]["caps"]
    parts = {
        "confirmed": min(1.0, row["confirmed_recent"] / caps["confirmed"]),
        "reach": min(1.0, math.log10(1 + max(0, int(row["sales"]))) / config["risk"]["reach_log10_cap"]),
        "relisted": min(1.0, row["relisted"] / caps["relisted"]),
        "flagged": min(1.0, row["flagged"] / caps["flagged"]),
    }
    return round(100 * sum(weights[name] * value for name, value in parts.items()), 1)


def _shop(url: str | None) -> str:
    """A shop address without scheme, query or trailing slash, so two spellings of one shop agree."""
    text = str(url or "").strip().lower()
    for prefix in ("https://", "http://", "//"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.split("?", 1)[0].split("#", 1)[0].rstrip("/")


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _hamming(a: str, b: str) -> int:
    try:
        return bin(int(a, 16) ^ int(b, 16)).count("1")
    except ValueError:
        return 64
