"""Repeat infringers and seller networks: who is linked, why, and who is not."""

from __future__ import annotations

from datetime import date

from enforcement.sellers import build_seller_view


def fold(name: str) -> str:
    return "".join(name.split()).casefold()


def contacts(listing: dict) -> list[str]:
    return listing.get("contacts", [])


def L(seller: str, n: int, **extra) -> dict:  # a listing, as the store gives it
    return {"platform": extra.pop("platform", "taobao"), "listing_id": f"{seller}-{n}", "seller_id": "",
            "seller_name": seller, "verdict": extra.pop("verdict", "infringing"), "sales": extra.pop("sales", 10),
            "shop_url": extra.pop("shop_url", None), "main_image_phash": extra.pop("phash", None),
            "registered_image": extra.pop("registered_image", None), **extra}


def view(listings, **kwargs):
    return build_seller_view(listings, fold=fold, contacts_of=contacts, as_of=date(2026, 12, 1), **kwargs)


def network_of(result, seller: str):
    row = result.sellers[result.sellers["seller_name"] == seller].iloc[0]
    return row["network"]


def test_a_shared_contact_links_two_sellers_and_says_why():
    result = view([L("店A", 1, contacts=["wechat:lumora888"]), L("店B", 1, contacts=["wechat:lumora888"])])
    assert network_of(result, "店A") == network_of(result, "店B")
    assert [(link.rule, link.value) for link in result.links] == [("contact", "wechat:lumora888")]
    assert "both give the contact wechat:lumora888" in result.sellers.iloc[0]["links"]


def test_links_are_transitive_across_rules_and_platforms():
    result = view([
        L("店A", 1, contacts=["qq:12345678"]),
        L("店B", 1, contacts=["qq:12345678"], shop_url="https://shop777.taobao.com/"),
        L("店C", 1, shop_url="//shop777.taobao.com"),
        L("Shenzhen Copy Co.", 1, platform="alibaba", contacts=["phone:13800138000"]),
        L("店C", 2, contacts=["phone:13800138000"]),
    ])
    networks = {network_of(result, s) for s in ("店A", "店B", "店C", "Shenzhen Copy Co.")}
    assert len(networks) == 1
    row = result.networks.iloc[0]
    assert (row["members"], row["platforms"]) == (4, "alibaba,taobao")


def test_the_rights_holders_own_photo_links_nobody():
    # every copier steals the official photo: sharing it is not evidence of one operator
    result = view([L("店A", 1, phash="ffff0000ffff0000", registered_image="trail_jacket_1.jpg"),
                   L("店B", 1, phash="ffff0000ffff0000", registered_image="trail_jacket_1.jpg")])
    assert network_of(result, "店A") != network_of(result, "店B")
    assert result.links == [] and result.networks.empty


def test_the_same_own_photo_on_flagged_listings_links_sellers():
    result = view([L("店A", 1, phash="ffff0000ffff0000"), L("店B", 1, phash="ffff0000ffff0001")])
    assert network_of(result, "店A") == network_of(result, "店B")
    assert result.links[0].rule == "own_photo"


def test_a_photo_on_clean_listings_links_nobody():
    result = view([L("店A", 1, phash="ffff0000ffff0000", verdict="clean"),
                   L("店B", 1, phash="ffff0000ffff0000", verdict="clean")])
    assert result.links == []


def test_different_photos_and_contacts_link_nobody():
    result = view([L("店A", 1, phash="ffff0000ffff0000", contacts=["wechat:a1"]),
                   L("店B", 1, phash="0000ffff0000ffff", contacts=["wechat:b2"])])
    assert result.links == []


def test_a_hidden_seller_is_left_out_of_the_seller_view():
    result = view([L("", 1, contacts=["wechat:x"]), L("店B", 1, contacts=["wechat:x"])])
    assert list(result.sellers["seller_name"]) == ["店B"] and result.links == []


def test_the_same_seller_under_folded_names_is_one_seller():
    result = view([L("Lumora Outlet", 1), L("lumora  outlet", 2)])
    assert len(result.sellers) == 1 and result.sellers.iloc[0]["listings"] == 2


def test_counts_risk_and_store_front_candidates():
    history = [{"platform": "taobao", "listing_id": f"店A-{n}", "state": "removed", "decided_on": "2026-11-20",
                "removed_on": "2026-11-21"} for n in range(3)]
    history.append({"platform": "taobao", "listing_id": "店B-0", "state": "rejected", "decided_on": "2026-11-20",
                    "removed_on": None})
    listings = [L("店A", n, sales=2000) for n in range(4)] + [L("店B", 0, sales=5), L("店B", 1, verdict="clean")]
    result = view(listings, case_history=history, relisted=[("taobao", "店A-3")])
    a = result.sellers[result.sellers["seller_name"] == "店A"].iloc[0]
    b = result.sellers[result.sellers["seller_name"] == "店B"].iloc[0]
    assert (a["listings"], a["flagged"], a["filed"], a["removed"], a["relisted"], a["confirmed_recent"]) == (
        4, 4, 3, 3, 1, 3)
    assert a["sales"] == 8000 and b["sales"] == 5  # sales of flagged listings only
    assert bool(a["storefront_candidate"]) and not bool(b["storefront_candidate"])
    # 0.45 * 3/5 + 0.25 * log10(8001)/4 + 0.20 * 1/3 + 0.10 * 4/10
    assert a["risk"] == 62.1
    assert result.sellers.iloc[0]["seller_name"] == "店A"  # ranked by risk


def test_confirmations_older_than_the_window_do_not_count():
    history = [{"platform": "taobao", "listing_id": "店A-0", "state": "removed", "decided_on": "2026-06-01",
                "removed_on": "2026-06-02"}]
    result = view([L("店A", 0)], case_history=history)
    assert result.sellers.iloc[0]["confirmed_recent"] == 0 and result.sellers.iloc[0]["removed"] == 1


def test_a_store_without_listings_gives_an_empty_seller_view():
    result = view([])
    assert result.sellers.empty and result.networks.empty and result.links == []
