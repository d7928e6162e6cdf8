"""The registry (docs/contract.md §2): every mistake is reported with its key path; nothing unsafe is loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from contract import PLATFORMS
from registry import RegistryError, load_registry
from tests.registry_inputs import base_registry, errors_of, write

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "registry" / "demo.yaml"


def test_demo_registry_loads_with_the_contract_contents():
    reg = load_registry(DEMO)
    assert reg.rights_holder.name == "Lumora Outdoor Co., Ltd."
    assert reg.rights_holder.contact_email == "ip@lumora.example"
    cn = reg.trademark("LUMORA-CN-25")
    assert (cn.mark, cn.office, cn.classes, cn.aliases) == ("LUMORA", "CNIPA", (25, 18), ("露莫拉",))
    assert (cn.valid_from, cn.valid_until) == (date(2020, 3, 14), date(2030, 3, 13))
    assert cn.logo is not None and cn.logo.is_file() and cn.logo.is_absolute()
    us = reg.trademark("LUMORA-US-25")
    assert (us.office, us.classes, us.valid_until) == ("USPTO", (25,), date(2031, 1, 4))
    assert reg.copyright("LUMORA-PHOTO").official_url == "https://lumora.example/catalogue"
    jacket = reg.product("trail-jacket")
    assert jacket.reference_price.amount == 1299 and jacket.reference_price.currency == "CNY"
    assert [p.name for p in jacket.images] == ["trail_jacket_1.jpg", "trail_jacket_2.jpg"]
    assert all(p.is_absolute() and p.is_file() for p in jacket.images)
    assert reg.product("summit-pack").keywords == ("登山包", "hiking backpack")
    assert reg.watch.platforms == ("taobao", "tmall", "1688", "alibaba")
    assert reg.watch.queries == ("LUMORA 冲锋衣", "露莫拉") and reg.watch.pages == 3
    assert reg.is_authorized("alibaba", "Lumora Outdoor Co., Ltd.")


def test_a_valid_registry_loads_and_paths_are_relative_to_the_registry_file(tmp_path):
    reg = load_registry(write(tmp_path, base_registry()))
    assert reg.product("trail-jacket").images == ((tmp_path / "images" / "a.jpg").resolve(),)
    assert reg.warnings == []


def test_missing_image_file_names_its_key_path_and_absolute_path(tmp_path):
    data = base_registry()
    data["products"][0]["images"].append("images/missing.jpg")
    errors = errors_of(tmp_path, data)
    assert errors == [
        f"products[0].images[1]: file not found: {(tmp_path / 'images' / 'missing.jpg').resolve()}"
    ]


def test_missing_logo_file_is_an_error(tmp_path):
    data = base_registry()
    data["trademarks"][0]["logo"] = "images/logo.png"
    assert errors_of(tmp_path, data) == [
        f"trademarks[0].logo: file not found: {(tmp_path / 'images' / 'logo.png').resolve()}"
    ]


def test_duplicate_trademark_id_is_reported(tmp_path):
    data = base_registry()
    data["trademarks"].append(dict(data["trademarks"][0]))
    assert "trademarks[1].id: duplicate id 'LUMORA-CN-25'" in errors_of(tmp_path, data)


def test_duplicate_product_id_is_reported(tmp_path):
    data = base_registry()
    data["products"].append(dict(data["products"][0]))
    assert "products[1].id: duplicate id 'trail-jacket'" in errors_of(tmp_path, data)


def test_unknown_keys_are_reported_at_every_level(tmp_path):
    data = base_registry()
    data["trademarks"][0]["colour"] = "red"
    data["watch"] = {"pages": 2, "schedule": "daily"}
    data["extra"] = 1
    errors = errors_of(tmp_path, data)
    assert "trademarks[0].colour: unknown key" in errors
    assert "watch.schedule: unknown key" in errors
    assert "extra: unknown key" in errors


def test_missing_required_keys_are_reported(tmp_path):
    data = base_registry()
    del data["trademarks"][0]["registration_number"]
    del data["rights_holder"]["contact_email"]
    errors = errors_of(tmp_path, data)
    assert "trademarks[0].registration_number: missing required key" in errors
    assert "rights_holder.contact_email: missing required key" in errors


def test_bad_and_inverted_dates_are_reported(tmp_path):
    data = base_registry()
    data["trademarks"][0]["valid_from"] = "2020-13-45"
    second = dict(data["trademarks"][0], id="OTHER", valid_from="2024-01-01", valid_until="2020-01-01")
    data["trademarks"].append(second)
    errors = errors_of(tmp_path, data)
    assert "trademarks[0].valid_from: not a date (YYYY-MM-DD): '2020-13-45'" in errors
    assert "trademarks[1].valid_until: 2020-01-01 is before valid_from 2024-01-01" in errors


def test_product_naming_unknown_trademark_or_copyright_is_an_error(tmp_path):
    data = base_registry()
    data["products"][0]["trademarks"] = ["NOPE"]
    data["products"][0]["copyright"] = "NOPE-PHOTO"
    errors = errors_of(tmp_path, data)
    assert "products[0].trademarks[0]: unknown trademark 'NOPE'" in errors
    assert "products[0].copyright: unknown copyright 'NOPE-PHOTO'" in errors


def test_wrong_types_are_reported(tmp_path):
    data = base_registry()
    data["trademarks"][0]["classes"] = [25, "clothes", 99]
    data["products"][0]["reference_price"] = {"amount": "cheap", "currency": "yuan"}
    data["watch"] = {"pages": 0, "platforms": ["ebay"]}
    data["authorized_sellers"] = "everyone"
    errors = errors_of(tmp_path, data)
    assert "trademarks[0].classes[1]: not a Nice class (an integer 1-45): 'clothes'" in errors
    assert "trademarks[0].classes[2]: not a Nice class (an integer 1-45): 99" in errors
    assert "products[0].reference_price.amount: must be a positive number, got 'cheap'" in errors
    assert "products[0].reference_price.currency: must be a 3-letter ISO 4217 code, got 'yuan'" in errors
    assert "watch.pages: must be a positive integer, got 0" in errors
    assert any(e.startswith("watch.platforms[0]: unknown platform 'ebay'") for e in errors)
    assert "authorized_sellers: must be a list, got str" in errors


def test_all_errors_are_collected_and_the_message_names_the_file(tmp_path):
    data = base_registry()
    data["trademarks"][0]["colour"] = "red"
    data["products"][0]["trademarks"] = ["NOPE"]
    path = write(tmp_path, data)
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert len(info.value.errors) == 2
    text = str(info.value)
    assert text.splitlines()[0].startswith(f"registry {path}")
    assert "trademarks[0].colour: unknown key" in text and "products[0].trademarks[0]" in text


def test_expired_mark_loads_with_a_warning(tmp_path):
    data = base_registry()
    data["trademarks"].append(
        dict(data["trademarks"][0], id="OLD", valid_from="2000-01-01", valid_until="2010-01-01")
    )
    reg = load_registry(write(tmp_path, data))
    assert not reg.trademark("OLD").is_valid()
    assert reg.trademark("OLD").is_valid(date(2005, 1, 1))
    assert any("OLD" in w and "expired on 2010-01-01" in w and "never cited" in w for w in reg.warnings)


def test_non_cnipa_only_product_watched_on_chinese_platforms_is_a_warning(tmp_path):
    data = base_registry()
    data["trademarks"].append(dict(data["trademarks"][0], id="LUMORA-US", office="USPTO"))
    data["products"].append({"id": "us-only", "name": "US only", "trademarks": ["LUMORA-US"]})
    data["watch"] = {"platforms": ["taobao", "alibaba"]}
    reg = load_registry(write(tmp_path, data))
    assert any("us-only" in w and "non-CNIPA" in w and "taobao" in w for w in reg.warnings)
    data["watch"] = {"platforms": ["alibaba"]}
    assert load_registry(write(tmp_path, data)).warnings == []


def test_watch_defaults_and_search_queries_from_marks_and_keywords(tmp_path):
    reg = load_registry(write(tmp_path, base_registry()))
    assert reg.watch.platforms == PLATFORMS and reg.watch.pages == 3 and reg.watch.queries == ()
    assert reg.search_queries() == [
        "LUMORA",
        "LUMORA 冲锋衣",
        "LUMORA trail jacket",
        "露莫拉",
        "露莫拉 冲锋衣",
        "露莫拉 trail jacket",
    ]


def test_explicit_watch_queries_win(tmp_path):
    data = base_registry()
    data["watch"] = {"queries": ["LUMORA 冲锋衣", "露莫拉", "露莫拉"]}
    assert load_registry(write(tmp_path, data)).search_queries() == ["LUMORA 冲锋衣", "露莫拉"]


def test_authorized_seller_names_compare_normalised(tmp_path):
    reg = load_registry(write(tmp_path, base_registry()))
    assert reg.is_authorized("tmall", "LUMORA 官方旗舰店")
    assert reg.is_authorized("tmall", "ｌｕｍｏｒａ官方旗舰店")
    assert not reg.is_authorized("taobao", "lumora官方旗舰店")
    assert not reg.is_authorized("tmall", "lumora旗舰店")


def test_non_cnipa_mark_without_a_cnipa_twin_watched_on_chinese_platforms_is_a_warning(tmp_path):
    data = base_registry()
    data["trademarks"].append(
        dict(data["trademarks"][0], id="ARDENT-US", mark="ARDENT", office="USPTO", aliases=[])
    )
    reg = load_registry(write(tmp_path, data))
    assert any(w.startswith("trademarks[1] ARDENT-US: a USPTO mark") for w in reg.warnings)
    data["trademarks"][1]["mark"] = (
        "LUMORA"  # the same word is registered with CNIPA too: nothing to warn about
    )
    assert load_registry(write(tmp_path, data)).warnings == []
