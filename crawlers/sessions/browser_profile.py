"""Cookies read straight from the analyst's own chromium or Chrome profile (`scrapy session import PLATFORM
--from-browser`, or a profile folder or its ``Cookies`` database given as the FILE).

Chromium keeps cookies in an SQLite database, their values encrypted. On Linux the key is either the fixed
one of chromium's "basic" password store (a browser without a keyring: servers, containers) or one kept in
the desktop keyring, which only a D-Bus session can open. ``rookiepy`` (a kept library, optional extra
``browser-cookies``) decrypts both and needs D-Bus only for the keyring one; ``browser-cookie3`` fails
without a D-Bus session even when the basic key would do, and ``pycookiecheat`` pins an old ``cryptography``.
"""

from __future__ import annotations

from pathlib import Path

from crawlers.sessions.formats import CookieFormatError

# where Debian's chromium and Google Chrome keep their default profile
DEFAULT_PROFILES = ("~/.config/chromium/Default", "~/.config/google-chrome/Default")
# inside a profile: newer versions keep the database under Network/
DATABASE_NAMES = ("Network/Cookies", "Cookies")
SQLITE_MAGIC = b"SQLite format 3\x00"


def is_browser_profile(path: Path) -> bool:
    """A chromium profile folder, a folder holding one (``Default``), or a cookie database itself."""
    if path.is_dir():
        return any((path / name).is_file() for name in DATABASE_NAMES) or (path / "Default").is_dir()
    try:
        with path.open("rb") as head:
            return head.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def cookie_database(where: Path | None) -> Path:
    """The cookie database of ``where`` (a profile folder, a user-data folder or the database), or of the
    first default profile that has one."""
    candidates = [where] if where is not None else [Path(p).expanduser() for p in DEFAULT_PROFILES]
    for place in candidates:
        if place.is_file():
            return place
        for folder in (place, place / "Default"):
            for name in DATABASE_NAMES:
                if (folder / name).is_file():
                    return folder / name
    looked = ", ".join(str(p) for p in candidates)
    raise CookieFormatError(f"no chromium cookie database in {looked} (give the profile folder, e.g. "
                            "~/.config/chromium/Default, or export the cookies with a browser extension)")


def read_profile_cookies(database: Path, domains: list[str]) -> list[dict]:
    """The cookies of ``domains`` (and their subdomains) in ``database``, as Playwright cookie dicts."""
    try:
        import rookiepy
    except ImportError as exc:
        raise CookieFormatError("reading a browser profile needs rookiepy: pip install 'ipwatch[browser-cookies]' "
                                "(or export the cookies with a browser extension)") from exc
    try:
        found = rookiepy.chromium_based(str(database), domains=domains)
    except Exception as exc:  # rookiepy raises plain RuntimeErrors: a locked database, a keyring it cannot open
        raise CookieFormatError(f"{database}: the browser's cookies could not be read ({exc}); close the browser "
                                "and try again, or export the cookies with a browser extension") from None
    return [_as_playwright(cookie) for cookie in found if _under(str(cookie.get("domain", "")), domains)]


def _under(domain: str, domains: list[str]) -> bool:
    bare = domain.lower().lstrip(".")
    return any(bare == d or bare.endswith("." + d) for d in domains)


def _as_playwright(cookie: dict) -> dict:
    expires = cookie.get("expires")
    return {"name": str(cookie["name"]), "value": str(cookie.get("value") or ""), "domain": str(cookie["domain"]),
            "path": str(cookie.get("path") or "/"), "expires": float(expires) if expires else -1,
            "httpOnly": bool(cookie.get("http_only")), "secure": bool(cookie.get("secure")), "sameSite": "Lax"}
