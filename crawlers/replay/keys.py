"""Replay keys: what identifies a recorded request.

Rule (documented in README "Replay and recording"):

    KEY = METHOD + " " + host + path + "?" + sorted(params) [+ " body:" + sorted(form params) | body digest]

- host is lower-cased; scheme, port 443/80 and the fragment are ignored;
- query and form parameters listed under ``params`` in ``volatile.yaml`` are dropped
  (mtop ``t``, ``sign``, ``callback``, ``_ksTS``, ``spm``, request ids, timestamps, …);
- percent-encoded values are decoded when they are UTF-8 (so ``q=%E9%9C%B2`` equals ``q=露``);
  other bytes (GBK keywords) stay percent-encoded in upper-case hex, because a GBK and a UTF-8
  request for the same words are different requests;
- a value holding JSON (mtop ``data``) is parsed and re-serialised with sorted keys; string values
  inside it that are JSON themselves (the double-encoded ``params``) are parsed too, and keys listed
  under ``json_keys`` are dropped at any depth;
- a non-form body that is not JSON is identified by its sha1.

Two requests with the same key are "identical"; their recordings replay in recorded order.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from contract.data import load_yaml

_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


@lru_cache(maxsize=1)
def volatile() -> tuple[frozenset[str], frozenset[str]]:
    data = load_yaml((Path(__file__).with_name("volatile.yaml")).read_text(encoding="utf-8"))
    return frozenset(data["params"]), frozenset(data["json_keys"])


def _decode_component(raw: str) -> str:
    """Percent-decode a query component when it is UTF-8; otherwise normalise the escapes' case."""
    raw = raw.replace("+", " ")
    data = unquote_to_bytes(raw)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _PERCENT.sub(lambda m: m.group(0).upper(), raw)


def _split_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_decode_component(name), _decode_component(value)))
    return pairs


def _normalise_json(value, drop: frozenset[str]):
    if isinstance(value, dict):
        return {k: _normalise_json(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_normalise_json(v, drop) for v in value]
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in "{[" and stripped[-1:] in "}]":
            try:
                return _normalise_json(json.loads(stripped), drop)
            except ValueError:
                return value
        if "%" in value and _PERCENT.search(value):
            decoded = _decode_component(value)
            if "%" not in decoded or decoded != value:
                return decoded
    return value


def _normalise_value(value: str) -> str:
    _, json_drop = volatile()
    stripped = value.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return value
        return json.dumps(_normalise_json(parsed, json_drop), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
    return value


def _normalise_pairs(query: str) -> str:
    param_drop, _ = volatile()
    pairs = [(k, _normalise_value(v)) for k, v in _split_pairs(query) if k not in param_drop]
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def request_key(method: str, url: str, body: bytes | str | None = None, content_type: str | None = None) -> str:
    """The replay key of a request (see the module docstring for the rule)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    key = f"{method.upper()} {host}{parts.path or '/'}"
    query = _normalise_pairs(parts.query)
    if query:
        key += "?" + query
    if body:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        is_form = (content_type or "").lower().startswith("application/x-www-form-urlencoded") or (
            text is not None and "=" in text and not text.lstrip().startswith(("{", "["))
        )
        if text is not None and is_form:
            key += " body:" + _normalise_pairs(text)
        elif text is not None and text.lstrip().startswith(("{", "[")):
            key += " body:" + _normalise_value(text)
        else:
            key += " body-sha1:" + hashlib.sha1(raw).hexdigest()
    return key
