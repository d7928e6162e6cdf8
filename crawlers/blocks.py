"""Recognising a block: login walls, punish/slider pages, mtop anti-bot replies, rate limits.

A block must never read as "no results" (docs/platforms.md: block pages). The markers are data
(``blocks.yaml`` beside this file); this module only applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from contract.data import read_yaml
from crawlers.mtop import MalformedReply, is_block_code, parse_jsonp


@dataclass(frozen=True)
class Block:
    kind: str  # login | punish | captcha | deny | mtop | rate_limit | homepage
    detail: str  # what gave it away, for the log line
    final: bool = False  # a "deny" block has no slider: retrying the same way will not help

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})"


@lru_cache(maxsize=1)
def markers() -> dict:
    return read_yaml(Path(__file__).with_name("blocks.yaml"))


def _url_block(url: str) -> Block | None:
    data = markers()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in data["login_hosts"]:
        return Block("login", f"redirected to {host}{parts.path}")
    lowered = url.lower()
    for marker in data["url_markers"]:
        if marker in lowered:
            final = "action=deny" in lowered
            return Block("deny" if final else "punish", f"URL contains {marker!r}", final=final)
    return None


def _header(response, name: str) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else ""


def classify_block(response) -> Block | None:
    """The block a response shows, or None for a usable response."""
    data = markers()
    if response.status in data["rate_limit_statuses"]:
        return Block("rate_limit", f"HTTP {response.status}")
    if 300 <= response.status < 400:
        location = _header(response, "Location")
        return _url_block(location) if location else None
    if _header(response, "bxpunish") == "1":
        return Block("punish", "bxpunish: 1 header")
    url_block = _url_block(response.url)
    if url_block:
        return url_block
    body = response.body[: data["scan_bytes"]]
    try:
        text = body.decode(getattr(response, "encoding", None) or "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    lowered = text.lower()
    mtop = _mtop_block(text)
    if mtop:
        return mtop
    for marker in data["strong_body_markers"]:
        if marker.lower() in lowered:
            return Block("captcha" if "nocaptcha" in lowered or "slide" in lowered else "punish",
                         f"body contains {marker!r}", final='action:"deny"' in lowered)
    element = _slider_element(text, lowered)
    if element:
        return Block("captcha", f"page has a slider element ({element})")
    if _expects_json(response) and _looks_like_html(lowered):
        # an API call answered with HTML: any slider word is the captcha page, whatever its size
        for marker in data["weak_body_markers"]:
            if marker.lower() in lowered:
                return Block("captcha", f"HTML answering an API call says {marker!r}")
    head = lowered[:4096]
    is_html = "<html" in head or "<!doctype html" in head or "<body" in head
    if is_html and (len(body) <= data["weak_marker_max_bytes"] or _title(lowered)):
        scope = lowered if len(body) <= data["weak_marker_max_bytes"] else _title(lowered)
        for marker in data["weak_body_markers"]:
            if marker.lower() in scope:
                return Block("captcha", f"page says {marker!r}")
        title = _title(lowered)
        for homepage in data["homepage_titles"]:
            if homepage.lower() in title:
                return Block("homepage", f"landed on the homepage ({homepage})")
    return None


def _title(lowered_html: str) -> str:
    start = lowered_html.find("<title")
    if start < 0:
        return ""
    start = lowered_html.find(">", start) + 1
    end = lowered_html.find("</title>", start)
    return lowered_html[start:end] if end > start else ""


# A JSON key "ret" (not an escaped one inside a string) and the code it opens with; for bodies cut short.
_RET_CODE = re.compile(r'(?<!\\)"ret"\s*:\s*\[?\s*"([A-Za-z0-9_]+)')


def _mtop_block(text: str) -> Block | None:
    """An mtop reply whose ``ret`` is an anti-bot or system refusal, wherever ``ret`` sits in the reply."""
    if "FAIL_" not in text and "RGV587" not in text and "rgv587_flag" not in text:
        return None  # no refusal code anywhere: nothing to parse
    try:
        reply = parse_jsonp(text)
    except MalformedReply:
        reply = None
    if isinstance(reply, dict):
        if "ret" not in reply:
            if reply.get("rgv587_flag"):  # the older h5 deny reply: {"rgv587_flag":"sm","url":"…/deny_h5"}
                return Block("mtop", "rgv587_flag deny reply")
            return None
        ret = reply.get("ret")
        first = str(ret[0]) if isinstance(ret, list) and ret else str(ret or "")
        code = first.partition("::")[0]
        data = reply.get("data")
        url = str(data.get("url") or "") if isinstance(data, dict) else ""
    else:  # not a JSON object (cut short?): the first "ret" key still says what the reply was
        match = _RET_CODE.search(text)
        if not match:
            return None
        code, url = match.group(1), ""
    if not is_block_code(code):
        return None
    detail = f"mtop {code}" + (f" -> {url[:120]}" if url else "")
    return Block("mtop", detail, final="action=deny" in url)


def _slider_element(text: str, lowered: str) -> str:
    """The slider element a page carries (``#nc_1_wrapper``, ``.nc-container``, ``[id*=nocaptcha]`` …), or ""."""
    for name, word, pattern in _slider_patterns():
        if word in lowered and pattern.search(text):  # the word first: most bodies never need the pattern
            return name
    return ""


@lru_cache(maxsize=1)
def _slider_patterns() -> tuple[tuple[str, str, re.Pattern], ...]:
    return tuple((name, spec["word"].lower(), re.compile(spec["pattern"], re.IGNORECASE))
                 for name, spec in markers()["slider_elements"].items())


def _expects_json(response) -> bool:
    """Whether the request was an API call (mtop), whose answer should be JSON or JSONP, never a page."""
    request = getattr(response, "request", None)
    if request is not None and "mtop" in request.meta:
        return True
    parts = urlsplit(response.url)
    host = (parts.hostname or "").lower()
    return host.startswith(tuple(markers()["api_host_prefixes"])) and parts.path.startswith("/h5/")


def _looks_like_html(lowered: str) -> bool:
    head = lowered[:4096].lstrip()
    return head.startswith("<") or "<html" in head or "<body" in head
