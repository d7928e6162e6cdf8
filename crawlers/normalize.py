"""Field conventions shared by every spider (docs/contract.md §4).

Pure functions of strings: prices, counts, URLs, image sizes, titles. Spiders call these and never
re-implement them, so a listing means the same thing whichever platform it came from.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
# C0/C1 control characters (tabs and newlines become spaces first); bidi overrides and zero-width
# characters are kept in the title as evidence of what the seller wrote: matching removes them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Anything clean_text would change beyond trimming plain spaces: markup, entities, escapes, control
# characters, whitespace other than a single plain space.
_NEEDS_CLEANING = re.compile(r"[<>&\\\x00-\x1f\x7f-\x9f]|[^\S ]|  ")


def clean_text(value: object) -> str:
    """Text only: highlight markup and other tags removed, then entities decoded, whitespace collapsed.

    Handles ``<span class=H>``, ``<font color=red>``, ``<strong>``, ``\\u003d``-style escapes left in
    JavaScript literals, and entities escaped twice (``&amp;amp;``).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not _NEEDS_CLEANING.search(text):  # most titles and names: nothing to strip or decode
        return text.strip(" ")
    if "\\u" in text:
        text = _JS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Tags first, entities after: "&lt;LUMORA&gt;" is text the seller wrote, not markup to strip.
    text = _TAG.sub("", text)
    for _ in range(3):  # entities escaped twice are common in embedded JSON
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = _CONTROL.sub("", text.replace("\t", " ").replace("\r", " ").replace("\n", " "))
    return _SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------------
# Prices

_CURRENCY_MARKS = (
    ("US$", "USD"),
    ("USD", "USD"),
    ("US $", "USD"),
    ("CN¥", "CNY"),
    ("RMB", "CNY"),
    ("CNY", "CNY"),
    ("¥", "CNY"),
    ("￥", "CNY"),
    ("元", "CNY"),
    ("€", "EUR"),
    ("EUR", "EUR"),
    ("£", "GBP"),
    ("$", "USD"),
)
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+")


def parse_price(value: object) -> tuple[float | None, float | None, str | None]:
    """``"59.00"``, ``"93"``, ``"¥12.50-18.00"``, ``"US$0.50-1.20"``, ``"$12.50~15.00"`` → (min, max, currency).

    The currency is None when the text does not show one (the caller knows the platform's default).
    A single price gives min == max. Numbers-as-numbers are accepted too.
    """
    if value is None or value == "":
        return None, None, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), float(value), None
    text = clean_text(value)
    currency = None
    upper = text.upper()
    for mark, code in _CURRENCY_MARKS:
        if mark in upper or mark in text:
            currency = code
            break
    numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(text)]
    if not numbers:
        return None, None, currency
    low, high = numbers[0], numbers[1] if len(numbers) > 1 and _is_range(text) else numbers[0]
    if high < low:
        low, high = high, low
    return low, high, currency


def _is_range(text: str) -> bool:
    return bool(re.search(r"\d\s*(?:-|~|–|—|to|至)\s*[^\d\s]*\s*\d", text))


# ---------------------------------------------------------------------------------------------
# Counts (sales, "paid", MOQ)

_COUNT = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万|w|W|k|K|千)?\s*\+?")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000}


def parse_count(value: object) -> int | None:
    """``"300+人付款"`` → 300, ``"全网6000+人付款"`` → 6000, ``"1万+"`` → 10000, ``"1.5万+人付款"`` → 15000.

    Text such as ``"近30天成交1,234件"`` counts what follows the period, not the 30.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) else None
    text = clean_text(value)
    text = re.sub(r"近\s*\d+\s*(天|日|个月|月)", "", text)  # "in the last 30 days" is not the count
    match = _COUNT.search(text)
    if not match:
        return None
    number = float(match.group(1).replace(",", "")) * _MULTIPLIER.get(match.group(2) or "", 1)
    # hundreds of digits overflow to infinity: no count anyone shows, so unknown rather than a crash
    return round(number) if math.isfinite(number) else None


_MOQ = re.compile(r"(\d+(?:,\d{3})*)\s*([^\d\s.()]+(?:\s[a-zA-Z]+)?)?")


def parse_moq(value: object) -> tuple[int | None, str | None]:
    """``"Min. order: 100 pieces"`` → (100, "pieces"); ``"2件起批"`` → (2, "件"); ``"100 Pieces"`` → (100, "pieces")."""
    if value is None or value == "":
        return None, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value), None
    text = clean_text(value)
    text = re.sub(r"(?i)min\.?\s*order\s*:?", "", text)
    match = _MOQ.search(text)
    if not match:
        return None, None
    unit = match.group(2)
    if unit:
        unit = re.sub(r"(起批|起订|起)$", "", unit).strip().lower() or None
    return int(match.group(1).replace(",", "")), unit


# ---------------------------------------------------------------------------------------------
# URLs

def gbk_quote(text: str) -> str:
    """Keywords in the old Tmall list and 1688 URLs are GBK percent-escapes (露莫拉 → ``%C2%B6%C4%AA%C0%AD``).

    GB18030 is GBK's superset: the same bytes for every GBK character, and no query fails to encode.
    """
    return quote(text.encode("gb18030"), safe="")


def absolute_url(url: object, *, base_scheme: str = "https") -> str | None:
    """Protocol-relative ``//host/path`` → ``https://host/path``; ``http://`` on the platforms' hosts → https."""
    if not url:
        return None
    text = clean_text(url)
    if not text:
        return None
    if text.startswith("//"):
        return f"{base_scheme}:{text}"
    if text.startswith("http://"):
        return "https://" + text[len("http://"):]
    if text.startswith("https://"):
        return text
    if text.startswith("/"):
        return None  # relative to an unknown page: the caller must join it
    return None


# Resize suffixes appended to the real file name: "x.jpg_360x360q90.jpg_.webp", "x.jpg_400x400.jpg",
# "x.jpg_b.jpg" (old Tmall list), 1688's "x.290x290.jpg" and "x.jpg_.webp".
_ALICDN_SUFFIX = re.compile(
    r"(\.(?:jpe?g|png|gif|webp))(?:_\d+x\d+[^/]*|_b\.jpg|_\.webp|_sum\.jpg|_\d+x\d+q\d+\.jpg_\.webp)$",
    re.IGNORECASE,
)
_CBU_SIZE = re.compile(r"\.(?:\d+x\d+|search|summ|sum)\.(jpe?g|png|webp)$", re.IGNORECASE)


def full_size_image(url: object) -> str | None:
    """Absolute https URL of the full-size image: thumbnail suffixes such as ``_300x300.jpg`` removed."""
    absolute = absolute_url(url)
    if not absolute:
        return None
    try:
        parts = urlsplit(absolute)
    except ValueError:  # e.g. "//[" (an unclosed IPv6 host): a bad image URL, never a lost listing
        return None
    if not parts.hostname:
        return None
    path = parts.path
    previous = None
    while previous != path:  # suffixes can stack: ".jpg_360x360q90.jpg_.webp"
        previous = path
        path = _ALICDN_SUFFIX.sub(r"\1", path)
    path = _CBU_SIZE.sub(r".\1", path)
    return urlunsplit(("https", parts.netloc.lower(), path, "", ""))


_ID_PARAMS = ("id", "itemId", "item_id", "offerId", "nid")


def query_param(url: str, name: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == name and value:
            return value
    return None


def item_id_from_url(url: object) -> str | None:
    """The numeric item id of a Taobao/Tmall detail URL, a 1688 offer URL or an Alibaba.com product URL."""
    text = absolute_url(url) if url else None
    if not text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    for name in _ID_PARAMS:
        value = query_param(text, name)
        if value and value.isdigit():
            return value
    match = re.search(r"/offer/(\d+)\.html", parts.path) or re.search(r"_(\d{6,})\.html$", parts.path)
    return match.group(1) if match else None


_DETAIL_URL = {
    "taobao": "https://item.taobao.com/item.htm?id={id}",
    "tmall": "https://detail.tmall.com/item.htm?id={id}",
    "1688": "https://detail.1688.com/offer/{id}.html",
}


def canonical_url(platform: str, listing_id: str, source_url: str | None = None) -> str:
    """The canonical https detail URL with no tracking parameters.

    Alibaba.com keeps the descriptive slug of the product URL (it is part of the real address);
    everything after ``?`` is dropped.
    """
    if platform in _DETAIL_URL:
        return _DETAIL_URL[platform].format(id=listing_id)
    if platform == "alibaba":
        absolute = absolute_url(source_url) if source_url else None
        if absolute:
            parts = urlsplit(absolute)
            if parts.path.endswith(f"_{listing_id}.html"):
                path = parts.path.replace("/product-introduction/", "/product-detail/")
                return urlunsplit(("https", "www.alibaba.com", path, "", ""))
        return f"https://www.alibaba.com/product-detail/_{listing_id}.html"
    raise ValueError(f"unknown platform {platform!r}")


def strip_tracking(url: str, keep: tuple[str, ...] = ("id",)) -> str:
    """Drop every query parameter except ``keep`` (and the fragment)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in keep]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def utc_now() -> str:
    """ISO-8601 UTC with a Z, to the second (what ``crawled_at`` and evidence timestamps use)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shop_is_official(shop_name: str | None) -> bool:
    """Tmall naming rules reserve 旗舰店 (and 官方旗舰店) for brand-owned or exclusively authorised stores."""
    return bool(shop_name) and "旗舰店" in shop_name
