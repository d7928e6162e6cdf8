"""What the scorer's component tests share: the demo registry's scorer and a listing as the crawl gives it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from contract import ImageHit
from matchers.score import Scorer
from registry import load_registry

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "registry" / "demo.yaml"
MAIN_IMAGE = "https://img.example/main.jpg"


def demo_scorer() -> Scorer:
    return Scorer(load_registry(DEMO))


def a_listing(title: str, price: float | None = None, **extra) -> dict:
    """A Taobao listing from an ordinary shop; ``extra`` overrides any field."""
    return {
        "title": title,
        "platform": "taobao",
        "listing_id": "1",
        "seller_name": "某某小店",
        "price_min": price,
        "price_max": price,
        "currency": "CNY",
        "moq": None,
        "is_official_store": False,
        "image_urls": [MAIN_IMAGE, "https://img.example/2.jpg"],
        **extra,
    }


def judged(result: dict) -> tuple[str, str, str]:
    """What a complaint is filed as: the verdict, the IPP reason and the right cited."""
    return result["verdict"], result["reason"], result["ipr_id"]


def photo(
    product: str = "trail-jacket",
    image: str = "images/trail_jacket_1.jpg",
    distance: int = 6,
    confident: bool = True,
    url: str | None = None,
) -> ImageHit:
    """A hit of a listing picture (the main one unless ``url``) on a registered product photo."""
    return ImageHit(product, image, url or MAIN_IMAGE, None, distance, "phash", confident)


def wrong_office_registry(tmp_path: Path) -> Path:
    """The demo registry with only its US mark: a mark Taobao does not accept in complaints."""
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["trademarks"] = [t for t in data["trademarks"] if t["id"] == "LUMORA-US-25"]
    for p in data["products"]:
        p["trademarks"] = ["LUMORA-US-25"]
        p["images"] = []
    shutil.copytree(DEMO.parent / "certs", tmp_path / "certs", dirs_exist_ok=True)
    path = tmp_path / "us.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
