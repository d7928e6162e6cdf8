"""Hostile and broken search bodies never crash a page object and never yield a listing without an id
(RELIABILITY.md, "Fuzzing").

Every recorded search body of every platform present is mutated the ways transport and sellers break
pages (truncation, flipped bytes, inserted junk, a wrong encoding) and the ways a format drifts
(a value inside the JSON replaced by null, a list, a number, an empty or blank string, a path).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import Request, TextResponse

from crawlers.blocks import classify_block
from crawlers.mtop import MalformedReply, parse_jsonp
from crawlers.replay.library import load_cassette
from fixtures.generate import drift
from tests.conftest import CASSETTES

# platform folder -> (page-object module, how to call its reader); only those present are fuzzed
_READERS = {
    "taobao": ("crawlers.platforms.taobao", lambda module, text: module.read_search(text)),
    "tmall": ("crawlers.platforms.tmall", lambda module, text: module.read_search(text, "https://list.tmall.com/")),
    "1688": ("crawlers.platforms.alibaba1688", lambda module, text: module.read_search(text)),
    "alibaba": ("crawlers.platforms.alibaba", lambda module, text: module.read_search(text)),
}
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _present_readers() -> dict[str, Callable[[str], object]]:
    readers = {}
    for platform, (module_name, call) in _READERS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, "read_search") and (CASSETTES / platform).is_dir():
            readers[platform] = lambda text, module=module, call=call: call(module, text)
    return readers


READERS = _present_readers()


def _search_bodies(platform: str) -> list[bytes]:
    """Every recorded 200 body of a platform's search cassettes, largest first, at most four."""
    bodies = []
    for path in sorted((CASSETTES / platform).glob("*.yaml")):
        for _, recorded in load_cassette(path):
            if recorded.status == 200 and len(recorded.body) > 200 and recorded.body not in bodies:
                bodies.append(recorded.body)
    bodies.sort(key=len, reverse=True)
    return bodies[:4]


BODIES = {platform: _search_bodies(platform) for platform in READERS}


def _decode(body: bytes, encoding: str) -> str:
    return body.decode(encoding, errors="replace")


def _check(platform: str, text: str) -> None:
    page = READERS[platform](text)
    assert page.kind in ("listings", "no_results", "unrecognized"), page.kind
    for listing in page.listings:
        listing_id = listing.get("listing_id")
        assert isinstance(listing_id, str) and listing_id.strip(), f"{platform}: listing without an id: {listing}"
        assert listing.get("platform") in ("taobao", "tmall", "1688", "alibaba")


# -- byte-level mutations -------------------------------------------------------------------------

@st.composite
def _byte_mutation(draw, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            junk = draw(st.sampled_from([b"\x00", b"\xff\xfe", b'"', b"}", b"]", b"{", b"<script>", b"\\u00",
                                         b"\xe4\xb8", b"\r\n\r\n", b"null", b"NaN"]))
            data[position:position] = junk
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 64))]
    return bytes(data)


@pytest.mark.parametrize("platform", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_mutated_bytes_of_any_recorded_body_never_crash_a_parser(platform, data):
    body = data.draw(st.sampled_from(BODIES[platform]))
    mutated = data.draw(_byte_mutation(body))
    encoding = data.draw(st.sampled_from(["utf-8", "gb18030", "latin-1"]))  # re-encoding: read as the wrong charset
    _check(platform, _decode(mutated, encoding))


# -- structural mutations inside the embedded JSON -------------------------------------------------

HOSTILE_VALUES = [None, [], {}, "", " ", 0, -1, 1e308, True, "../../etc/passwd", "a/b\\c", "<script>x</script>",
                  "=HYPERLINK(\"http://x\")", "\u202e\u200b", [None], {"": None}, "NaN", "1" * 400]


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:6]):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


_JSON_START = re.compile(r"[{[]")


def _json_sites(text: str) -> list[tuple[int, int, object]]:
    """(start, end, value) of the top JSON values in a body: the JSONP payload, or objects in scripts."""
    try:
        value = parse_jsonp(text)
        start = text.find("(") + 1 if not text.lstrip().startswith(("{", "[")) else 0
        end = text.rfind(")") if start else len(text)
        return [(start, end, value)] if isinstance(value, dict | list) else []
    except MalformedReply:
        pass
    sites, decoder = [], json.JSONDecoder()
    for marker in re.finditer(r"(?:=|:)\s*(?=[{[])", text):
        try:
            value, end = decoder.raw_decode(text, marker.end())
        except ValueError:
            continue
        if isinstance(value, dict) and len(json.dumps(value)) > 200:
            sites.append((marker.end(), end, value))
    return sites[:4]


STRUCTURED = {
    platform: [(body.decode("utf-8", errors="replace"), sites) for body in BODIES[platform]
               if (sites := _json_sites(body.decode("utf-8", errors="replace")))]
    for platform in READERS
}


def _draw_json_site(data, platform: str) -> tuple[str, int, int, object]:
    """A recorded body of ``platform`` and one JSON value inside it: (body, where it starts, where it ends, value)."""
    text, sites = data.draw(st.sampled_from(STRUCTURED[platform]))
    start, end, value = data.draw(st.sampled_from(sites))
    return text, start, end, value


@pytest.mark.parametrize("platform", sorted(p for p in READERS if STRUCTURED[p]))
@FUZZ
@given(data=st.data())
def test_any_json_value_replaced_by_a_hostile_one_never_crashes_a_parser_or_yields_an_empty_id(platform, data):
    text, start, end, value = _draw_json_site(data, platform)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(value)))
        value = _replace(value, path, data.draw(st.sampled_from(HOSTILE_VALUES)))
    mutated = text[:start] + json.dumps(value, ensure_ascii=data.draw(st.booleans())) + text[end:]
    _check(platform, mutated)


_ID_KEY = re.compile(r"(?i)^(?:item_?id|nid|nidlong|offer_?id|product_?id|id)$")


@pytest.mark.parametrize("platform", sorted(p for p in READERS if STRUCTURED[p]))
@FUZZ
@given(data=st.data())
def test_a_blank_object_or_list_where_an_item_id_belongs_drops_that_item_only(platform, data):
    text, start, end, value = _draw_json_site(data, platform)
    id_paths = [path for path in _paths(value) if path and isinstance(path[-1], str) and _ID_KEY.match(path[-1])]
    if not id_paths:
        return
    for path in data.draw(st.lists(st.sampled_from(id_paths), min_size=1, max_size=3, unique=True)):
        value = _replace(value, path, data.draw(st.sampled_from([None, "", " ", "\t", {}, [], [1], {"a": 1}, True])))
    _check(platform, text[:start] + json.dumps(value) + text[end:])


@pytest.mark.parametrize("platform", sorted(READERS))
@pytest.mark.parametrize("body", ["", " ", "null", "[]", "{}", "mtopjsonp1(", "mtopjsonp1({\"ret\":", "<html></html>",
                                  "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "\x00" * 64,
                                  "mtopjsonp1([1,2])", '{"ret":["SUCCESS::ok"],"data":[]}',
                                  '{"ret":["SUCCESS::ok"],"data":{"itemsArray":{}}}'])
def test_empty_html_and_half_written_bodies_are_unrecognized_or_empty_never_a_crash(platform, body):
    _check(platform, body)


# -- the drift bodies (pages shaped unlike the recorded ones) ---------------------------------------------

def _drift_bodies() -> list[tuple[str, bytes]]:
    bodies = [("taobao", drift.taobao_empty_with_total()), ("taobao", drift.taobao_unreadable_items()),
              ("taobao", drift.tmall_by_shop_domain()[0]), ("taobao", drift.hidden_seller_items()[0]),
              ("taobao", drift.g_page_config_variant("hidden_nick")), ("1688", drift.offer_unreadable()),
              ("1688", drift.window_data_whole_object(3).decode("gbk")), ("alibaba", drift.legacy_cards(2)[0]),
              ("alibaba", drift.legacy_with_moq()[0])]
    return [(platform, body.encode("utf-8")) for platform, body in bodies if platform in READERS]


def _block_bodies() -> list[bytes]:
    return [drift.mtop_block_ret_last("RGV587_ERROR::SM::x").encode(), drift.slider_html("nc-container").encode()]


DRIFT_BODIES = _drift_bodies()
BLOCK_BODIES = _block_bodies()


@FUZZ
@given(data=st.data())
def test_mutated_drift_bodies_never_crash_a_parser_or_the_block_check(data):
    platform, body = data.draw(st.sampled_from(DRIFT_BODIES))
    mutated = data.draw(_byte_mutation(body))
    _check(platform, _decode(mutated, "utf-8"))
    block_body = data.draw(_byte_mutation(data.draw(st.sampled_from(BLOCK_BODIES))))
    url = "https://h5api.m.taobao.com/h5/mtop.relationrecommend.wirelessrecommend.recommend/2.0/"
    response = TextResponse(url=url, body=block_body, encoding="utf-8", request=Request(url))
    block = classify_block(response)
    assert block is None or block.kind in ("mtop", "captcha", "punish", "deny", "login")
