"""The session on every live request: cookies, pacing, proxy; and what to do when it stops working.

Downloader middleware at 615: its ``process_response`` runs after decompression (620) and before the
block check (610), so it sees a raw redirect to a sign-in page and a decoded mtop body first.

- Before crawling: a platform without a usable session is skipped at once with the command that makes
  one (``session/missing/<platform>``); not a single request is sent.
- Requests to the sign-in's own domains carry the session's cookie jar (Scrapy's cookie middleware is
  told to keep out of them), wait for the session's pacing slot and count against its daily budget.
  Cookies the platform refreshes are written back to the session file, so a used session stays fresh:
  those of Scrapy's responses, and those a rendered page left in the browser (its context's cookies).
- A sign-in page or ``FAIL_SYS_SESSION_EXPIRED`` while a session is loaded: ``session/expired/<platform>``;
  the next profile takes over, or, with none left, the platform stops at once.
- The first slider or punish page: ``pace/paused/<platform>``; the platform pauses for the run (a person
  solves sliders in a real browser; nothing here tries).
- Every request of the crawl goes through the platform's proxy, if one is set; a socks5 one through the
  process's local bridge (:mod:`crawlers.sessions.socks_bridge`), as Scrapy speaks http(s) proxies only.
  A socks5 proxy that refuses the credentials stops the platform at the first refusal.

Off in replay (``REPLAY_DIR``): cassettes need no session, and the demo and tests replay unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http.cookies import CookieJar
from scrapy.utils.defer import deferred_from_coro

from contract import stats as stats_keys
from crawlers.blocks import classify_block
from crawlers.extensions import register_secret_values
from crawlers.middlewares import Blocked
from crawlers.sessions.cookies import (
    cookies_from_browser,
    jar_cookies,
    jar_from,
    merge_into,
    read_browser_cookies,
)
from crawlers.sessions.outcome import note_crawl_end
from crawlers.sessions.pacing import (
    DEFAULT_DAILY_PAGES,
    DEFAULT_JITTER,
    DEFAULT_RATE,
    Pacer,
    spend_daily_page,
)
from crawlers.sessions.proxy import ProxyError, proxy_url, redact_url
from crawlers.sessions.socks_bridge import BRIDGE, CREDENTIALS_REFUSED, DEFAULT_CONNECT_TIMEOUT
from crawlers.sessions.state import readiness, renew_command
from crawlers.sessions.store import (
    Session,
    SessionError,
    SessionStore,
    sign_in_data,
    sign_in_for,
    sign_in_spec,
    utc_iso,
)

logger = logging.getLogger(__name__)

SLIDER_KINDS = ("punish", "captcha", "deny", "mtop")
EXPIRED_KINDS = ("login", "homepage")
WRITE_BACK_SECONDS = 10.0


class SessionStopped(Blocked):
    """The platform stopped for this run (no session, expired, paused, budget spent); no request is sent."""


@dataclass
class _Live:
    """A session in use: its jar and pacer."""

    session: Session
    jar: CookieJar
    pacer: Pacer
    dirty: bool = False
    written: float = 0.0
    expired: str = ""  # why, once a platform found it expired (the others then stop using it too)


# One entry per session for the whole process: a monitor run crawls Taobao and Tmall side by side on one
# sign-in, and they must share its cookie jar, its pacing and its daily budget.
_IN_USE: dict[str, _Live] = {}


def _shared(session: Session, rate: float, jitter: float) -> _Live:
    key = str(session.folder.resolve())
    if key not in _IN_USE:
        _IN_USE[key] = _Live(session, jar_from(session.cookies), Pacer(rate, jitter))
    return _IN_USE[key]


def live_crawl(settings) -> bool:
    return not settings.get("REPLAY_DIR") and settings.getbool("SESSIONS_ENABLED", True)


class SessionMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.settings = crawler.settings
        self.stats = crawler.stats
        self.store = SessionStore.from_settings(self.settings)
        self.platform = ""
        self.domains: list[str] = []
        self.live: list[_Live] = []
        self.stopped = ""  # why the platform stopped, once it has
        self.proxy = None
        self.proxy_source = ""  # the setting the proxy came from
        self.scrapy_proxy = None  # what Scrapy's requests take as meta["proxy"]: the proxy, or the socks bridge

    @classmethod
    def from_crawler(cls, crawler):
        if not live_crawl(crawler.settings):
            raise NotConfigured
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # --- the run starts -------------------------------------------------------------------
    def spider_opened(self, spider) -> None:
        platform = getattr(spider, "platform", "") or spider.name
        known = platform in sign_in_data()["platform_sign_in"]
        self.platform = platform if known else ""
        try:
            self._open(spider, platform, known)
        except (SessionError, ProxyError) as exc:
            # a broken session file or proxy must not let the crawl go out anonymous or unproxied
            self.domains = []
            if known:
                self._record("invalid", None, "scrapy session clear, then sign in again (or fix the proxy setting)")
            self._stop("invalid", f"{platform}: {exc}; nothing was crawled")

    def _open(self, spider, platform: str, known: bool) -> None:
        self.proxy, source = proxy_url(self.settings, platform if known else "")
        self.proxy_source, self.scrapy_proxy = source, self.proxy
        if self.proxy:
            logger.info("%s: requests go through the proxy %s (%s)", spider.name, redact_url(self.proxy), source)
            if self.proxy.startswith("socks5:"):
                self.scrapy_proxy = self._bridge(source)
        if not known:
            return  # not a platform's search spider (check_removed…): the proxy only
        profiles = self.settings.getdict("SESSION_PROFILES").get(self.platform) or None
        ready = readiness(self.store, self.platform, profiles)
        if not ready.can_crawl:
            self.stats.set_value(stats_keys.session("missing", self.platform), 1)
            self._record("missing", None, renew_command(self.platform))
            self._stop("missing", f"{ready.message}; skipped")
            return
        spec = sign_in_spec(sign_in_for(self.platform))
        self.domains = spec["cookie_domains"] + [d for s in ready.sessions
                                                 for d in sign_in_spec(s.sign_in)["cookie_domains"]]
        rate = self.settings.getfloat("SESSION_REQUESTS_PER_MINUTE", DEFAULT_RATE)
        jitter = self.settings.getfloat("SESSION_JITTER", DEFAULT_JITTER)
        for session in ready.sessions:
            register_secret_values(session.secret_values())
            self.live.append(_shared(session, rate, jitter))
        if self.live:
            self._use(self.live[0], spider)
        else:
            logger.info("%s: no session; crawling as an anonymous visitor", self.platform)

    def _bridge(self, source: str) -> str:
        """The local http proxy in front of the socks5 one; it failing to start stops the crawl (never unproxied)."""
        timeout = self.settings.getfloat("SOCKS_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
        try:
            return BRIDGE.acquire(self.proxy, timeout)
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise ProxyError(f"{source}: the local bridge to the socks5 proxy {redact_url(self.proxy)} could not "
                             f"start ({exc.__class__.__name__}: {exc})") from None

    def _use(self, live: _Live, spider) -> None:
        session = live.session
        self._record("in use", session, renew_command(session.sign_in, session.profile))
        logger.info("%s: using the session %s (%d req/min, ±%.0f %% jitter)", self.platform, session.key,
                    live.pacer.per_minute, live.pacer.jitter * 100)
        client = getattr(spider, "mtop", None)
        if client is not None:  # sign the first calls with the session's own token: no extra token dance
            for cookie in session.cookies:
                if cookie.get("name") == "_m_h5_tk" and "_" in str(cookie.get("value", "")):
                    site = ".".join(str(cookie["domain"]).lstrip(".").split(".")[-2:])
                    client.tokens[site] = str(cookie["value"]).split("_", 1)[0]

    def spider_closed(self, spider, reason) -> None:
        for live in self.live:
            self._write_back(live, force=True)
        note_crawl_end(self.stats.get_stats(), self.platform)  # `scrapy crawl`'s exit code
        if self.scrapy_proxy and self.scrapy_proxy != self.proxy:
            BRIDGE.release()
            self.scrapy_proxy = None

    # --- each request ---------------------------------------------------------------------
    def _mine(self, request) -> bool:
        host = (urlsplit(request.url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)

    async def process_request(self, request):
        if self.scrapy_proxy and "proxy" not in request.meta and not request.meta.get("playwright"):
            request.meta["proxy"] = self.scrapy_proxy
        if self.stopped and (not self.domains or self._mine(request)):
            raise SessionStopped(f"{self.platform} stopped: {self.stopped}")
        if not self.live or not self._mine(request):
            return None
        paced = request.meta.pop("session_paced", False)  # re-signed just now: its slot and page are spent
        live = self.live[0] if paced else self._spend_budget()
        if live.expired:  # another platform of this run found the shared sign-in expired
            return self._on_expired(live, request, live.expired)
        if not paced:
            await live.pacer.wait()
        if self.stopped:
            raise SessionStopped(f"{self.platform} stopped: {self.stopped}")
        resigned = self._signed_with_current_token(request, live)
        if resigned is not None:
            return resigned
        request.meta["session"] = live.session.key
        request.meta["dont_merge_cookies"] = True  # this jar, not Scrapy's shared one
        if request.meta.get("playwright"):
            read_browser_cookies(request.meta)  # what the page's scripts refresh is written back too
        request.headers.pop("Cookie", None)
        live.jar.add_cookie_header(request)
        self.stats.inc_value(stats_keys.session("requests", self.platform))
        return None

    def _signed_with_current_token(self, request, live: _Live):
        """An mtop call re-signed with the token the session's jar holds now, or None when it already is.

        As in a browser, the platforms sharing a sign-in share its token cookie: a call is signed when it
        leaves, with the token of that moment, not with one another platform's token dance has replaced."""
        spec, client = request.meta.get("mtop"), getattr(self.crawler.spider, "mtop", None)
        if not spec or client is None:
            return None
        site = ".".join((urlsplit(request.url).hostname or "").split(".")[-2:])
        token = next((c.value.split("_", 1)[0] for c in live.jar.jar
                      if c.name == "_m_h5_tk" and c.domain.lstrip(".").endswith(site) and c.value), "")
        if not token or client.tokens.get(site) == token:
            return None
        client.tokens[site] = token
        meta = {**request.meta, "session_paced": True}
        return request.replace(url=client.url(spec["api"], spec["v"], spec["data"]), meta=meta, dont_filter=True)

    def _spend_budget(self) -> _Live:
        budget = self.settings.getint("SESSION_DAILY_PAGES", DEFAULT_DAILY_PAGES)
        while self.live:
            live = self.live[0]
            if spend_daily_page(live.session.meta, budget):
                return live
            logger.warning("%s: the session %s has used its %d pages for today", self.platform, live.session.key,
                           budget)
            self._retire(live)
        self.stats.set_value(stats_keys.pace("budget", self.platform), 1)
        self._stop("budget", f"{self.platform}: every session's daily page budget ({budget}) is spent; run "
                             "again tomorrow, or add a profile (`scrapy login PLATFORM --profile NAME`)")
        raise SessionStopped(f"{self.platform} stopped: {self.stopped}")

    def _retire(self, live: _Live) -> None:
        self._write_back(live, force=True)
        self.live.remove(live)
        if self.live:
            self._use(self.live[0], self.crawler.spider)

    def process_exception(self, request, exception):
        """A socks5 proxy that refused the credentials refuses every request alike: the platform stops."""
        if CREDENTIALS_REFUSED in str(exception) and not self.stopped:
            who = self.platform or self.crawler.spider.name
            if self.platform:
                self._record("proxy", None, f"fix the proxy's password in {self.proxy_source}")
            self._stop("proxy", f"{who}: the socks5 proxy {redact_url(self.proxy or '')} {CREDENTIALS_REFUSED} "
                                f"({self.proxy_source}); {who} stopped, nothing more is sent through it")
        if self.stopped and CREDENTIALS_REFUSED in str(exception):
            raise SessionStopped(f"{self.platform} stopped: {self.stopped}")
        return None

    # --- each response --------------------------------------------------------------------
    def process_response(self, request, response):
        key = request.meta.get("session")
        live = next((entry for entry in _IN_USE.values() if entry.session.key == key), None) if key else None
        if live is not None:
            live.jar.extract_cookies(response, request)
            merge_into(live.jar, cookies_from_browser(request.meta), self.domains)  # this crawl's sign-in domains
            live.dirty = True
        block = classify_block(response)
        if block is not None and self.stopped:  # answers still in flight when the platform stopped
            raise SessionStopped(f"{self.platform} stopped: {self.stopped}")
        expired = self._expired(response, block) if live is not None else ""
        if expired:
            if live in self.live:
                return self._on_expired(live, request, expired)
            return self._again(request)  # sent before its session was retired: once more with the next one
        if block is not None and block.kind in SLIDER_KINDS and self.platform and not self._expired(response, None):
            self._on_slider(live, request, block)
        if live is not None:
            if block is None and response.status < 300:
                live.session.meta["last_good_use"] = utc_iso()
            self._write_back(live)
        return response

    def _expired(self, response, block) -> str:
        head = response.body[:600]
        for code in sign_in_data()["expired_mtop_codes"]:
            if code.encode() in head:
                return code
        if block is not None and block.kind in EXPIRED_KINDS:
            return block.detail
        return ""

    def _on_expired(self, live: _Live, request, why: str):
        session = live.session
        moment = utc_iso()
        live.expired = why
        self.stats.inc_value(stats_keys.session("expired", self.platform))
        session.note(last_failure=f"{moment} expired ({why})", signed_out_at=moment)
        renew = renew_command(session.sign_in, session.profile)
        logger.error("%s: the session %s expired at %s (%s); renew it: `%s`", self.platform, session.key, moment,
                     why, renew)
        self._record("expired", session, renew, at=moment)
        self._retire(live)
        if self.live:
            logger.warning("%s: continuing with the session %s", self.platform, self.live[0].session.key)
            return self._again(request)
        self._stop("expired", f"{self.platform} stopped: the session {session.key} expired at {moment}; "
                              f"renew it: `{renew}`")
        raise SessionStopped(f"{self.platform} stopped: {self.stopped}")

    @staticmethod
    def _again(request):
        meta = {k: v for k, v in request.meta.items() if k not in ("session", "redirect_urls", "redirect_times")}
        return request.replace(dont_filter=True, meta=meta)

    def _on_slider(self, live: _Live | None, request, block) -> None:
        moment = utc_iso()
        self.stats.set_value(stats_keys.pace("paused", self.platform), moment)
        self.stats.inc_value(stats_keys.blocked(self.platform))
        self.stats.inc_value(stats_keys.blocked(self.platform, block.kind))
        who = f" for the session {live.session.key}" if live is not None else ""
        if live is not None:
            live.session.note(last_failure=f"{moment} slider/punish page ({block.detail})")
        self._record("paused", live.session if live else None,
                     "solve the slider in a browser signed in to this account (or wait), then run again", at=moment)
        self._stop("paused", f"{self.platform}: slider/punish page{who} at {moment} ({block}); "
                             f"{self.platform} is paused for this run. Sliders are for a person: open the platform in a signed-in browser "
                             f"(`{renew_command(self.platform)}`), solve it, or wait some hours, then run again")
        raise SessionStopped(f"{self.platform} paused: {block}")

    # --- bookkeeping ----------------------------------------------------------------------
    def _stop(self, state: str, message: str) -> None:
        if self.stopped:
            return
        self.stopped = message
        self.stats.set_value(stats_keys.session("stopped", self.platform), state)
        logger.error("%s", message)
        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason=f"session_{state}"))

    def _record(self, state: str, session: Session | None, renew: str, at: str = "") -> None:
        """The session's part of ``summary.json`` (read back by :func:`crawlers.sessions.report.session_summary`)."""
        self.stats.set_value(stats_keys.session("state", self.platform), state)
        self.stats.set_value(stats_keys.session("profile", self.platform), session.key if session else "")
        self.stats.set_value(stats_keys.session("renew", self.platform), renew)
        if at:
            self.stats.set_value(stats_keys.session("at", self.platform), at)

    def _write_back(self, live: _Live, force: bool = False) -> None:
        now = time.monotonic()
        if not live.dirty and not force:
            return
        if not force and now - live.written < WRITE_BACK_SECONDS:
            return
        live.session.cookies = jar_cookies(live.jar)
        register_secret_values(live.session.secret_values())
        try:
            live.session.save()
        except OSError as exc:
            logger.error("%s: could not write the refreshed session %s back: %s", self.platform, live.session.key, exc)
        live.dirty, live.written = False, now
