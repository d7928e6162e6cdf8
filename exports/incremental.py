"""What changed since earlier runs: new, seen, complained, re-listed, removed (docs/contract.md §6, §7).

- **new**: first seen in this run;
- **seen**: seen in an earlier run too;
- **complained**: a complaint was prepared or filed for it and it is still online;
- **re-listed**: a flagged listing under another id whose main image hash or normalised title matches a
  listing that was complained about (same seller or another one);
- **removed**: a complained listing not found in this run whose detail page confirms it is gone
  (``crawlers/spiders/check_removed.py``).

Review decisions are remembered with a fingerprint of what the reviewer saw (title, price, main image):
a rejected listing is not asked about again unless one of them changes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator

from contract import FLAGGED, ListingStatus, normalize_seller
from contract.image_hit import confident_registered_image

# Two perceptual hashes this close (out of 64 bits) are the same photo re-uploaded.
RELIST_MAX_DISTANCE = 6

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def title_key(title: str | None) -> str:
    """A title reduced to what survives re-listing tricks: NFKC, case, spacing and punctuation."""
    text = unicodedata.normalize("NFKC", title or "").casefold()
    return _NOT_WORD.sub("", text)


def main_image_phash(listing: dict) -> str | None:
    images = listing.get("images") or []
    if images and isinstance(images[0], dict) and images[0].get("phash"):
        return images[0]["phash"]
    return listing.get("main_image_phash")


def fingerprint(listing: dict) -> str:
    """What a reviewer's decision was about: title, price and main image."""
    parts = [title_key(listing.get("title")), str(listing.get("price_min")), str(listing.get("price_max")),
             main_image_phash(listing) or ""]
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()


def changes(seen: dict, now: dict) -> list[str]:
    """What changed between the listing a reviewer saw and the listing now, in the fingerprint's terms
    (title, price, main image), e.g. ``["price 59.00 → 199.00"]``; empty when the decision still holds.

    ``seen`` is a listing, or a review row (``title`` and ``price`` as the review file shows them); what
    it does not hold (a review row has no image hash, a trimmed review file may have no title) is not
    compared."""
    from exports.review_csv import format_price

    found = []
    if "title" in seen and title_key(seen.get("title")) != title_key(now.get("title")):
        found.append(f"title {_short(seen.get('title'))!r} → {_short(now.get('title'))!r}")
    before = None
    if "price" in seen:
        low, _, high = str(seen["price"]).replace(",", ".").partition("-")  # "59.00" or "12.50-18.00"
        before = format_price(low, high or None)
    elif "price_min" in seen or "price_max" in seen:
        before = format_price(seen.get("price_min"), seen.get("price_max"))
    after = format_price(now.get("price_min"), now.get("price_max"))
    if before is not None and before != after:
        found.append(f"price {before or 'none'} → {after or 'none'}")
    image_before, image_after = main_image_phash(seen), main_image_phash(now)
    if image_before and image_after and image_before != image_after:
        found.append(f"main image {image_before} → {image_after}")
    return found


def _short(text: object, limit: int = 60) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hamming(a: str, b: str) -> int:
    try:
        return bin(int(a, 16) ^ int(b, 16)).count("1")
    except ValueError:
        return 64


class RelistIndex:
    """Complained listings by title key and main-image hash, to spot the same goods under a new id."""

    def __init__(self, complained: Iterable[dict]):
        self.by_title: dict[str, tuple[str, str]] = {}
        self.hashes: list[tuple[str, tuple[str, str], str, str | None]] = []
        self.keys: set[tuple[str, str]] = set()
        self.filed_at: dict[tuple[str, str], str] = {}
        for row in complained:
            key = (row["platform"], row["listing_id"])
            self.keys.add(key)
            self.filed_at[key] = row.get("filed_at") or ""
            if row.get("title_key"):
                self.by_title.setdefault(row["title_key"], key)
            if row.get("main_image_phash"):
                self.hashes.append((row["main_image_phash"], key, normalize_seller(row.get("seller_name")),
                                    row.get("registered_image")))

    def match(self, listing: dict) -> tuple[str, str] | None:
        """The complained listing this one re-lists, if any.

        Only a listing first seen after the complaint was filed can re-list it. The same normalised
        title under another id is a re-listing. The same main image is one too, except when both
        images are the rights holder's own registered photo and the sellers differ: copiers share the
        brand's official photos, so that alone does not make one listing another.
        """
        key = (listing["platform"], listing["listing_id"])
        first_seen = listing.get("first_seen") or ""

        def after_complaint(original: tuple[str, str]) -> bool:
            return first_seen >= self.filed_at.get(original, "")

        original = self.by_title.get(title_key(listing.get("title")))
        if original and original != key and after_complaint(original):
            return original
        phash = main_image_phash(listing)
        if phash:
            registered = confident_registered_image(listing.get("image_hit"))
            seller = normalize_seller(listing.get("seller_name"))
            for other, original, other_seller, other_registered in self.hashes:
                if original == key or _hamming(phash, other) > RELIST_MAX_DISTANCE:
                    continue
                if registered and other_registered == registered and seller != other_seller:
                    continue  # the same stolen official photo, another seller
                if not after_complaint(original):
                    continue  # it was already there when the complaint was filed
                return original
        return None


def annotate(listings: Iterable[dict], *, run_id: str, complained: list[dict],
             decisions: dict[tuple[str, str], dict]) -> Iterator[dict]:
    """Each listing of this run with ``status`` (and ``relisted_from``, ``decision`` when they apply).

    A listing the reviewer rejected with an unchanged fingerprint gets ``review_again = False`` so the
    review file leaves it out; any change of title, price or image asks again.
    """
    index = RelistIndex(complained)
    for listing in listings:
        key = (listing["platform"], listing["listing_id"])
        relisted_from = None
        if key in index.keys:
            status = ListingStatus.COMPLAINED
        elif listing.get("verdict") in FLAGGED and (relisted_from := index.match(listing)):
            status = ListingStatus.RELISTED
        elif listing.get("first_run") == run_id:
            status = ListingStatus.NEW
        else:
            status = ListingStatus.SEEN
        listing["status"] = status
        if relisted_from:
            listing["relisted_from"] = f"{relisted_from[0]}:{relisted_from[1]}"
        decision = decisions.get(key)
        listing["review_again"] = True
        if decision:
            listing["previous_decision"] = decision["decision"]
            unchanged = decision["fingerprint"] == fingerprint(listing)
            if decision["decision"] == "reject" and unchanged:
                listing["review_again"] = False
            if decision["decision"] == "approve" and status == ListingStatus.COMPLAINED:
                listing["review_again"] = False  # already filed; shown in the report, not asked again
        yield listing


def record_filing(store, decisions: dict[tuple[str, str], dict], listings: Iterable[dict], batches, *,
                  registry=None, folder: str | None = None) -> tuple[int, int]:
    """Remember what the reviewer decided and what was filed, for the next monitor run.

    ``decisions``: review rows by (platform, listing_id) (``exports.review_csv.read_decisions``);
    ``listings``: the listings as the reviewer saw them (their fingerprints are kept; a decision whose
    listing is not among them is not remembered, so the next run asks again); ``batches``: the complaint
    batches written to ``folder``; ``registry``: whose decisions and complaints these are.
    Returns (decisions recorded, complaints recorded).
    """
    filed = {}
    for batch in batches:
        for item in batch.listings:
            filed[(str(item["platform"]), str(item["listing_id"]))] = (batch, item)
    wanted = {key for key, row in decisions.items() if row.get("decision") in ("approve", "reject")} | set(filed)
    data = {}
    for listing in listings:
        key = (str(listing.get("platform")), str(listing.get("listing_id")))
        if key in wanted:
            data[key] = listing
    reviews = []
    for key in sorted(wanted):
        listing = data.get(key)
        if listing is None:
            continue
        decision = decisions.get(key, {}).get("decision") or "approve"  # auto-approved above the bar
        reviews.append({"platform": key[0], "listing_id": key[1], "decision": decision,
                        "fingerprint": fingerprint(listing)})
    complaints = []
    for key, (batch, item) in sorted(filed.items()):
        listing = data.get(key, item)
        complaints.append({"platform": key[0], "listing_id": key[1], "ipr_id": str(item.get("ipr_id") or ""),
                           "reason": str(item.get("reason") or ""), "batch": batch.id,
                           "main_image_phash": main_image_phash(listing), "title_key": title_key(listing.get("title"))})
    store.record_reviews(reviews, registry=registry)
    store.record_complaints(complaints, registry=registry, folder=folder)
    return len(reviews), len(complaints)
