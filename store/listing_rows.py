"""How a crawled listing becomes a ``listings`` row and a ``sightings`` row."""

from __future__ import annotations

from store.engine import to_json


def listing_row(run_id: str, item: dict, now: str) -> dict:
    """The listing's row, as first seen in ``run_id`` (an upsert keeps an earlier ``first_*``)."""
    seen_at = item.get("crawled_at") or now
    images = item.get("images") or []
    return {
        "platform": item["platform"], "listing_id": item["listing_id"], "url": item["url"], "title": item["title"],
        "price_min": item.get("price_min"), "price_max": item.get("price_max"),
        "currency": item.get("currency"), "seller_id": item.get("seller_id"),
        "seller_name": item.get("seller_name"),
        "main_image_phash": (images[0].get("phash") if images and isinstance(images[0], dict) else None),
        "first_seen": seen_at, "last_seen": seen_at, "first_run": run_id, "last_run": run_id,
        "score": item.get("score"), "verdict": item.get("verdict"), "reason": item.get("reason"),
        "ipr_id": item.get("ipr_id"), "product_id": item.get("product_id"),
        "explanation": item.get("explanation"), "data": to_json(dict(item)),
    }


def sighting_row(run_id: str, item: dict, now: str) -> dict:
    """Where and when ``run_id`` saw the listing."""
    return {
        "run_id": run_id, "platform": item["platform"], "listing_id": item["listing_id"],
        "query": item.get("query"), "page": item.get("page"), "rank": item.get("rank"),
        "price_min": item.get("price_min"), "price_max": item.get("price_max"),
        "seen_at": item.get("crawled_at") or now,
    }


def strip_nul(rows: list[dict]) -> None:
    """PostgreSQL refuses NUL in text (SQLite keeps it): a seller's stray NUL must not cost the batch."""
    for row in rows:
        for name, value in row.items():
            if isinstance(value, str) and "\x00" in value:
                row[name] = value.replace("\x00", "")
