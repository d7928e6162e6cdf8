"""What keeps the workbench safe: a token off loopback, CSRF on every change, no file outside its folders.

- Bound to loopback (the default), the workbench answers only requests whose ``Host`` is that loopback
  address, so a web page elsewhere cannot reach it through DNS rebinding.
- Bound anywhere else, every request needs the token ``scrapy review`` printed (in the URL once, then a
  cookie), as Jupyter does; without it the answer is 403.
- Every POST carries the page's CSRF token (a header the page's script sends) and, when the
  browser sends one, an ``Origin`` of the workbench itself.
- Pictures are found from the store by listing id and served only from inside the images folder or the
  registry's folder; the client never names a path.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TOKEN_COOKIE = "ipwatch_token"
CSRF_HEADER = "x-csrf-token"


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
        self.loopback = host in LOOPBACK
        self.hosts = {f"{name}:{port}" for name in LOOPBACK} | {name for name in LOOPBACK}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if self.token and request.query_params.get("token"):
            # the printed URL: keep the token in a cookie and drop it from the address bar
            target = request.url.remove_query_params("token")
            response = RedirectResponse(str(target), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        if self.loopback and request.headers.get("host", "") not in self.hosts:
            return PlainTextResponse("refused: the workbench answers only on its loopback address", status_code=403)
        if self.token:
            given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
                     or request.headers.get("authorization", "").removeprefix("token ").strip())
            if not same(given, self.token):
                return PlainTextResponse("refused: this workbench needs its token; open the URL `scrapy review` "
                                         "printed", status_code=403)
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
                return PlainTextResponse("refused: a change must come from the workbench's own page", status_code=403)
            # every change is sent by the page's own script, with the token the page was served with
            if not same(request.headers.get(CSRF_HEADER), self.csrf):
                return PlainTextResponse("refused: the page's CSRF token is wrong or missing; reload the page",
                                         status_code=403)
        return None


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
