"""report.html: one self-contained, script-safe page a reviewer can open anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exports.evidence import BROWSER_ARGS, browser_executable
from exports.report_html import render_report_html, write_report_html
from tests.export_fixtures import draw_image, listing

HOSTILE_TITLE = '<script>alert("x")</script> LUMORA "quoted" \'single\' <img src=x onerror=alert(1)>'


@pytest.fixture
def report(tmp_path: Path, registry) -> tuple[Path, list[dict]]:
    store = tmp_path / "images"
    draw_image(store / "full" / "a.jpg", (200, 40, 40), (800, 800))
    draw_image(store / "full" / "b.jpg", (40, 200, 40), (640, 480))
    hit = {
        "product_id": "trail-jacket",
        "registered_image": "images/trail_jacket_1.png",
        "listing_image_url": "https://img.alicdn.com/a.jpg",
        "listing_image_path": "full/a.jpg",
        "distance": 6,
        "stage": "phash",
        "confident": True,
        "is_logo": False,
    }
    items = [
        listing(listing_id="1", title=HOSTILE_TITLE, image_hit=hit, score=95),
        listing(listing_id="2", platform="tmall", verdict="suspect", score=60,
                images=[{"url": "https://img.alicdn.com/b.jpg", "path": "full/b.jpg", "checksum": "c", "phash": "p"}],
                url="javascript:alert(1)"),
        # no image_hit on the listing: the scorer's signals.image and images[] are enough
        listing(listing_id="3", platform="1688", score=80,
                signals={"image": {k: v for k, v in hit.items() if not k.startswith("listing_")}},
                images=[{"url": "https://img.alicdn.com/a.jpg", "path": "full/a.jpg", "checksum": "c", "phash": "p"}]),
        listing(listing_id="4", verdict="clean", score=5),
        listing(listing_id="5", platform="tmall", verdict="authorized", score=0),
    ]
    out = tmp_path / "reports" / "run-1" / "report.html"
    count = write_report_html(items, out, registry=registry, images_store=store, run_id="run-1")
    assert count == 3
    return out, items


def _csp_nonce(page: str) -> str:
    match = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", page)
    assert match, "no script nonce in the Content-Security-Policy"
    return match.group(1)


def test_hostile_titles_and_links_are_escaped_not_executed(report):
    page = report[0].read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&#39;single&#39;" in page
    assert 'href="javascript:' not in page


def test_cards_say_in_words_how_the_photo_matched(report):
    page = report[0].read_text(encoding="utf-8")
    assert page.count("(phash: the whole picture)") == 2


def test_csp_forbids_everything_but_data_images_and_its_own_nonced_script(report):
    page = report[0].read_text(encoding="utf-8")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy and "img-src data:" in policy
    nonce = _csp_nonce(page)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == [f'<script nonce="{nonce}">']
    assert re.findall(r"<style\b[^>]*>", page) == [f'<style nonce="{nonce}">']
    assert render_report_html([]).count("nonce-") == 2
    assert _csp_nonce(render_report_html([])) != nonce  # a fresh nonce per render


def test_the_page_is_self_contained_with_embedded_thumbnails(report):
    out, _ = report
    page = out.read_text(encoding="utf-8")
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', page)
    assert sources and all(src.startswith("data:image/jpeg;base64,") for src in sources)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert out.stat().st_size < 200_000  # thumbnails, not the 800px originals


def test_the_next_report_reuses_a_pictures_thumbnail_and_draws_a_changed_picture_again(report, tmp_path, registry):
    _, items = report
    memo, store = tmp_path / "memo", tmp_path / "images"
    first = render_report_html(items, registry=registry, images_store=store, run_id="run-1", memo_dir=memo)
    kept = sorted((memo / "thumbnail").glob("*/*.json"))
    assert len(kept) == 3  # a.jpg (on two cards), b.jpg and the registered photo beside them
    entry = json.loads(kept[0].read_text(encoding="utf-8"))["value"]
    kept[0].write_text(json.dumps({"value": entry.replace("base64,", "base64,/9j/")}), encoding="utf-8")
    again = render_report_html(items, registry=registry, images_store=store, run_id="run-1", memo_dir=memo)
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', again)
    assert entry.replace("base64,", "base64,/9j/") in sources  # read from the memo, not drawn
    assert len(re.findall(r'<img[^>]*\ssrc="([^"]*)"', first)) == len(sources)
    draw_image(store / "full" / "b.jpg", (40, 40, 200), (640, 480))  # another picture under the same name
    redrawn = render_report_html(items, registry=registry, images_store=store, run_id="run-1", memo_dir=memo)
    assert len(sorted((memo / "thumbnail").glob("*/*.json"))) == 4 and redrawn != again


def test_one_card_per_flagged_listing_with_counts_per_platform(report):
    page = report[0].read_text(encoding="utf-8")
    assert page.count("<article ") == 3
    counts = dict(re.findall(r'<tr data-platform="([^"]+)"><td>[^<]+</td><td>(\d+)</td>', page))
    assert counts == {"1688": "1", "taobao": "1", "tmall": "1"}
    first = page.index('data-platform="taobao" data-verdict')
    assert first < page.index('data-platform="1688" data-verdict') < page.index('data-platform="tmall" data-verdict')
    assert page.count("image distance") == 2 and page.count("<figcaption>trail_jacket_1.png<") == 2 and "40123456" in page and "1299.00 CNY" in page and "5% of reference" in page


@pytest.mark.browser
def test_report_in_chromium_shows_cards_loads_images_and_filters(report):
    from playwright.sync_api import sync_playwright

    out, _ = report
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(headless=True, executable_path=browser_executable(), args=list(BROWSER_ARGS))
        try:
            page = browser.new_page()
            requested, violations = [], []
            page.on("request", lambda request: requested.append(request.url))
            page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
            page.goto(out.as_uri())
            assert page.locator("article.card:visible").count() == 3
            widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
            assert len(widths) == 6 and all(width > 0 for width in widths)
            page.select_option("#filter-platform", "tmall")
            assert page.locator("article.card:visible").count() == 1
            assert page.locator("#shown").inner_text() == "1 shown"
            page.select_option("#filter-platform", "")
            page.select_option("#filter-verdict", "infringing")
            assert page.locator("article.card:visible").count() == 2
            assert page.evaluate("window.__xss === undefined && document.querySelectorAll('script').length === 1")
            assert violations == []
            assert all(url.startswith(("file:", "data:")) for url in requested), requested
        finally:
            browser.close()


def test_a_huge_run_shows_the_highest_scores_and_counts_them_all(tmp_path):
    from exports.report_html import render_report_html

    rows = ({"platform": "taobao", "listing_id": str(100000 + n), "verdict": "infringing" if n % 2 else "suspect",
             "score": n % 100, "title": f"t{n}", "url": f"https://item.taobao.com/item.htm?id={100000 + n}"}
            for n in range(5000))
    page = render_report_html(rows, max_cards=50)
    assert page.count('<article class="card ') == 50
    assert "5000 flagged listing(s), the 50 highest-scoring shown here" in page
