"""What makes a listing re-listed, and when a rejected listing is asked about again."""

from exports.incremental import RelistIndex, annotate, fingerprint, title_key

COMPLAINED = {"platform": "taobao", "listing_id": "1", "title_key": title_key("LUMORA 冲锋衣 高仿"),
              "main_image_phash": "ff00ff00ff00ff00", "seller_name": "店A", "registered_image": "images/a.jpg",
              "filed_at": "2026-11-02T10:00:00Z"}


def _listing(listing_id="2", title="别的标题", phash="ff00ff00ff00ff00", seller="店A", registered="images/a.jpg",
             first_seen="2026-11-09T00:00:00Z"):
    return {"platform": "taobao", "listing_id": listing_id, "title": title, "seller_name": seller,
            "images": [{"phash": phash}], "image_hit": {"registered_image": registered, "confident": True},
            "first_seen": first_seen, "verdict": "infringing"}


def test_the_same_title_under_a_new_id_after_the_complaint_is_a_relisting():
    assert RelistIndex([COMPLAINED]).match(_listing(title="LUMORA  冲锋衣 高仿!", phash="0000000000000000")) == ("taobao", "1")


def test_the_same_photo_from_the_same_seller_is_a_relisting():
    assert RelistIndex([COMPLAINED]).match(_listing()) == ("taobao", "1")


def test_the_brands_own_photo_used_by_another_seller_is_not_a_relisting():
    assert RelistIndex([COMPLAINED]).match(_listing(seller="店B")) is None


def test_a_listing_already_online_when_the_complaint_was_filed_is_not_a_relisting():
    assert RelistIndex([COMPLAINED]).match(_listing(first_seen="2026-11-01T00:00:00Z")) is None


def test_a_rejected_listing_is_asked_again_only_when_title_price_or_image_change():
    seen = {"platform": "taobao", "listing_id": "5", "title": "t", "price_min": 10.0, "price_max": 10.0,
            "images": [{"phash": "aa"}], "verdict": "suspect", "first_run": "old"}
    decisions = {("taobao", "5"): {"decision": "reject", "fingerprint": fingerprint(seen)}}
    same = next(annotate([dict(seen)], run_id="new", complained=[], decisions=decisions))
    cheaper = next(annotate([dict(seen, price_min=8.0)], run_id="new", complained=[], decisions=decisions))
    assert same["review_again"] is False and same["status"] == "seen"
    assert cheaper["review_again"] is True
