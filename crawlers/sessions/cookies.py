"""One cookie jar per session: Playwright cookie dicts in and out of Scrapy's (stdlib) cookie jar."""

from __future__ import annotations

from http.cookiejar import Cookie

from scrapy.http.cookies import CookieJar


def _to_jar_cookie(cookie: dict) -> Cookie:
    domain = str(cookie["domain"])
    expires = cookie.get("expires", -1)
    expires = int(float(expires)) if expires not in (None, "") and float(expires) > 0 else None
    rest = {"HttpOnly": None} if cookie.get("httpOnly") else {}
    return Cookie(0, str(cookie["name"]), str(cookie.get("value", "")), None, False, domain, True,
                  domain.startswith("."), str(cookie.get("path") or "/"), True, bool(cookie.get("secure")),
                  expires, expires is None, None, None, rest)


def _to_dict(cookie: Cookie) -> dict:
    return {"name": cookie.name, "value": cookie.value or "", "domain": cookie.domain, "path": cookie.path or "/",
            "expires": float(cookie.expires) if cookie.expires else -1,
            "httpOnly": cookie.has_nonstandard_attr("HttpOnly") or cookie.has_nonstandard_attr("httponly"),
            "secure": bool(cookie.secure), "sameSite": "Lax"}


def jar_from(cookies: list[dict]) -> CookieJar:
    jar = CookieJar()
    for cookie in cookies:
        jar.jar.set_cookie(_to_jar_cookie(cookie))
    return jar


def jar_cookies(jar: CookieJar) -> list[dict]:
    """What the jar holds now (refreshed values included), for writing back to the session file."""
    return [_to_dict(cookie) for cookie in jar.jar]
