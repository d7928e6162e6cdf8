"""Contact ids (WeChat, QQ, phone) found in titles and picture text, normalised for the seller network."""

from __future__ import annotations

import pytest

from matchers.contacts import contacts_of, find_contacts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加微信lumora888 送运费险", [("wechat", "lumora888")]),
        ("VX：Lumora_2024 拿货", [("wechat", "lumora_2024")]),
        ("薇信 lm-outdoor 咨询", [("wechat", "lm-outdoor")]),
        ("ＱＱ：１２３４５６７８", [("qq", "12345678")]),  # full-width, as pictures and titles often have
        ("扣扣 98765432 批发", [("qq", "98765432")]),
        ("电话 138-1234-5678", [("phone", "13812345678")]),
        ("+86 139 1234 5678 现货", [("phone", "13912345678")]),
        ("微信号: 13812345678", [("phone", "13812345678")]),  # a WeChat found by phone number is that number
    ],
)
def test_contact_ids_are_found_and_normalised(text, expected):
    assert [(c.kind, c.id) for c in find_contacts(text)] == expected


@pytest.mark.parametrize("text", ["款号AB1234 冲锋衣", "订单 12345678901234", "尺码 XL 170/92A", "LUMORA 2025新款"])
def test_model_numbers_sizes_and_long_numbers_are_not_contacts(text):
    assert find_contacts(text) == []


def test_title_and_image_text_contacts_are_merged_once_each_title_first():
    listing = {
        "title": "户外冲锋衣 加V lumora888",
        "image_text": [{"text": "微信: LUMORA888", "box": [], "confidence": 0.9, "image": "full/a.jpg"},
                       {"text": "QQ 12345678", "box": [], "confidence": 0.9, "image": "full/a.jpg"}],
    }
    found = contacts_of(listing)
    assert [(c["kind"], c["id"], c["source"]) for c in found] == [
        ("wechat", "lumora888", "title"), ("qq", "12345678", "image_text")]
