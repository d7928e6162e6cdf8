"""One cookie jar per session: Playwright cookie dicts in and out of Scrapy's (stdlib) cookie jar, and the
cookies a rendered page left in the browser read back into it."""

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


def merge_into(jar: CookieJar, cookies: list[dict], domains: list[str]) -> int:
    """Set ``cookies`` (Playwright dicts) whose domain is one of ``domains`` (or under one) in ``jar``,
    replacing what it holds under the same name, domain and path. Returns how many changed."""
    held = {(c.name, c.domain, c.path): c.value for c in jar.jar}
    changed = 0
    for cookie in cookies:
        domain = str(cookie.get("domain", "")).lower()
        if not any(domain.lstrip(".") == d or domain.endswith("." + d) for d in domains):
            continue
        made = _to_jar_cookie(cookie)
        if held.get((made.name, made.domain, made.path)) != made.value:
            jar.jar.set_cookie(made)
            changed += 1
    return changed


# --- the render browser -------------------------------------------------------------------------------
BROWSER_COOKIES_KEY = "session_browser_cookies"  # the page method's key when page methods are a dict


async def browser_cookies(page) -> list[dict]:
    """A scrapy-playwright page method: the cookies of the page's browser context once the page is done
    (those its scripts set included, which no response header shows)."""
    return await page.context.cookies()


def read_browser_cookies(meta: dict) -> None:
    """Add :func:`browser_cookies` as the last page method of a rendered request (kept picklable)."""
    from scrapy_playwright.page import PageMethod

    methods = meta.get("playwright_page_methods") or []
    if isinstance(methods, dict):
        meta["playwright_page_methods"] = {**methods, BROWSER_COOKIES_KEY: PageMethod(browser_cookies)}
    elif not any(getattr(m, "method", None) is browser_cookies for m in methods):
        meta["playwright_page_methods"] = [*methods, PageMethod(browser_cookies)]


def cookies_from_browser(meta: dict) -> list[dict]:
    """What :func:`browser_cookies` returned for this rendered response, or ``[]``."""
    methods = meta.get("playwright_page_methods") or []
    for method in methods.values() if isinstance(methods, dict) else methods:
        if getattr(method, "method", None) is browser_cookies and isinstance(getattr(method, "result", None), list):
            return method.result
    return []
