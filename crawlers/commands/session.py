"""`scrapy session`: bring, inspect and forget sign-in sessions.

    scrapy session import PLATFORM FILE [--profile NAME]   extension JSON, Netscape cookies.txt or a Cookie: header,
                                                           or a chromium profile folder (its Cookies database)
    scrapy session import PLATFORM --from-browser          your own chromium / Chrome profile (rookiepy)
    scrapy session status                                  every stored session, one line each
    scrapy session clear PLATFORM [--profile NAME]

Exit codes: 0 done; 1 imported but not signed in; 2 bad input (unknown platform, unreadable file).
Cookie values are never printed: the account name is masked.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawlers.extensions import install_log_redaction
from crawlers.sessions.browser_profile import cookie_database, is_browser_profile, read_profile_cookies
from crawlers.sessions.cli import SessionCommand
from crawlers.sessions.formats import CookieFormatError, read_cookie_file
from crawlers.sessions.state import assess, describe, renew_command
from crawlers.sessions.store import (
    SessionError,
    SessionStore,
    sign_in_for,
    sign_in_spec,
    utc_iso,
)

STATUS_COLUMNS = ("platforms", "profile", "signed_in", "account", "age", "expires", "last_good_use", "last_failure")


class Command(SessionCommand):
    usage = "import PLATFORM FILE|--from-browser [--profile NAME] | status | clear PLATFORM [--profile NAME]"
    description = "Import, list or clear the sign-in sessions live crawls use"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--from-browser", action="store_true",
                            help="import from your own chromium or Chrome profile (~/.config/chromium/Default)")

    def run(self, args, opts) -> None:
        install_log_redaction()
        store = SessionStore.from_settings(self.settings)
        action, rest = (args[0], args[1:]) if args else ("", [])
        try:
            if action == "import" and len(rest) == (1 if opts.from_browser else 2):
                self.exitcode = _import(store, rest[0], Path(rest[1]) if len(rest) == 2 else None,
                                        opts.session_profile)
            elif action == "status" and not rest:
                _status(store)
            elif action == "clear" and len(rest) == 1:
                _clear(store, rest[0], opts.session_profile)
            else:
                print(f"session: usage: scrapy session {self.syntax()}", file=sys.stderr)
                self.exitcode = 2
        except (SessionError, CookieFormatError) as exc:
            print(f"session: {exc}", file=sys.stderr)
            self.exitcode = 2


def _read(path: Path | None, domains: list[str]) -> tuple[list[dict], str, Path]:
    """The cookies, the format found and where they were read: a browser profile (``None``: the default
    one) or an exported file."""
    if path is None or is_browser_profile(path):
        database = cookie_database(path)
        return read_profile_cookies(database, domains), "chromium profile", database
    cookies, found_format = read_cookie_file(path, default_domain=domains[0])
    return cookies, found_format, path


def _import(store: SessionStore, platform: str, path: Path | None, profile: str) -> int:
    sign_in = sign_in_for(platform)
    spec = sign_in_spec(sign_in)
    cookies, found_format, path = _read(path, spec["cookie_domains"])
    session = store.create(sign_in, profile)
    session.cookies = cookies
    session.meta.update(imported=utc_iso(), source=found_format)
    session.meta.pop("signed_out_at", None)  # fresh cookies
    session.save()
    verdict = assess(session)
    where = f"{sign_in}/{profile}"
    print(f"{where}: {len(cookies)} cookies read from {path} ({found_format}); saved to {session.state_path}")
    row = describe(session)
    if verdict.signed_in:
        print(f"{where}: signed in as {verdict.account or '(account name not in the cookies)'}; "
              f"key cookies expire {row['expires']}; used by {row['platforms']}")
        return 0
    print(f"{where}: NOT signed in: {verdict.reason}. Crawls will skip {row['platforms']} until you run "
          f"`{renew_command(platform, profile)}` or import cookies exported after signing in")
    return 1


def _status(store: SessionStore) -> None:
    sessions = store.all()
    if not sessions:
        print(f"no sessions in {store.root}/: run `scrapy login PLATFORM` or `scrapy session import PLATFORM FILE`")
        return
    rows = [describe(session) for session in sessions]
    notes = [f"  {row['sign_in']}/{row['profile']}: {row['note']}" for row in rows if row["note"]]
    for row in rows:
        row["signed_in"] = "yes" if row["signed_in"] else "NO"
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in STATUS_COLUMNS}
    print("  ".join(c.replace("_", " ").ljust(widths[c]) for c in STATUS_COLUMNS).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in STATUS_COLUMNS).rstrip())
    if notes:
        print("not signed in:\n" + "\n".join(notes))


def _clear(store: SessionStore, platform: str, profile: str) -> None:
    sign_in = sign_in_for(platform)
    if store.clear(sign_in, profile):
        print(f"{sign_in}/{profile}: session cleared (cookies and browser profile deleted)")
    else:
        print(f"{sign_in}/{profile}: no such session in {store.root}/")
