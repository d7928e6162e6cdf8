"""Registries for the registry's tests: a valid one as data (``base_registry``, written by ``write``), and a
small hostile-input one as text (``REGISTRY``, written by ``registry_at``) beside a secret file whose bytes
must never reach a message."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from PIL import Image

from registry import RegistryError, load_registry


def base_registry() -> dict:
    return {
        "rights_holder": {"name": "Lumora Outdoor Co., Ltd.", "contact_email": "ip@lumora.example"},
        "trademarks": [
            {
                "id": "LUMORA-CN-25",
                "mark": "LUMORA",
                "registration_number": "40123456",
                "office": "CNIPA",
                "classes": [25, 18],
                "valid_from": "2020-03-14",
                "valid_until": "2099-03-13",
                "aliases": ["露莫拉"],
            }
        ],
        "copyrights": [
            {"id": "LUMORA-PHOTO", "title": "Catalogue", "official_url": "https://lumora.example/c"}
        ],
        "products": [
            {
                "id": "trail-jacket",
                "name": "Lumora Trail Jacket",
                "trademarks": ["LUMORA-CN-25"],
                "copyright": "LUMORA-PHOTO",
                "keywords": ["冲锋衣", "trail jacket"],
                "reference_price": {"amount": 1299, "currency": "CNY"},
                "images": ["images/a.jpg"],
            }
        ],
        "authorized_sellers": [{"platform": "tmall", "seller": "lumora官方旗舰店"}],
    }


def write(tmp_path: Path, data: dict | str) -> Path:
    (tmp_path / "images").mkdir(exist_ok=True)
    Image.new("RGB", (32, 24), (30, 90, 160)).save(tmp_path / "images" / "a.jpg", "JPEG")  # photos must decode
    path = tmp_path / "registry.yaml"
    path.write_text(
        data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    return path


def errors_of(tmp_path: Path, data: dict | str) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_registry(write(tmp_path, data))
    return info.value.errors


SECRET = "root-secret-0xC0FFEE"  # bytes of a file that must never reach a message or a log

REGISTRY = """\
rights_holder: {{name: Lumora Outdoor, contact_email: ip@lumora.example}}
trademarks:
  - id: LUMORA-CN-25
    mark: LUMORA
    registration_number: "40123456"
    office: CNIPA
    classes: [25]
    valid_from: 2020-03-14
    valid_until: {valid_until}
    logo: {logo}
products:
  - id: trail-jacket
    name: Lumora Trail Jacket
    trademarks: [LUMORA-CN-25]
    images: [{image}]
"""


def small_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def registry_folder(tmp_path: Path) -> Path:
    """A registry folder with one good photo, and a secret file beside (outside) the folder."""
    folder = tmp_path / "registry"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "jacket.png").write_bytes(small_png())
    (folder / "images" / "logo.png").write_bytes(small_png())
    (tmp_path / "secret.png").write_text(SECRET + "\n", encoding="utf-8")
    return folder


def registry_at(tmp_path: Path, *, image: str = "images/jacket.png", logo: str = "images/logo.png",
                valid_until: str = "2099-03-13", text: str | None = None) -> Path:
    folder = registry_folder(tmp_path)
    path = folder / "registry.yaml"
    path.write_text(text or REGISTRY.format(image=image, logo=logo, valid_until=valid_until), encoding="utf-8")
    return path


def load_errors(path: Path) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert SECRET not in str(info.value)
    return info.value.errors
