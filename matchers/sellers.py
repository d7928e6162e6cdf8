"""Imposter stores: a seller that is not on the rights holder's authorized list but names itself the brand's
official or flagship store.

A seller name is read twice:

* **folded for comparison** (``contract.normalize_seller``): NFKC (full-width letters), casefold, traditional characters as
  simplified, and no spaces, punctuation or invisible characters, so "Lumora Outdoor Co., Ltd." and
  "LUMORA OUTDOOR CO.,LTD" are one name. Look-alike letters are *not* folded: a Cyrillic "Lumоra官方旗舰店" is a
  different shop, and one letter away from the real one;
* **for the brand** through the scorer's mark matcher (every disguise of the mark it knows).

A claim (``data/store_claims.yaml``: 旗舰店, 官方, 专卖店, "official store", "flagship"...) next to a registered
mark, from a seller not on the list, is trademark misuse. It is **strong** where the claim cannot be true (a Taobao
C-shop, 1688, Alibaba.com), or when the name is a near copy of an authorized store's name (one character off);
otherwise (a Tmall shop that may have its own authorization) it is a question for a human.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

from contract import normalize_seller
from contract.data import load_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def store_claims() -> dict:
    with (DATA_DIR / "store_claims.yaml").open(encoding="utf-8") as fh:
        return load_yaml(fh) or {}


@dataclass(frozen=True)
class StoreClaim:
    """What a seller's name claims, and why it cannot be taken at its word."""

    seller: str
    claims: tuple[str, ...]  # claim words in the name, as listed in the data file
    trademark_ids: tuple[str, ...]  # marks the name carries (or the copied authorized store carries)
    strong: bool
    why: str  # a reviewer's reading
    near_copy_of: str = ""  # the authorized store's name it is one character away from

    def as_dict(self) -> dict:
        return {
            "seller": self.seller,
            "claims": list(self.claims),
            "trademark_ids": list(self.trademark_ids),
            "strong": self.strong,
            "near_copy_of": self.near_copy_of,
        }


class StoreCheck:
    """Built once per registry; ``check(platform, seller_name)`` for each listing whose seller is not authorized."""

    def __init__(self, registry, marks):
        data = store_claims()
        self.marks = marks
        self.claims = [(c, normalize_seller(str(c))) for c in data.get("claims", [])]
        self.impossible_on = frozenset(str(p) for p in data.get("claims_impossible_on", []))
        self.near_distance = int(data.get("near_copy_distance", 1))
        self.min_length = int(data.get("min_name_length", 6))
        self._seen: dict[tuple[str, str], StoreClaim | None] = {}
        # each authorized store's folded name, with the marks its name carries
        self.authorized: list[tuple[str, str, tuple[str, ...]]] = []
        for a in registry.authorized_sellers:
            folded = normalize_seller(a.seller)
            ids = tuple(dict.fromkeys(h.trademark_id for h in marks.find(a.seller, fuzzy=False)))
            self.authorized.append((a.seller, folded, ids))
        # platform -> authorized names of every platform sharing its namespace of shop names
        groups = [frozenset(str(p) for p in g) for g in data.get("shared_shop_names", [])]
        self._authorized_names: dict[str, frozenset[str]] = {}
        for a in registry.authorized_sellers:
            for group in [g for g in groups if str(a.platform) in g] or [frozenset({str(a.platform)})]:
                for platform in group:
                    names = self._authorized_names.get(platform, frozenset())
                    self._authorized_names[platform] = names | {normalize_seller(a.seller)}

    def check(self, platform: str, seller_name: str) -> StoreClaim | None:
        """The claim a non-authorized seller's name makes, or None when it claims nothing about the brand."""
        key = (platform, seller_name)
        if key not in self._seen:
            if len(self._seen) > 50_000:  # a crawl meets the same few thousand sellers again and again
                self._seen.clear()
            self._seen[key] = self._check(platform, seller_name)
        return self._seen[key]

    def _check(self, platform: str, seller_name: str) -> StoreClaim | None:
        folded = normalize_seller(seller_name)
        if not folded or folded in self._authorized_names.get(platform, ()):
            # the holder's own store under another platform label (Taobao search shows Tmall shops, and the
            # two share one namespace of shop names): never an imposter
            return None
        found = [(c, f) for c, f in self.claims if f and f in folded]
        # "official store" is one claim, not also "official" and "officialstore"
        longest = {f: c for c, f in found if not any(f != g and f in g for _, g in found)}
        claims = tuple(longest.values())
        copied = self._near_copy(folded)
        if not claims and copied is None:
            return None
        ids = tuple(dict.fromkeys(h.trademark_id for h in self.marks.find(seller_name, fuzzy=False)))
        if copied is not None:
            name, copied_ids = copied
            why = f"seller name '{seller_name}' is one character off the authorized store '{name}'"
            return StoreClaim(seller_name, claims, ids or copied_ids, True, why, name)
        if not claims or not ids:
            return None
        said = ", ".join(f"'{c}'" for c in claims)
        if platform in self.impossible_on:
            why = f"seller '{seller_name}' calls itself {said} on {platform}, where no shop can be the brand's own"
            return StoreClaim(seller_name, claims, ids, True, why)
        why = f"seller '{seller_name}' calls itself {said} but is not on the authorized list"
        return StoreClaim(seller_name, claims, ids, False, why)

    def _near_copy(self, folded: str) -> tuple[str, tuple[str, ...]] | None:
        if len(folded) < self.min_length:
            return None
        for name, auth, ids in self.authorized:
            if len(auth) < self.min_length or abs(len(auth) - len(folded)) > self.near_distance:
                continue
            if 0 < OSA.distance(folded, auth, score_cutoff=self.near_distance + 1) <= self.near_distance:
                return name, ids
        return None
