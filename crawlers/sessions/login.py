"""Signing in with a real browser: Debian's chromium on the platform's sign-in page, a persistent profile
per session, and the browser state saved once the sign-in cookies appear.

With a display it is an ordinary window. Without one chromium runs headless: the QR code the page shows
is saved as a PNG (its path printed) and drawn in the terminal, for the platform's phone app to scan.
``cdp_url`` drives the analyst's own running Chrome instead (started with ``--remote-debugging-port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from crawlers.sessions.qr import NotAQrCode, draw, module_grid
from crawlers.sessions.state import assess
from crawlers.sessions.store import Session, private_dir, sign_in_data, sign_in_spec, utc_iso

POLL_SECONDS = 0.5
QR_WAIT_MS = 15_000


class LoginFailed(RuntimeError):
    """The sign-in did not finish: timed out, the window was closed, or the page never showed a QR code."""


@dataclass
class LoginOptions:
    headless: bool
    timeout: float
    launch: dict  # chromium launch options: executable_path, args, proxy
    cdp_url: str | None = None
    qr_path: Path | None = None
    out: object = sys.stdout


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def sign_in_url(sign_in: str) -> str:
    spec = sign_in_spec(sign_in)
    parameter = spec.get("redirect_parameter", "redirectURL")
    return f"{spec['login_url']}?{parameter}={quote(spec['home_url'], safe='')}"


def _on_sign_in_page(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.startswith(("login.", "pass.", "passport.")) or not host


async def login(session: Session, options: LoginOptions) -> Session:
    """Sign ``session`` in and save it; :class:`LoginFailed` with a message for the user otherwise."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        if options.cdp_url:
            browser = await playwright.chromium.connect_over_cdp(options.cdp_url)
            context = browser.contexts[0] if browser.contexts else await browser.new_context()
        else:
            private_dir(session.browser_dir)
            launch = {k: v for k, v in options.launch.items() if k != "headless"}
            context = await playwright.chromium.launch_persistent_context(
                str(session.browser_dir), headless=options.headless, **launch)
        closed = asyncio.Event()
        context.on("close", lambda *_: closed.set())
        page = await context.new_page()
        page.on("close", lambda *_: closed.set() if not context.pages else None)
        try:
            await page.goto(sign_in_url(session.sign_in), wait_until="domcontentloaded")
            if options.headless:
                await _show_qr(page, options)
            await _wait_for_sign_in(session, context, page, closed, options)
            state = await context.storage_state()
        finally:
            with contextlib.suppress(Exception):
                await (page.close() if options.cdp_url else context.close())
    session.cookies, session.origins = state.get("cookies", []), state.get("origins", [])
    session.meta.update(signed_in=utc_iso(), source="scrapy login")
    session.meta.pop("signed_out_at", None)  # a fresh sign-in
    session.save()
    return session


async def _show_qr(page, options: LoginOptions) -> None:
    selectors = sign_in_data()["qr"]
    for tab in selectors["tab_selectors"]:
        with contextlib.suppress(Exception):
            if await page.locator(tab).first.is_visible(timeout=500):
                await page.locator(tab).first.click(timeout=2_000)
                break
    joined = ", ".join(selectors["code_selectors"])
    try:
        code = page.locator(joined).first
        await code.wait_for(state="visible", timeout=QR_WAIT_MS)
        await page.wait_for_function(
            "el => el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0)",
            arg=await code.element_handle(), timeout=QR_WAIT_MS)
    except Exception as exc:
        raise LoginFailed(f"the sign-in page ({page.url[:120]}) showed no QR code within {QR_WAIT_MS // 1000} s; "
                          "run with a display (a normal window), or sign in elsewhere and use "
                          "`scrapy session import`") from exc
    path = options.qr_path
    private_dir(path.parent)
    await code.screenshot(path=str(path))
    os.chmod(path, 0o600)
    print(f"Scan this QR code with the platform's phone app (picture: {path}):", file=options.out)
    with contextlib.suppress(NotAQrCode, OSError):
        print(draw(module_grid(path)), file=options.out)
    print(f"waiting up to {options.timeout:.0f} s for the sign-in…", file=options.out, flush=True)


async def _wait_for_sign_in(session: Session, context, page, closed: asyncio.Event, options: LoginOptions) -> None:
    deadline = time.monotonic() + options.timeout
    probe = Session(session.sign_in, session.profile, session.folder)
    while time.monotonic() < deadline:
        if closed.is_set():
            raise LoginFailed("the browser window was closed before the sign-in finished; nothing was saved")
        try:
            probe.cookies = await context.cookies()
            current = page.url
        except Exception as exc:
            if closed.is_set():
                raise LoginFailed("the browser window was closed before the sign-in finished; nothing was "
                                  "saved") from exc
            raise
        if assess(probe).signed_in and not _on_sign_in_page(current):
            with contextlib.suppress(Exception):
                await page.wait_for_load_state("domcontentloaded", timeout=10_000)
            return
        await asyncio.sleep(POLL_SECONDS)
    raise LoginFailed(f"no sign-in within {options.timeout:.0f} s (the QR code was not scanned, or the sign-in "
                      "did not finish); nothing was saved. Run the command again to get a new code")
