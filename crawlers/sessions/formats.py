"""Cookies a user brings: a browser-extension JSON export, a Netscape ``cookies.txt``, a raw ``Cookie:`` header.

All three become Playwright's cookie dicts (``name, value, domain, path, expires, httpOnly, secure,
sameSite``), the shape the session file keeps and a browser context loads. ``expires`` is epoch seconds,
``-1`` for a cookie that lives as long as the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None", "no_restriction": "None", "unspecified": "Lax"}


class CookieFormatError(ValueError):
    """The text is in none of the known formats, or a line of it is broken; the message names it."""


def read_cookie_file(path: Path, default_domain: str) -> tuple[list[dict], str]:
    """The cookies of ``path`` and the name of the format found."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CookieFormatError(f"{path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise CookieFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return parse_cookies(text, default_domain)
    except CookieFormatError as exc:
        raise CookieFormatError(f"{path}: {exc}") from exc


def parse_cookies(text: str, default_domain: str) -> tuple[list[dict], str]:
    """Cookies from any of the three formats; ``default_domain`` is used by the header format, which has none."""
    stripped = text.strip()
    if not stripped:
        raise CookieFormatError("empty: no cookies in it")
    if stripped[0] in "[{":
        return from_extension_json(stripped), "browser-extension JSON"
    lines = [line for line in stripped.splitlines() if line.strip()]
    if stripped.startswith("# Netscape") or stripped.startswith("# HTTP Cookie") or any(
            line.count("\t") >= 6 for line in lines[:20]):
        return from_netscape(stripped), "Netscape cookies.txt"
    return from_header(stripped, default_domain), "Cookie header"


def _cookie(name: str, value: str, domain: str, path: str = "/", expires: float = -1, *, secure: bool = False,
            http_only: bool = False, same_site: str = "Lax") -> dict:
    return {"name": name, "value": value, "domain": domain, "path": path or "/", "expires": expires,
            "httpOnly": http_only, "secure": secure, "sameSite": same_site}


def from_extension_json(text: str) -> list[dict]:
    """EditThisCookie / Cookie-Editor: a list of ``{domain, name, value, path, expirationDate, …}``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CookieFormatError(f"invalid JSON ({exc})") from exc
    if isinstance(data, dict):  # a Playwright storage state, or {"cookies": [...]}
        data = data.get("cookies")
    if not isinstance(data, list):
        raise CookieFormatError("JSON is not a list of cookies (nor an object with a 'cookies' list)")
    cookies = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not entry.get("name") or "value" not in entry or not entry.get("domain"):
            raise CookieFormatError(f"cookie {index}: needs name, value and domain")
        expires = entry.get("expirationDate", entry.get("expires", -1))
        if entry.get("session") or expires in (None, ""):
            expires = -1
        try:
            expires = float(expires)
        except (TypeError, ValueError):
            raise CookieFormatError(f"cookie {index} ({entry['name']}): expiry {expires!r} is not a number") from None
        same_site = SAME_SITE.get(str(entry.get("sameSite") or "lax").lower(), "Lax")
        cookies.append(_cookie(str(entry["name"]), str(entry["value"]), str(entry["domain"]),
                               str(entry.get("path") or "/"), expires, secure=bool(entry.get("secure")),
                               http_only=bool(entry.get("httpOnly")), same_site=same_site))
    return cookies


def from_netscape(text: str) -> list[dict]:
    """``domain  include_subdomains  path  secure  expiry  name  value``, tab-separated; ``#HttpOnly_`` prefix."""
    cookies = []
    for number, line in enumerate(text.splitlines(), start=1):
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line[len("#HttpOnly_"):]
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) == 6:  # an empty value loses its trailing tab in some exports
            fields.append("")
        if len(fields) != 7:
            raise CookieFormatError(f"line {number}: {len(fields)} tab-separated fields, a cookie line has 7")
        domain, _subdomains, path, secure, expiry, name, value = fields
        try:
            expires = float(expiry) if expiry.strip() not in ("", "0") else -1
        except ValueError:
            raise CookieFormatError(f"line {number}: expiry {expiry!r} is not a number") from None
        cookies.append(_cookie(name, value, domain, path, expires, secure=secure.upper() == "TRUE",
                               http_only=http_only))
    if not cookies:
        raise CookieFormatError("no cookie lines")
    return cookies


def from_header(text: str, default_domain: str) -> list[dict]:
    """``a=1; b=2`` (optionally starting ``Cookie:``), every cookie for ``.<default_domain>``."""
    if text.lower().startswith("cookie:"):
        text = text[len("cookie:"):]
    cookies = []
    for number, pair in enumerate(text.replace("\n", ";").split(";"), start=1):
        pair = pair.strip()
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CookieFormatError(f"part {number} ({pair[:30]!r}) is not name=value")
        cookies.append(_cookie(name.strip(), value.strip(), "." + default_domain.lstrip(".")))
    return cookies
