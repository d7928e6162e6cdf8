"""What a stored session is worth: signed in or not, whose, until when; and which platforms can crawl.

"Usable" per platform: Taobao and Tmall need one of the user markers (``unb``, ``lgc``, ``tracknick``,
``_nk_``) present and unexpired; 1688 needs ``__cn_logon__=true`` or a usable Taobao sign-in (one account
opens both); Alibaba.com crawls without a session and uses one when there is one. Replayed crawls need none.
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import unquote

from crawlers.sessions.store import DEFAULT_PROFILE, Session, SessionStore, sign_in_for, sign_in_spec, utc_iso


@dataclass(frozen=True)
class Assessment:
    signed_in: bool
    account: str  # masked
    expires_at: float | None  # the first key cookie to expire (epoch seconds); None: browser-session cookies
    reason: str  # why not signed in, or ""


def _domain_matches(cookie_domain: str, domains: list[str]) -> bool:
    host = cookie_domain.lstrip(".").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def _alive(cookie: dict, now: float) -> bool:
    expires = cookie.get("expires", -1)
    return expires in (None, -1) or float(expires) <= 0 or float(expires) > now


def mask(name: str) -> str:
    """``lumora_ip`` -> ``lu*****ip``: enough to tell accounts apart, not enough to name one."""
    if len(name) <= 2:
        return "*" * len(name)
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 1)
    return name[:2] + "*" * (len(name) - 4) + name[-2:]


def _display_name(raw: str) -> str:
    text = unquote(raw)
    if "\\u" in text:
        with contextlib.suppress(UnicodeDecodeError):
            text = codecs.decode(text, "unicode_escape")
    return text


def assess(session: Session, now: float | None = None) -> Assessment:
    """Signed in by the sign-in's own markers, on its own domains, unexpired."""
    now = time.time() if now is None else now
    spec = sign_in_spec(session.sign_in)
    mine = [c for c in session.cookies if _domain_matches(str(c.get("domain", "")), spec["cookie_domains"])]
    by_name: dict[str, dict] = {}
    for cookie in mine:
        by_name.setdefault(cookie["name"], cookie)
    wanted = spec.get("marker_values") or {}
    present = [by_name[m] for m in spec["user_markers"]
               if m in by_name and (m not in wanted or by_name[m].get("value") == wanted[m])]
    alive = [c for c in present if _alive(c, now)]
    account = next((_display_name(str(by_name[n]["value"])) for n in spec["account_cookies"]
                    if n in by_name and by_name[n].get("value")), "")
    expiries = [float(by_name[n]["expires"]) for n in spec["key_cookies"]
                if n in by_name and float(by_name[n].get("expires") or -1) > 0]
    expires_at = min(expiries) if expiries else None
    if alive and session.meta.get("signed_out_at"):
        # the cookies look alive, but the platform said otherwise: using them again would only fail again
        return Assessment(False, mask(account), expires_at,
                          f"the platform signed it out at {session.meta['signed_out_at']}")
    if alive:
        return Assessment(True, mask(account), expires_at, "")
    if present:
        return Assessment(False, mask(account), expires_at, "its sign-in cookies have expired")
    if not mine:
        return Assessment(False, "", expires_at, f"no cookies for {', '.join(spec['cookie_domains'])}")
    return Assessment(False, mask(account), expires_at,
                      f"no sign-in cookie ({', '.join(spec['user_markers'])}): an anonymous visitor's cookies")


def renew_command(platform: str, profile: str = DEFAULT_PROFILE) -> str:
    suffix = "" if profile == DEFAULT_PROFILE else f" --profile {profile}"
    return f"scrapy login {platform}{suffix}"


def sessions_for(store: SessionStore, platform: str, profiles: list[str] | None = None) -> list[Session]:
    """The usable sessions a platform crawls with, in the order they are used (1688 falls back to Taobao's)."""
    sign_in = sign_in_for(platform)
    spec = sign_in_spec(sign_in)
    candidates = [sign_in] + ([spec["also_accepts"]] if spec.get("also_accepts") else [])
    found = []
    for name in candidates:
        for profile in profiles or store.profiles(name):
            session = store.load(name, profile)
            if session is not None and assess(session).signed_in:
                found.append(session)
        if found:
            break
    return found


@dataclass(frozen=True)
class Readiness:
    platform: str
    sessions: list[Session]
    required: bool
    message: str  # why the platform is skipped, or "" when it can crawl

    @property
    def can_crawl(self) -> bool:
        return not self.message


def readiness(store: SessionStore, platform: str, profiles: list[str] | None = None) -> Readiness:
    sessions = sessions_for(store, platform, profiles)
    required = bool(sign_in_spec(sign_in_for(platform)).get("required"))
    if sessions or not required:
        return Readiness(platform, sessions, required, "")
    profile = (profiles or [DEFAULT_PROFILE])[0]
    stored = store.load(sign_in_for(platform), profile)
    why = "" if stored is None else f" (the stored session {stored.key}: {assess(stored).reason})"
    message = f"{platform} needs a sign-in{why}: run `{renew_command(platform, profile)}`"
    return Readiness(platform, [], required, message)


def describe(session: Session, now: float | None = None) -> dict:
    """One row of ``scrapy session status``."""
    now = time.time() if now is None else now
    verdict = assess(session, now)
    created = session.meta.get("created") or session.meta.get("imported") or session.meta.get("signed_in")
    return {
        "sign_in": session.sign_in,
        "platforms": ",".join(sign_in_spec(session.sign_in)["platforms"]),
        "profile": session.profile,
        "signed_in": verdict.signed_in,
        "account": verdict.account or "-",
        "age": _age(created, now),
        "expires": utc_iso(verdict.expires_at) if verdict.expires_at else "with the browser",
        "last_good_use": session.meta.get("last_good_use") or "-",
        "last_failure": session.meta.get("last_failure") or "-",
        "note": verdict.reason,
    }


def _age(created: str | None, now: float) -> str:
    if not created:
        return "-"
    try:
        seconds = now - _epoch(created)
    except ValueError:
        return "-"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _epoch(stamp: str) -> float:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
