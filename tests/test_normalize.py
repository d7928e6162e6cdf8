"""The field conventions every spider shares (docs/contract.md §4)."""

import pytest

from crawlers import normalize


@pytest.mark.parametrize(("text", "expected"), [
    ("59.00", (59.0, 59.0, None)),
    ("93", (93.0, 93.0, None)),
    ("¥12.50-18.00", (12.5, 18.0, "CNY")),
    ("￥419", (419.0, 419.0, "CNY")),
    ("US$0.50-1.20", (0.5, 1.2, "USD")),
    ("$1.38", (1.38, 1.38, "USD")),
    ("$12.50~15.00", (12.5, 15.0, "USD")),
    ("US $1,299.00 - 1,499.00", (1299.0, 1499.0, "USD")),
    ("", (None, None, None)),
    (35, (35.0, 35.0, None)),
])
def test_prices_in_every_shown_form_become_min_max_and_currency(text, expected):
    assert normalize.parse_price(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("300+人付款", 300),
    ("全网6000+人付款", 6000),
    ("1万+", 10000),
    ("1.5万+人付款", 15000),
    ("7261人付款", 7261),
    ("0人付款", 0),
    ("近30天成交1,234件", 1234),
    ("月成交 967笔", 967),
    ("10", 10),
    ("", None),
    ("暂无销量", None),
])
def test_sales_counts_read_as_shown(text, expected):
    assert normalize.parse_count(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Min. order: 100 pieces", (100, "pieces")),
    ("100 Pieces", (100, "pieces")),
    ("2件起批", (2, "件")),
    ("Min. order: 1 piece", (1, "piece")),
])
def test_minimum_order_quantity_and_unit(text, expected):
    assert normalize.parse_moq(text) == expected


def test_protocol_relative_and_http_urls_become_https():
    assert normalize.absolute_url("//detail.tmall.com/item.htm?id=1") == "https://detail.tmall.com/item.htm?id=1"
    assert normalize.absolute_url("http://g.search2.alicdn.com/img/i2/1.jpg") == "https://g.search2.alicdn.com/img/i2/1.jpg"


@pytest.mark.parametrize(("url", "expected"), [
    ("//g-search1.alicdn.com/img/bao/uploaded/i4/O1CN01ab_!!2194075111.jpg_360x360q90.jpg_.webp",
     "https://g-search1.alicdn.com/img/bao/uploaded/i4/O1CN01ab_!!2194075111.jpg"),
    ("https://img.alicdn.com/imgextra/i1/1/O1CN01x_!!1.jpg_400x400.jpg", "https://img.alicdn.com/imgextra/i1/1/O1CN01x_!!1.jpg"),
    ("//img.alicdn.com/bao/uploaded/i3/35/TB1x_!!0-item_pic.jpg_b.jpg", "https://img.alicdn.com/bao/uploaded/i3/35/TB1x_!!0-item_pic.jpg"),
    ("https://cbu01.alicdn.com/img/ibank/O1CN01f_!!3938148602-0-cib.290x290.jpg",
     "https://cbu01.alicdn.com/img/ibank/O1CN01f_!!3938148602-0-cib.jpg"),
    ("//s.alicdn.com/@sc04/kf/H0123456789abcdef0123456789abcdefA.jpg_300x300.jpg",
     "https://s.alicdn.com/@sc04/kf/H0123456789abcdef0123456789abcdefA.jpg"),
    ("https://s.alicdn.com/@sc04/kf/Habc.png_720x720q50.jpg", "https://s.alicdn.com/@sc04/kf/Habc.png"),
    ("https://img.alicdn.com/imgextra/i1/9/O1CN01z~crop,0,185,1179,1179~_!!9.jpg",
     "https://img.alicdn.com/imgextra/i1/9/O1CN01z~crop,0,185,1179,1179~_!!9.jpg"),
])
def test_images_are_full_size_absolute_https(url, expected):
    assert normalize.full_size_image(url) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("<span class=H>LUMORA</span>冲锋衣", "LUMORA冲锋衣"),
    ('<font color=red>露莫拉</font> 登山包', "露莫拉 登山包"),
    ("Outdoor <strong>Lumora</strong> Jacket", "Outdoor Lumora Jacket"),
    ("A &amp; B &lt;3", "A & B <3"),
    ("A &amp;amp; B", "A & B"),
    ("\\u003cspan class\\u003dH\\u003eLUMORA\\u003c/span\\u003e", "LUMORA"),
    ("  two\n lines\t here ", "two lines here"),
    ("zero\u200bwidth kept", "zero\u200bwidth kept"),
])
def test_titles_are_text_only(raw, expected):
    assert normalize.clean_text(raw) == expected


@pytest.mark.parametrize(("platform", "listing_id", "source", "expected"), [
    ("taobao", "575869269042", None, "https://item.taobao.com/item.htm?id=575869269042"),
    ("tmall", "575869269042", "//detail.tmall.com/item.htm?id=575869269042&ns=1&xxc=ad_ztc",
     "https://detail.tmall.com/item.htm?id=575869269042"),
    ("1688", "577932025981", None, "https://detail.1688.com/offer/577932025981.html"),
    ("alibaba", "1600270997819",
     "//www.alibaba.com/product-detail/Outdoor-Trail-Jacket_1600270997819.html?spm=a2700.galleryofferlist&s=p",
     "https://www.alibaba.com/product-detail/Outdoor-Trail-Jacket_1600270997819.html"),
])
def test_canonical_detail_urls_carry_no_tracking(platform, listing_id, source, expected):
    assert normalize.canonical_url(platform, listing_id, source) == expected


def test_item_ids_come_from_detail_and_offer_urls_but_not_from_ad_clicks():
    assert normalize.item_id_from_url("//item.taobao.com/item.htm?id=542589791252&ns=1#detail") == "542589791252"
    assert normalize.item_id_from_url("https://detail.1688.com/offer/577932025981.html?spm=a26352") == "577932025981"
    assert normalize.item_id_from_url("https://click.simba.taobao.com/cc_im?p=%C2%B6&s=1&e=Zx") is None


@pytest.mark.parametrize("value", ["1" * 400, "1" * 400 + "万+人付款", float("inf"), float("nan")])
def test_a_count_too_large_to_be_a_number_is_unknown_not_a_crash(value):
    # a seller-written "sales" of 400 digits overflowed round() and cost the whole page before
    assert normalize.parse_count(value) is None
