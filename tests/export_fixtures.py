"""Fixtures for the export tests (a pytest plugin, loaded by ``tests/conftest.py``): ``registry``, a small
registry on disk with photos, per test; and the builders behind it, importable for tests that need variants:
``make_registry``, scored ``listing``s, ``draw_image`` and ``write_cassette``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageDraw

from registry import Registry, load_registry

REGISTRY_YAML = """\
rights_holder:
  name: Lumora Outdoor Co., Ltd.
  contact_email: ip@lumora.example
trademarks:
  - id: LUMORA-CN-25
    mark: LUMORA
    registration_number: "40123456"
    office: CNIPA
    classes: [25, 18]
    valid_from: 2020-03-14
    valid_until: 2099-03-13
    aliases: [露莫拉]
  - id: LUMORA-US
    mark: LUMORA
    registration_number: "=HYPERLINK(\\"http://evil\\")"
    office: USPTO
    classes: [25]
    valid_from: 2019-01-01
    valid_until: 2099-01-01
  - id: LUMORA-OLD
    mark: LUMORA
    registration_number: "10000001"
    office: CNIPA
    classes: [25]
    valid_from: 2005-01-01
    valid_until: 2015-01-01
copyrights:
  - id: LUMORA-PHOTO
    title: Lumora catalogue photography
    registration_number: "国作登字-2024-F-00012345"
    official_url: https://lumora.example/catalogue
products:
  - id: trail-jacket
    name: Lumora Trail Jacket
    trademarks: [LUMORA-CN-25]
    copyright: LUMORA-PHOTO
    keywords: [冲锋衣]
    reference_price: {amount: 1299, currency: CNY}
    images: [images/trail_jacket_1.png]
authorized_sellers:
  - {platform: tmall, seller: lumora官方旗舰店}
"""


def draw_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (400, 300)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(250, 250, 250))
    draw.ellipse((10, 10, 60, 60), fill=(20, 20, 20))
    image.save(path)
    return path


def make_registry(tmp_path: Path) -> Registry:
    folder = tmp_path / "registry"
    draw_image(folder / "images" / "trail_jacket_1.png", (30, 90, 160))
    path = folder / "registry.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return load_registry(path)


BASE_LISTING: dict[str, Any] = {
    "platform": "taobao",
    "listing_id": "600000000001",
    "url": "https://item.taobao.com/item.htm?id=600000000001",
    "title": "露莫拉 LUMORA 冲锋衣 高仿",
    "price_min": 59.0,
    "price_max": 59.0,
    "currency": "CNY",
    "seller_id": "s1",
    "seller_name": "小店一号",
    "images": [],
    "score": 90,
    "verdict": "infringing",
    "reason": "counterfeit",
    "ipr_id": "LUMORA-CN-25",
    "product_id": "trail-jacket",
    "signals": {},
    "explanation": "title has 'LUMORA'; price 5% of reference; says 高仿",
    "first_seen": "2026-11-20T08:00:00Z",
    "last_seen": "2026-11-28T08:00:00Z",
    "status": "new",
}


def listing(**overrides: Any) -> dict[str, Any]:
    item = copy.deepcopy(BASE_LISTING)
    item.update(overrides)
    if "listing_id" in overrides and "url" not in overrides:
        item["url"] = f"https://item.taobao.com/item.htm?id={overrides['listing_id']}"
    return item


def write_cassette(path: Path, interactions: list[dict[str, Any]]) -> Path:
    """A vcrpy cassette (version 1) with the given (uri, status, headers, body) interactions."""
    data = {"version": 1, "interactions": []}
    for entry in interactions:
        headers = {name: [value] for name, value in entry.get("headers", {}).items()}
        data["interactions"].append(
            {
                "request": {"method": "GET", "uri": entry["uri"], "body": None, "headers": {}},
                "response": {
                    "status": {"code": entry.get("status", 200), "message": "OK"},
                    "headers": headers,
                    "body": {"string": entry.get("body", b"")},
                },
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """The small export registry (two marks, one product with photos), written under this test's folder."""
    return make_registry(tmp_path)
