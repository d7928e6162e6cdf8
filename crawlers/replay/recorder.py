"""Write what a live crawl received as vcrpy cassettes, with secrets scrubbed.

Scrubbing rules:
- request ``Cookie``/``Authorization`` headers are dropped;
- response ``Set-Cookie`` headers are dropped, except the mtop token cookies (``_m_h5_tk``,
  ``_m_h5_tk_enc``), which keep their name and expiry with the token replaced by zeros, so a
  replayed crawl still goes through the token dance with a value that opens nothing;
- secret-bearing query parameters (``x5secdata``, tokens) are replaced by ``redacted``;
- every cookie value seen in the exchange is replaced by ``redacted`` wherever it appears in the
  URL or body (pages sometimes echo them);
- compressed bodies are stored decompressed, without ``Content-Encoding``, so fixtures stay readable.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

TOKEN_COOKIES = ("_m_h5_tk", "_m_h5_tk_enc")
SECRET_PARAMS = ("x5secdata", "_m_h5_tk", "_m_h5_tk_enc", "cookie2", "x5sec", "token", "sid")
_DROP_REQUEST_HEADERS = {"cookie", "authorization", "proxy-authorization"}
_DROP_RESPONSE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
_COOKIE_PAIR = re.compile(r"\s*([^=;\s]+)=([^;]*)")


def _scrub_token_cookie(header: str) -> str | None:
    """A ``Set-Cookie`` value with the token replaced, or None when the cookie must go."""
    match = _COOKIE_PAIR.match(header)
    if not match or match.group(1) not in TOKEN_COOKIES:
        return None
    name, value = match.group(1), match.group(2)
    expiry = value.split("_", 1)[1] if "_" in value else ""
    fake = "0" * 32 + (f"_{expiry}" if expiry.isdigit() else "")
    return f"{name}={fake}" + header[match.end():]


def _cookie_values(request: Request, response: Response) -> set[str]:
    values = set()
    for raw in request.headers.getlist("Cookie"):
        for match in _COOKIE_PAIR.finditer(raw.decode("latin-1")):
            values.add(match.group(2))
    for raw in response.headers.getlist("Set-Cookie"):
        match = _COOKIE_PAIR.match(raw.decode("latin-1"))
        if match:
            values.add(match.group(2))
            if "_" in match.group(2):
                values.add(match.group(2).split("_", 1)[0])
    return {v for v in values if len(v) >= 8}


def scrub_url(url: str, secrets: set[str] = frozenset()) -> str:
    parts = urlsplit(url)
    query = [(k, "redacted" if k in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    scrubbed = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe=",:/"), ""))
    for secret in secrets:
        scrubbed = scrubbed.replace(secret, "redacted")
    return scrubbed


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.lower().strip()
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if encoding == "br":
        import brotli  # optional, as in Scrapy

        return brotli.decompress(body)
    return body


def _body_for_yaml(body: bytes):
    """Text bodies as strings (readable fixtures), anything else as bytes (YAML !!binary), like vcrpy."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    return text


def _secret_params(url: str) -> set[str]:
    return {v for k, v in parse_qsl(urlsplit(url).query) if k in SECRET_PARAMS and len(v) >= 8}


def interaction(request: Request, response: Response) -> dict:
    secrets = _cookie_values(request, response) | _secret_params(request.url)
    request_headers = {}
    for name, values in request.headers.items():
        key = name.decode("latin-1")
        if key.lower() in _DROP_REQUEST_HEADERS:
            continue
        request_headers[key] = [v.decode("latin-1") for v in values]
    response_headers: dict[str, list[str]] = {}
    body = response.body
    for name, values in response.headers.items():
        key = name.decode("latin-1")
        lowered = key.lower()
        decoded = [v.decode("latin-1") for v in values]
        if lowered == "content-encoding":
            for encoding in reversed(decoded):
                body = _decompress(body, encoding)
            continue
        if lowered in _DROP_RESPONSE_HEADERS:
            continue
        if lowered == "set-cookie":
            kept = [c for c in (_scrub_token_cookie(v) for v in decoded) if c]
            if kept:
                response_headers[key] = kept
            continue
        response_headers[key] = [scrub_url(v, secrets) if lowered == "location" else v for v in decoded]
    for secret in secrets:
        body = body.replace(secret.encode("latin-1", "ignore"), b"redacted")
    request_body = request.body or None
    if request_body:
        for secret in secrets:
            request_body = request_body.replace(secret.encode("latin-1", "ignore"), b"redacted")
    return {
        "request": {
            "body": _body_for_yaml(request_body) if request_body else None,
            "headers": request_headers,
            "method": request.method,
            "uri": scrub_url(request.url, secrets),
        },
        "response": {
            "body": {"string": _body_for_yaml(body)},
            "headers": response_headers,
            "status": {"code": response.status, "message": _reason(response.status)},
        },
    }


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class CassetteWriter:
    """Collects interactions and writes one cassette file (rewritten atomically as it grows)."""

    def __init__(self, path: Path, *, flush_every: int = 20, header: str = ""):
        self.path = path
        self.flush_every = flush_every
        self.header = header
        self.interactions: list[dict] = []
        self._unflushed = 0

    @classmethod
    def for_crawler(cls, folder: str | Path, crawler: Crawler) -> CassetteWriter:
        spider = getattr(crawler, "spider", None)
        name = getattr(spider, "name", None) or "crawl"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = Path(folder) / name / f"{stamp}.yaml"
        header = f"# recorded by ipwatch: spider {name}, {datetime.now(UTC).isoformat(timespec='seconds')}\n"
        return cls(path, header=header)

    def add(self, request: Request, response: Response) -> None:
        try:
            self.interactions.append(interaction(request, response))
        except Exception:  # a recording problem must never break the live crawl
            logger.exception("record: could not record %s", request.url)
            return
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.interactions:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".yaml.part")
        text = yaml.safe_dump({"interactions": self.interactions, "version": 1}, allow_unicode=True,
                              sort_keys=True, width=1000)
        temporary.write_text(self.header + text, encoding="utf-8")
        os.replace(temporary, self.path)
        self._unflushed = 0

    def close(self) -> None:
        self.flush()
        if self.interactions:
            logger.info("record: wrote %d interactions to %s", len(self.interactions), self.path)
