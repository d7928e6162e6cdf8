"""What keeps the workbench safe: a token off loopback, CSRF on every change, no file outside its folders.

- Bound to loopback (the default), the workbench answers only requests whose ``Host`` is that loopback
  address, so a web page elsewhere cannot reach it through DNS rebinding.
- Bound anywhere else, every request needs the token ``scrapy review`` printed (in the URL once, then a
  cookie), as Jupyter does; without it the answer is 403.
- Every change (any method but GET and HEAD) carries the page's CSRF token (a header the page's script
  sends; a cross-site form cannot set a header) and, when the browser sends one, an ``Origin`` of the
  workbench itself.
- Every answer forbids framing (a decision is one key press: no page may wrap the workbench and catch
  keys) and scripts from anywhere but the workbench (Content-Security-Policy).
- Pictures are found from the store by listing id and served only from inside the images folder or the
  registry's folder; the client never names a path.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TOKEN_COOKIE = "ipwatch_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD")
# No inline script, nothing from elsewhere; inline style attributes stay allowed for the server-drawn SVG charts.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """``host`` names this machine only (127.0.0.0/8, ::1, localhost): no token needed there."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_cookie(port: int) -> str:
    """One cookie per port: two workbenches on one machine must not overwrite each other's token."""
    return f"{TOKEN_COOKIE}_{port}"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Guard:
    """ASGI middleware: host check, token, CSRF."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, token: str | None, csrf: str):
        self.app = app
        self.token = token
        self.csrf = csrf
        self.cookie = token_cookie(port)
        self.loopback = is_loopback(host)
        names = LOOPBACK | {host, f"[{host}]"}
        self.hosts = {f"{name}:{port}" for name in names} | names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if self.token and request.query_params.get("token") and request.method in SAFE_METHODS:
            # the printed URL: keep the token in a cookie and drop it from the address bar
            target = request.url.remove_query_params("token")
            response = RedirectResponse(str(target), status_code=303)
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send))

    def _refusal(self, request: Request) -> Response | None:
        if self.loopback and request.headers.get("host", "") not in self.hosts:
            return _refuse("refused: the workbench answers only on its loopback address")
        if self.token:
            given = (request.query_params.get("token") or request.cookies.get(self.cookie)
                     or request.headers.get("authorization", "").removeprefix("token ").strip())
            if not same(given, self.token):
                return _refuse("refused: this workbench needs its token; open the URL `scrapy review` printed")
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("origin")
            if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
                return _refuse("refused: a change must come from the workbench's own page")
            # every change is sent by the page's own script, with the token the page was served with
            if not same(request.headers.get(CSRF_HEADER), self.csrf):
                return _refuse("refused: the page's CSRF token is wrong or missing; reload the page")
        return None


def _refuse(message: str) -> Response:
    return PlainTextResponse(message, status_code=403, headers=SECURITY_HEADERS)


def _with_headers(send: Send) -> Send:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            present = {name.lower() for name, _ in headers}
            headers += [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
                        if name.encode() not in present]
            message = {**message, "headers": headers}
        await send(message)
    return sending


def inside(path: Path, *roots: Path) -> Path | None:
    """``path`` resolved, if it lies within one of ``roots`` (also resolved) and is a file; else None."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for root in roots:
        try:
            if resolved.is_relative_to(root.resolve()) and resolved.is_file():
                return resolved
        except OSError:
            continue
    return None
