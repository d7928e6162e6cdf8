"""1688 rendered in Chromium (`-a render=1`): the page's own script makes the signed mtop call from inside the
page and builds the result cards; the spider reads the cards. Replayed through Playwright routing."""

from __future__ import annotations

import pytest
import yaml

from crawlers.platforms import alibaba1688
from tests.conftest import CASSETTES, run_crawl

QUERY = "露莫拉 户外"
SAME_AS_THE_DATA = ("listing_id", "url", "title", "price_min", "price_max", "currency", "moq", "moq_unit",
                    "seller_id", "seller_name", "location", "image_urls")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return run_crawl(tmp_path_factory.mktemp("render1688"), "1688", "-a", f"query={QUERY}", "-a", "render=1")


def _recorded_reply_listings() -> dict[str, dict]:
    cassette = yaml.safe_load((CASSETTES / "1688" / "rendered-lumora-outdoor.yaml").read_text(encoding="utf-8"))
    reply = next(i["response"]["body"]["string"] for i in cassette["interactions"]
                 if i["request"]["uri"].startswith("https://h5api.m.1688.com/"))
    return {listing["listing_id"]: listing for listing in alibaba1688.read_mtop_search(reply).listings}


@pytest.mark.browser
def test_rendered_cards_give_the_same_listings_as_the_page_data(rendered):
    assert rendered.returncode == 0, rendered.log[-3000:]
    expected = _recorded_reply_listings()
    got = rendered.by_id()
    assert set(got) == set(expected) and len(got) == 6
    for listing_id, listing in expected.items():
        for field in SAME_AS_THE_DATA:
            assert got[listing_id][field] == listing[field], (listing_id, field)
    assert all(item["platform"] == "1688" and item["query"] == QUERY for item in got.values())


@pytest.mark.browser
def test_the_rendered_page_is_served_from_cassettes_and_unrecorded_pictures_are_aborted(rendered):
    stats = rendered.stats
    assert stats["format/rendered"] == 1
    assert stats["replay/browser_fulfilled"] == 3  # the shell, the search script, the page's mtop call
    assert stats["replay/browser_aborted"] == stats["replay/browser_aborted/image"] == 6  # card thumbnails
    assert stats["images/requested"] == 6 and stats.get("images/download_failed", 0) == 0  # full-size, recorded
