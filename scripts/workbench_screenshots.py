"""The README's pictures of the review workbench, made from the demo data.

    .venv/bin/python scripts/workbench_screenshots.py [--out docs/images]

Runs `scrapy monitor` twice on the demo registry and the bundled cassettes (a store with two runs, in a
temporary folder), starts `scrapy review` on it, takes two decisions with the keyboard as a reviewer would,
and writes ``workbench-queue.png`` and ``workbench-dashboard.png`` at 1280 px wide, in Debian's chromium,
offline. ``take_screenshots`` is also what the browser test calls.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "fixtures" / "registry" / "demo.yaml"
CASSETTES = ROOT / "fixtures" / "cassettes"
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
WIDTH, HEIGHT = 1280, 900
SCREEN_DPR = 1  # a plain laptop screen; keeps each PNG well under 300 KB


def take_screenshots(base_url: str, out_dir: Path, *, decide: bool = True, browser=None) -> list[Path]:
    """Screenshots of the queue and the dashboard of the workbench at ``base_url``, in ``browser`` (a
    Playwright chromium) or in a Debian chromium of its own."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        from crawlers.browser import BROWSER_ARGS

        with sync_playwright() as playwright:
            own = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=list(BROWSER_ARGS))
            try:
                return take_screenshots(base_url, out_dir, decide=decide, browser=own)
            finally:
                own.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    queue_png, dashboard_png = out_dir / "workbench-queue.png", out_dir / "workbench-dashboard.png"
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=SCREEN_DPR)
    # a filter whose cards show both pictures: the listing's beside the registered one it copies
    page.goto(f"{base_url}/queue?decision=all&reason=stolen_image")
    if decide:  # one approval and one rejection, so the cards show their states
        page.keyboard.press("a")
        page.wait_for_selector(".card.decision-approve")
        page.keyboard.press("r")
        page.wait_for_selector(".card.decision-reject")
        page.keyboard.press("k")
    _pictures_loaded(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(queue_png))
    page.goto(f"{base_url}/dashboard")
    page.screenshot(path=str(dashboard_png))
    page.close()
    for png in (queue_png, dashboard_png):
        _shrink(png)
    return [queue_png, dashboard_png]


def _shrink(png: Path) -> None:
    """256 colours: photos of goods stay recognisable, and the README's pictures stay small in git."""
    from PIL import Image

    with Image.open(png) as shot:
        smaller = shot.convert("RGB").quantize(colors=256)
    smaller.save(png, optimize=True)


def _pictures_loaded(page, timeout: float = 15.0) -> None:
    """Wait for the first pictures. A loop of evaluate(), not wait_for_function(): the workbench's content
    policy forbids eval, which wait_for_function's polling uses once the first check fails."""
    deadline = time.monotonic() + timeout
    check = "Array.from(document.images).slice(0, 6).every((image) => image.complete)"
    while not page.evaluate(check):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pictures of {page.url} did not load within {timeout:.0f} s")
        time.sleep(0.1)


def _environment() -> dict:
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}


def _demo_store(work: Path) -> str:
    store = f"sqlite:///{work / 'store.db'}"
    for _ in range(2):
        subprocess.run([SCRAPY, "monitor", "--registry", str(REGISTRY), "--replay", str(CASSETTES), "--out",
                        str(work / "reports"), "--store", store, "--images-store", str(work / "images"),
                        "--no-progress", "-L", "WARNING"], cwd=ROOT, env=_environment(), check=True,
                       stdout=subprocess.DEVNULL)
    return store


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="where the PNGs go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ipwatch-shots-") as folder:
        work = Path(folder)
        store, port = _demo_store(work), _free_port()
        log = work / "review.log"
        with log.open("w") as output:
            server = subprocess.Popen([SCRAPY, "review", "--registry", str(REGISTRY), "--store", store,
                                       "--images-store", str(work / "images"), "--out", str(work / "out"),
                                       "--port", str(port), "--reviewer", "demo", "--no-browser"],
                                      cwd=ROOT, env=_environment(), stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not re.search(r"open http://", log.read_text()) and time.monotonic() < deadline:
                time.sleep(0.3)
            time.sleep(0.5)
            for path in take_screenshots(f"http://127.0.0.1:{port}", Path(args.out)):
                print(f"{path} ({path.stat().st_size // 1024} KB)")
        finally:
            server.terminate()
            server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
