"""The review workbench driven in real Debian chromium through Playwright (nothing mocked): the real
`scrapy review` subprocess on a store with two real monitor runs.

Few and focused (2 cores): the queue (filter, keys, reload, undo, a seller's bulk rejection), prepare
complaints, and the dashboard with the layout checks (1280 px, 200 % zoom, the CJK font) and the README's
screenshots.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry import load_registry
from store import Store
from tests.conftest import DEMO_REGISTRY, ROOT
from tests.test_workbench_support import DemoStore, demo_store, workbench

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make setup)")]


@pytest.fixture
def store(tmp_path_factory, tmp_path, demo_monitor_run) -> DemoStore:
    return demo_store(tmp_path_factory, tmp_path, demo_monitor_run)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One chromium for this file's tests (a start costs about a second of CPU); each page a test opens has a
    browser context of its own, so no cookie, storage or cache passes from one test to the next."""
    from playwright.sync_api import sync_playwright

    from crawlers.browser import BROWSER_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(BROWSER_ARGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(autouse=True)
def _close_pages(request) -> Iterator[None]:
    """Each test's pages (and their contexts) closed after it, so the next test's renderers start fresh."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()


def _decisions(store: DemoStore) -> dict:
    database = Store(store.url)
    try:
        return {key: row["decision"] for key, row in database.review_decisions(load_registry(DEMO_REGISTRY)).items()}
    finally:
        database.close()


def _keys(page) -> list[str]:
    return page.locator(".card").evaluate_all("(cards) => cards.map((card) => card.dataset.key)")


def _state(page, key: str) -> str:
    classes = page.locator(f'.card[data-key="{key}"]').get_attribute("class")
    return next(name.removeprefix("decision-") for name in classes.split() if name.startswith("decision-"))


def _busiest_seller(store: DemoStore) -> tuple[str, str, int]:
    """The (platform, seller) with the most flagged listings in the latest run."""
    database = Store(store.url)
    try:
        counts = Counter((item["platform"], item["seller_name"]) for item in database.run_listings(store.run_ids[-1])
                         if item.get("verdict") in ("infringing", "suspect") and item.get("seller_name"))
    finally:
        database.close()
    (platform, seller), count = counts.most_common(1)[0]
    return platform, seller, count


def test_queue_filter_keys_reload_undo_and_a_sellers_bulk_rejection(store, browser):
    with workbench(store) as running:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(running.base + "/queue")
        shown = page.locator('select[name="platform"] option[value="taobao"]').inner_text()
        page.select_option('select[name="platform"]', "taobao")  # a filter applies as it changes
        page.wait_for_url("**platform=taobao**")
        keys = _keys(page)
        assert keys and all(key.startswith("taobao:") for key in keys)
        assert shown == f"taobao ({len(keys)})" and page.locator("#total").inner_text() == str(len(keys))

        page.keyboard.press("a")
        page.wait_for_selector(f'.card.decision-approve[data-key="{keys[0]}"]')
        page.keyboard.press("r")
        page.wait_for_selector(f'.card.decision-reject[data-key="{keys[1]}"]')
        page.keyboard.press("s")
        page.keyboard.press("j")
        page.keyboard.press("k")
        assert page.locator(".card.current").get_attribute("data-key") == keys[3]
        page.reload()
        assert keys[0] not in _keys(page) and keys[2] in _keys(page)  # decided: out of "to decide"
        page.goto(running.base + "/queue?platform=taobao&decision=all")
        assert (_state(page, keys[0]), _state(page, keys[1]), _state(page, keys[2])) == ("approve", "reject",
                                                                                          "undecided")
        assert _decisions(store) == {tuple(keys[0].split(":", 1)): "approve", tuple(keys[1].split(":", 1)): "reject"}

        page.keyboard.press("u")  # the latest decision, the rejection, back
        page.wait_for_selector(f'.card.decision-undecided[data-key="{keys[1]}"]')
        page.reload()
        assert _state(page, keys[1]) == "undecided" and _state(page, keys[0]) == "approve"
        assert _decisions(store) == {tuple(keys[0].split(":", 1)): "approve"}

        platform, seller, count = _busiest_seller(store)
        asked = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.goto(f"{running.base}/queue?decision=all&platform={platform}")
        with page.expect_navigation():
            page.locator(f'button.bulk[data-scope="seller"][data-decision="reject"][data-seller="{seller}"]').first \
                .click()
        assert asked == [f"reject {count} listing(s) of seller {seller} ({platform})?"]
        assert page.locator("#message").inner_text() == f"rejected {count} listing(s) of seller {seller} ({platform})"
        database = Store(store.url)
        try:
            of_seller = {(i["platform"], i["listing_id"]) for i in database.run_listings(store.run_ids[-1])
                         if (i["platform"], i["seller_name"]) == (platform, seller)
                         and i.get("verdict") in ("infringing", "suspect")}
        finally:
            database.close()
        decided = _decisions(store)
        assert len(of_seller) == count and all(decided[key] == "reject" for key in of_seller)


def test_prepare_complaints_builds_the_batches_and_links_them(store, browser):
    with workbench(store) as running:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(running.base + "/queue?platform=1688")
        keys = _keys(page)[:2]
        for key in keys:
            page.keyboard.press("a")
            page.wait_for_selector(f'.card.decision-approve[data-key="{key}"]')
        # the current filter in one go: its count asked first, then decided
        asked = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.goto(running.base + "/queue?reason=trademark_misuse")
        in_filter = _keys(page)
        with page.expect_navigation():
            page.click('button.bulk[data-scope="filter"][data-decision="approve"]')
        assert asked == [f"approve {len(in_filter)} listing(s) in this filter?"] and in_filter
        decided = _decisions(store)
        assert all(decided[tuple(key.split(":", 1))] == "approve" for key in in_filter + keys)
        page.click("text=Complaints")
        assert f"{len(set(in_filter + keys))} listing(s) approved" in page.inner_text("main")
        page.uncheck("#evidence")  # the screenshots are scrapy complaints' own, tested there
        with page.expect_navigation(timeout=180_000):
            page.click("#prepare")
        batches = page.locator("#batches a.batch")
        assert batches.count() >= 1
        folder = Path(page.locator("#folder").inner_text())
        assert folder.is_relative_to(store.out) and (folder / "manifest.json").is_file()
        files = [folder / name for name in batches.all_inner_texts()]
        assert all(path.is_file() for path in files)
        listed = "".join(path.read_text(encoding="utf-8") for path in files)
        assert all(key.split(":", 1)[1] in listed for key in keys)
        assert page.locator("#refused li").all_inner_texts() == ["none"]
        first = files[0].read_text(encoding="utf-8")
        page.click("#batches a.batch >> nth=0")  # the link serves the batch file itself
        assert page.inner_text("body").strip() == first.strip()


def _fonts_rendering(page, selector: str) -> set[str]:
    """The font families chromium used for the text of ``selector`` (DevTools' platform fonts)."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("DOM.enable")
    devtools.send("CSS.enable")
    root = devtools.send("DOM.getDocument")["root"]["nodeId"]
    node = devtools.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return {font["familyName"] for font in devtools.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}


def test_the_printed_token_url_opens_the_workbench_and_decides_in_chromium(store, browser):
    with workbench(store, host="0.0.0.0") as running:
        page = browser.new_page()
        refused = page.goto(running.base + "/queue")
        assert refused.status == 403
        page.goto(running.url)  # the printed URL, as a reviewer pastes it
        assert "token=" not in page.url and page.locator(".card").count() > 0
        key = _keys(page)[0]
        page.keyboard.press("r")  # the cookie and the page's CSRF token carry the change
        page.wait_for_selector(f'.card.decision-reject[data-key="{key}"]')
        assert _decisions(store) == {tuple(key.split(":", 1)): "reject"}


def test_dashboard_counts_two_runs_fits_the_screen_and_renders_chinese(store, browser, tmp_path):
    summaries = store.summaries()
    with workbench(store) as running:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(running.base + "/dashboard")
        for summary in summaries:
            row = page.locator(f'#runs tr[data-run="{summary["run_id"]}"]')
            for column in ("listings", "new", "flagged"):
                expected = sum(platform[column] for platform in summary["platforms"].values())
                assert row.locator(f"td.{column}").inner_text() == str(expected), (summary["run_id"], column)
        assert page.locator(".chart svg").count() == 1
        page.goto(running.base + "/queue")
        assert "Noto Sans CJK SC" in _fonts_rendering(page, ".card .title")  # what chromium really drew with
        # 200 % zoom on a 1280-px screen: a 640-px-wide page, twice as dense; nothing runs off to the side
        zoomed = browser.new_page(viewport={"width": 640, "height": 450}, device_scale_factor=2)
        for path in ("/queue", "/dashboard", "/complaints"):
            zoomed.goto(running.base + path)
            overflow = zoomed.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, (path, overflow)
        sys.path.insert(0, str(ROOT / "scripts"))
        from workbench_screenshots import take_screenshots

        for png in take_screenshots(running.base, tmp_path / "shots", decide=False, browser=browser):
            data = png.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == 1280
            assert len(data) < 300_000, (png.name, len(data))
