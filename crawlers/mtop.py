"""The mtop H5 gateway shared by Taobao, Tmall and 1688 (docs/platforms.md: mtop).

Signing: ``sign = md5(token + "&" + t + "&" + appKey + "&" + data)``, where ``token`` is the part of
the ``_m_h5_tk`` cookie before the first ``_`` and ``data`` is exactly the JSON string sent.
Token dance: a call without a valid token is answered ``FAIL_SYS_TOKEN_EMPTY`` /
``FAIL_SYS_TOKEN_EXOIRED`` with ``Set-Cookie: _m_h5_tk=…``; the client keeps that token and the call
is signed again and re-sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from scrapy import Request

APP_KEY = "12574478"
JSV = "2.7.2"

# Token and signing failures: the reply (usually) sets a fresh token, and the call is signed again.
TOKEN_ERRORS = ("FAIL_SYS_TOKEN_EMPTY", "FAIL_SYS_TOKEN_EXOIRED", "FAIL_SYS_TOKEN_EXPIRED",
                "FAIL_SYS_ILLEGAL_ACCESS", "FAIL_SYS_ILLEGAL_REQUEST", "ILLEGAL_ACCESS")
BLOCK_ERRORS = ("RGV587_ERROR", "FAIL_SYS_USER_VALIDATE", "FAIL_SYS_SESSION_EXPIRED")
# Every other system failure is the gateway refusing us too (traffic limits, risk checks): a block.
BLOCK_PREFIXES = ("FAIL_SYS_", "RGV587")


def is_block_code(code: str) -> bool:
    """An anti-bot or system refusal that no re-signing will cure (token failures are re-signed first)."""
    return code in BLOCK_ERRORS or (code.startswith(BLOCK_PREFIXES) and code not in TOKEN_ERRORS)

_JSONP = re.compile(r"^\s*(?:/\*\*/\s*)?([A-Za-z_$][\w$.]*)\s*\((.*)\)\s*;?\s*$", re.DOTALL)


class MalformedReply(ValueError):
    """The body is not the JSON/JSONP it should be; the message says where it breaks."""


def parse_jsonp(text: str) -> object:
    """JSON from a JSONP body (``mtopjsonp2({...})``, ``mtopjsonpreqTppId_32517_getOfferList2({...})``) or plain JSON."""
    stripped = text.strip()
    match = _JSONP.match(stripped)
    payload = match.group(2) if match else stripped
    try:
        return json.loads(payload, strict=False)  # raw control characters in a title: keep the page
    except ValueError as exc:
        kind = "JSONP" if match or stripped[:30].count("(") else "JSON"
        if not match and re.match(r"^\s*[A-Za-z_$][\w$.]*\s*\(", stripped):
            kind = "JSONP (truncated: no closing parenthesis)"
        raise MalformedReply(f"invalid {kind} body: {exc}") from exc


@dataclass(frozen=True)
class MtopReply:
    api: str
    code: str  # "SUCCESS", "FAIL_SYS_TOKEN_EMPTY", "RGV587_ERROR", …
    message: str
    data: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code == "SUCCESS"

    @property
    def token_problem(self) -> bool:
        return self.code in TOKEN_ERRORS

    @property
    def blocked(self) -> bool:
        return is_block_code(self.code)


def read_reply(text: str) -> MtopReply:
    """The mtop envelope ``{api, data, ret: ["CODE::message"], v}`` of a JSON or JSONP body."""
    obj = parse_jsonp(text)
    if not isinstance(obj, dict):
        raise MalformedReply("mtop reply is not a JSON object")
    if "ret" not in obj:
        if obj.get("rgv587_flag"):  # the older h5 deny reply: {"rgv587_flag":"sm","url":"…/deny_h5"}
            return MtopReply(api="", code="RGV587_ERROR", message="deny", data={"url": obj.get("url", "")})
        raise MalformedReply("mtop reply has no 'ret'")
    ret = obj.get("ret") or [""]
    first = str(ret[0]) if isinstance(ret, list) and ret else str(ret)
    code, _, message = first.partition("::")
    data = obj.get("data")
    return MtopReply(api=str(obj.get("api", "")), code=code, message=message,
                     data=data if isinstance(data, dict) else {})


def sign(token: str, t: str, app_key: str, data: str) -> str:
    return hashlib.md5(f"{token}&{t}&{app_key}&{data}".encode()).hexdigest()


def _site(host: str) -> str:
    """Token cookies are set for the registrable domain: taobao.com, tmall.com, 1688.com."""
    parts = host.lower().split(".")
    return ".".join(parts[-2:])


class MtopClient:
    """Builds signed mtop requests and keeps the session token per site.

    Requests carry only plain data in ``meta["mtop"]`` (api, version, data, attempt), so they stay
    picklable for scrapy-redis; re-signing rebuilds the URL from it.
    """

    def __init__(self, host: str, *, app_key: str = APP_KEY, jsv: str = JSV, extra_params: dict | None = None):
        self.host = host
        self.app_key = app_key
        self.jsv = jsv
        self.extra_params = extra_params or {}
        self.tokens: dict[str, str] = {}
        self._callbacks = 0

    def token(self) -> str:
        return self.tokens.get(_site(self.host), "")

    def url(self, api: str, version: str, data: str, *, t: str | None = None, callback: str | None = None) -> str:
        t = t or str(int(time.time() * 1000))
        self._callbacks += 1
        params = {
            "jsv": self.jsv,
            "appKey": self.app_key,
            "t": t,
            "sign": sign(self.token(), t, self.app_key, data),
            "api": api,
            "v": version,
            "type": "jsonp",
            "dataType": "jsonp",
            "timeout": "10000",
            "callback": callback or f"mtopjsonp{self._callbacks + 1}",
            **self.extra_params,
            "data": data,
        }
        return f"https://{self.host}/h5/{api.lower()}/{version}/?{urlencode(params)}"

    def request(self, api: str, version: str, data: str, *, callback, meta: dict | None = None,
                headers: dict | None = None, attempt: int = 0, **kwargs) -> Request:
        meta = dict(meta or {})
        meta["mtop"] = {"api": api, "v": version, "data": data, "attempt": attempt}
        return Request(self.url(api, version, data), callback=callback, meta=meta, headers=headers,
                       dont_filter=attempt > 0, **kwargs)

    def resign(self, request: Request) -> Request:
        """The same call signed with the current token (after a token reply)."""
        spec = request.meta["mtop"]
        meta = dict(request.meta)
        meta["mtop"] = {**spec, "attempt": spec.get("attempt", 0) + 1}
        return request.replace(url=self.url(spec["api"], spec["v"], spec["data"]), meta=meta, dont_filter=True)

    def take_token(self, response) -> bool:
        """Keep the ``_m_h5_tk`` token a reply sets; True when it set one."""
        found = False
        for raw in response.headers.getlist("Set-Cookie"):
            cookie = SimpleCookie()
            try:
                cookie.load(raw.decode("latin-1"))
            except Exception:  # a malformed cookie header is not our problem to fix
                continue
            if "_m_h5_tk" in cookie:
                value = cookie["_m_h5_tk"].value
                self.tokens[_site(urlsplit(response.url).hostname or self.host)] = value.split("_", 1)[0]
                found = True
        return found
