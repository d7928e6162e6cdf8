"""The fields of a listing as crawled, of its score, and of what a run's ``listings.jsonl`` adds."""

from __future__ import annotations

LISTING_FIELDS: tuple[str, ...] = (
    "platform",
    "listing_id",
    "url",
    "title",
    "price_min",
    "price_max",
    "currency",
    "moq",
    "moq_unit",
    "sales",
    "seller_id",
    "seller_name",
    "seller_unknown",
    "shop_url",
    "location",
    "is_official_store",
    "image_urls",
    "images",
    "query",
    "page",
    "rank",
    "crawled_at",
)
SCORE_FIELDS: tuple[str, ...] = ("score", "verdict", "reason", "ipr_id", "product_id", "signals", "explanation")
# What the monitor adds so reports and complaints can be rebuilt from listings.jsonl alone.
STORED_FIELDS: tuple[str, ...] = ("image_hit", "status", "first_seen", "last_seen", "relisted_from")
