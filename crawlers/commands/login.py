"""`scrapy login PLATFORM [--profile NAME] [--cdp-url URL] [--headless] [--timeout S]`: sign in once in a real
browser; live crawls then use the saved session (crawlers/sessions/).

With a display it opens a normal chromium window on the sign-in page. Without one (a server, a container)
chromium runs headless, the page's QR code is saved as a PNG and drawn in the terminal, and the command
waits for the platform's phone app to scan it. Exit codes: 0 signed in; 1 timed out or window closed;
2 bad input.
"""

from __future__ import annotations

import asyncio
import sys

from crawlers.extensions import install_log_redaction
from crawlers.sessions.cli import SessionCommand
from crawlers.sessions.login import LoginFailed, LoginOptions, has_display, login
from crawlers.sessions.proxy import ProxyError, playwright_proxy, proxy_url
from crawlers.sessions.state import assess, describe
from crawlers.sessions.store import SessionError, SessionStore, sign_in_for


class Command(SessionCommand):
    usage = "PLATFORM [--profile NAME] [--cdp-url http://127.0.0.1:9222] [--headless] [--timeout SECONDS]"
    description = "Sign in to a platform in a browser and save the session live crawls use"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--cdp-url", help="drive your own running Chrome (started with --remote-debugging-port)")
        parser.add_argument("--headless", action="store_true", help="no window even with a display: QR code only")
        parser.add_argument("--timeout", type=float, help="seconds to wait for the sign-in (default: LOGIN_TIMEOUT)")

    def run(self, args, opts) -> None:
        install_log_redaction()
        if len(args) != 1:
            print(f"login: usage: scrapy login {self.syntax()}", file=sys.stderr)
            self.exitcode = 2
            return
        platform = args[0]
        try:
            sign_in = sign_in_for(platform)
            options = self._options(platform, opts)
            store = SessionStore.from_settings(self.settings)
            session = store.create(sign_in, opts.session_profile)
        except (SessionError, ProxyError) as exc:
            print(f"login: {exc}", file=sys.stderr)
            self.exitcode = 2
            return
        options.qr_path = session.folder / "login-qr.png"
        how = "your Chrome over CDP" if options.cdp_url else "a headless browser" if options.headless else "a window"
        print(f"{session.key}: opening the sign-in page in {how}")
        try:
            asyncio.run(login(session, options))
        except LoginFailed as exc:
            print(f"login: {session.key}: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        finally:
            options.qr_path.unlink(missing_ok=True)
        verdict, row = assess(session), describe(session)
        print(f"{session.key}: signed in as {verdict.account or '(account name not in the cookies)'}; "
              f"key cookies expire {row['expires']}; saved to {session.state_path}; used by {row['platforms']}")

    def _options(self, platform: str, opts) -> LoginOptions:
        from crawlers.spiders.render import chromium_launch_options

        launch = chromium_launch_options(self.settings)
        proxy, _source = proxy_url(self.settings, platform)
        if proxy:
            launch["proxy"] = playwright_proxy(proxy, self.settings)
        timeout = opts.timeout if opts.timeout is not None else self.settings.getfloat("LOGIN_TIMEOUT", 300)
        return LoginOptions(headless=opts.headless or not has_display(), timeout=timeout, launch=launch,
                            cdp_url=opts.cdp_url)
