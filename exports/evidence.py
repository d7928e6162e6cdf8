"""Evidence for each filed listing (docs/contract.md §8): ``DIR/evidence/<platform>-<listing_id>/``.

For every listing: ``screenshot.png`` (full page, rendered by Chromium with the system's CJK fonts),
``page.html`` (the document exactly as served), ``comparison.png`` (listing image | registered image,
when an image hit exists) and ``meta.json`` ``{url, captured_at, status, error, files: {name: sha256}}``.

The page source comes from a ``fetch(url)`` callable (cassette replay) when one is given: Playwright
routes every request through it and aborts whatever has no recording, so nothing reaches the network.
Without ``fetch`` the live page is loaded in a fresh, cookie-less browser context.
A page that fails is recorded as failed in its ``meta.json``; the other listings go on.
meta.json never holds request or response headers, so no cookie or token ends up in the evidence.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from contract import is_removed_url
from crawlers.browser import BROWSER_ARGS
from exports.comparison_picture import ComparisonSource, PictureError, draw_comparison
from matchers.images.files import sha256_file

logger = logging.getLogger(__name__)

# (status, headers, body, final_url); None when nothing is recorded for the URL.
FetchResult = tuple[int, dict[str, str], bytes, str]
Fetch = Callable[[str], FetchResult | None]

MAX_SCREENSHOT_HEIGHT = 16_000  # px
_HOP_BY_HOP = {"content-length", "content-encoding", "transfer-encoding", "set-cookie", "set-cookie2", "connection"}
_SAFE_COMPONENT = re.compile(r"[^A-Za-z0-9._-]+")


# --- safe paths ---------------------------------------------------------------------------------


def safe_component(value: str) -> str:
    """A single path component made from untrusted text (ids from listings, registry ids).

    Keeps ``[A-Za-z0-9._-]``; anything else (slashes, ``..``, NUL, CJK) is replaced, and a short hash
    of the original is appended whenever the text had to change, so two different ids never share a
    folder. The result is never empty, ``.`` or ``..`` and never starts with a dot.
    """
    text = str(value)
    cleaned = _SAFE_COMPONENT.sub("_", text).strip("._") or "_"
    cleaned = cleaned[:80]
    if cleaned != text:
        cleaned = f"{cleaned}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    return cleaned


def inside(root: Path, *components: str) -> Path:
    """``root/<safe components>``, guaranteed to stay inside ``root``."""
    path = root.joinpath(*(safe_component(c) for c in components))
    resolved_root = root.resolve()
    if not path.resolve().is_relative_to(resolved_root):  # pragma: no cover - safe_component prevents it
        raise ValueError(f"refusing a path outside {root}: {path}")
    return path


class OutputError(Exception):
    """A file of the output folder could not be written (read-only, full, gone): names the file."""

    def __init__(self, path: Path, error: OSError):
        self.path, self.error = path, error
        super().__init__(f"cannot write {path}: {error.strerror or error}")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OS error while writing ``path`` into an ``OutputError`` naming it (a write to an open
    file does not say which file it was)."""
    try:
        yield
    except OSError as error:
        raise OutputError(path, error) from error


def evidence_folder(out_dir: Path, platform: str, listing_id: str) -> Path:
    return inside(out_dir / "evidence", f"{platform}-{listing_id}")


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- page sources -----------------------------------------------------------------------------


def replay_fetch(replay_dir: str | Path) -> Fetch:
    """A ``fetch`` serving recorded responses from the vcrpy cassettes under ``replay_dir``.

    Uses the crawlers' ``CassetteLibrary`` (the same replay keys as the spiders). Redirects are returned
    as recorded (3xx + Location); the browser follows them through ``fetch`` again.
    """
    from crawlers.replay.library import CassetteLibrary

    library = CassetteLibrary(replay_dir)

    def fetch(url: str) -> FetchResult | None:
        recorded = library.lookup("GET", url)
        if recorded is None:
            return None
        headers: dict[str, str] = {}
        for name, value in recorded.headers:
            headers[name.lower()] = value if name.lower() not in headers else f"{headers[name.lower()]}, {value}"
        body = _decompress(recorded.body, headers.pop("content-encoding", ""))
        return recorded.status, headers, body, url

    return fetch


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error):
        return body
    return body


# --- what to capture ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceRequest:
    platform: str
    listing_id: str
    url: str
    comparison: ComparisonSource | None = None


@dataclass
class EvidenceResult:
    platform: str
    listing_id: str
    folder: Path
    status: str  # ok | failed | skipped
    error: str = ""
    removed: bool = False
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256 (meta.json excluded)

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.listing_id)


def browser_executable() -> str | None:
    """PLAYWRIGHT_CHROMIUM_EXECUTABLE, else Debian's /usr/bin/chromium, else Playwright's own (None)."""
    from crawlers.browser import chromium_executable

    return chromium_executable()


def capture_evidence(
    requests: Iterable[EvidenceRequest],
    out_dir: str | Path,
    *,
    fetch: Fetch | None = None,
    screenshots: bool = True,
    executable_path: str | None = None,
    timeout_ms: int = 20_000,
) -> dict[tuple[str, str], EvidenceResult]:
    """Capture evidence for each request under ``out_dir/evidence/``; never raises for one bad page.

    Runs Playwright's sync API in a worker thread, so it works from a plain process, from a Scrapy
    command and from inside a running asyncio loop alike.
    """
    out_dir = Path(out_dir)
    requests = list(requests)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence") as pool:
        return pool.submit(
            _capture_all, requests, out_dir, fetch, screenshots, executable_path or browser_executable(), timeout_ms
        ).result()


def _capture_all(
    requests: list[EvidenceRequest],
    out_dir: Path,
    fetch: Fetch | None,
    screenshots: bool,
    executable_path: str | None,
    timeout_ms: int,
) -> dict[tuple[str, str], EvidenceResult]:
    results: dict[tuple[str, str], EvidenceResult] = {}
    if not requests:
        return results
    browser_error = ""
    playwright_cm = browser = None
    if screenshots:
        try:
            from playwright.sync_api import sync_playwright

            manager = sync_playwright()
            playwright = manager.__enter__()
            playwright_cm = manager
            browser = playwright.chromium.launch(
                headless=True, executable_path=executable_path, args=list(BROWSER_ARGS)
            )
        except Exception as error:  # the browser is missing or broken: record it for every listing
            browser_error = f"cannot start Chromium ({executable_path or 'Playwright default'}): {error}"
            logger.error("evidence: %s", browser_error)
    try:
        for request in requests:
            results[(request.platform, request.listing_id)] = _capture_one(
                request, out_dir, fetch, browser, screenshots, browser_error, timeout_ms
            )
    finally:
        if browser is not None:
            browser.close()
        if playwright_cm is not None:
            playwright_cm.__exit__(None, None, None)
    return results


def _capture_one(
    request: EvidenceRequest,
    out_dir: Path,
    fetch: Fetch | None,
    browser: Any,
    screenshots: bool,
    browser_error: str,
    timeout_ms: int,
) -> EvidenceResult:
    folder = evidence_folder(out_dir, request.platform, request.listing_id)
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    result = EvidenceResult(request.platform, request.listing_id, folder, status="ok")
    meta: dict[str, Any] = {
        "platform": request.platform,
        "listing_id": request.listing_id,
        "url": request.url,
        "captured_at": utc_now(),
    }
    notes: list[str] = []
    if not screenshots:
        result.status = "skipped"
        notes.append("screenshot skipped (--no-evidence)")
    elif browser is None:
        result.status, result.error = "failed", browser_error
    else:
        try:
            page_meta = _render(request.url, folder, fetch, browser, timeout_ms)
        except Exception as error:  # a crashed renderer or context: this listing fails, the batch goes on
            logger.warning("evidence: %s failed: %s", request.url, error)
            page_meta = {"removed": False, "error": f"browser failure: {_first_line(error)}"}
        meta.update({k: v for k, v in page_meta.items() if k not in ("error", "removed")})
        result.removed = page_meta["removed"]
        if page_meta["error"]:
            result.status, result.error = "failed", page_meta["error"]
    notes.extend(_comparison(request, folder))
    for name in ("screenshot.png", "page.html", "comparison.png"):
        if (folder / name).is_file():
            result.files[name] = sha256_file(folder / name)
    meta.update(
        status=result.status,
        error=result.error or None,
        removed=result.removed,
        files=dict(result.files),
        notes=notes,
    )
    with writing(folder / "meta.json"):
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


@dataclass
class _PageLoad:
    """What the browser was served while loading one listing page."""

    documents: list[str] = field(default_factory=list)  # every main-frame document URL, redirects included
    served: dict[str, bytes] = field(default_factory=dict)  # main-frame document bodies by URL
    blocked: list[str] = field(default_factory=list)  # requests with nothing recorded, aborted


def _render(url: str, folder: Path, fetch: Fetch | None, browser: Any, timeout_ms: int) -> dict[str, Any]:
    """Load ``url`` in a fresh context, save screenshot.png and page.html; report what happened."""
    load = _PageLoad()
    info: dict[str, Any] = {"final_url": url, "http_status": None, "blocked_requests": 0, "error": "", "removed": False}
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        service_workers="block",
        accept_downloads=False,
    )
    try:
        page = context.new_page()
        if fetch is not None:
            page.route("**/*", _replay_route(page, fetch, load))
        response = None
        try:
            response = page.goto(url, wait_until="load", timeout=timeout_ms)
        except Exception as error:
            info["error"] = f"page did not load: {_first_line(error)}"
        final_url = info["final_url"] = load.documents[-1] if load.documents else page.url
        _judge_page(info, load, final_url, response)
        if response is not None or not info["error"]:
            _screenshot(page, folder, timeout_ms, info)
        body = load.served.get(final_url)
        if body is None and response is not None and fetch is None:
            try:
                body = response.body()
            except Exception:
                body = None
        if body is not None:
            (folder / "page.html").write_bytes(body)
    finally:
        context.close()
    info["blocked_requests"] = len(load.blocked)
    return info


def _replay_route(page: Any, fetch: Fetch, load: _PageLoad) -> Callable[[Any, Any], None]:
    """Playwright's route handler serving every request from ``fetch``; what has no recording is aborted."""

    def handle(route: Any, req: Any) -> None:
        main_document = req.is_navigation_request() and req.frame == page.main_frame
        target, result = _follow(fetch, req.url, load if main_document else None)
        if result is None or (300 <= result[0] < 400):
            load.blocked.append(target)
            route.abort("blockedbyclient")
            return
        status, headers, body, _ = result
        if main_document:
            load.served[target] = body
        clean = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        route.fulfill(status=status, headers=clean, body=body)

    return handle


def _follow(fetch: Fetch, target: str, load: _PageLoad | None) -> tuple[str, FetchResult | None]:
    """The recorded response for ``target`` after its redirects, and the URL it ends at. Redirects are
    followed here, through fetch: a fulfilled 3xx would make Chromium resolve the next host itself, which
    must never happen in replay. ``load`` (the main document's) records each document URL."""
    result = None
    for _hop in range(10):
        if load is not None:
            load.documents.append(target)
        result = _safe_fetch(fetch, target)
        if result is None:
            break
        status, headers, _, final_url = result
        location = {k.lower(): v for k, v in headers.items()}.get("location")
        if 300 <= status < 400 and location:
            target = urljoin(target, location)
            continue
        if final_url and final_url != target:
            target = final_url
            if load is not None:
                load.documents.append(target)
        break
    return target, result


def _judge_page(info: dict[str, Any], load: _PageLoad, final_url: str, response: Any) -> None:
    """A page that redirects to a removal page is a listing taken down; an HTTP error is a failure."""
    removed_at = next((u for u in [*load.documents, final_url] if is_removed_url(u)), None)
    if removed_at:
        info["removed"] = True
        info["error"] = f"listing removed: the page redirects to {removed_at}"
    if response is not None:
        info["http_status"] = response.status
        if response.status >= 400 and not info["error"]:
            info["error"] = f"HTTP {response.status} for {final_url}"


def _screenshot(page: Any, folder: Path, timeout_ms: int, info: dict[str, Any]) -> None:
    try:
        height = int(page.evaluate("document.documentElement.scrollHeight") or 0)
        clip = None
        if height > MAX_SCREENSHOT_HEIGHT:  # an endless page must not produce a gigapixel PNG
            clip = {"x": 0, "y": 0, "width": 1280, "height": MAX_SCREENSHOT_HEIGHT}
            info["screenshot_cut_at_px"] = MAX_SCREENSHOT_HEIGHT
        page.screenshot(path=str(folder / "screenshot.png"), full_page=True, clip=clip, timeout=timeout_ms)
    except Exception as error:
        info["error"] = info["error"] or f"screenshot failed: {_first_line(error)}"


def _safe_fetch(fetch: Fetch, url: str) -> FetchResult | None:
    try:
        return fetch(url)
    except Exception as error:  # a broken cassette must not stop the batch
        logger.warning("evidence: fetch %s failed: %s", url, error)
        return None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _comparison(request: EvidenceRequest, folder: Path) -> list[str]:
    """Draw the listing's comparison.png; a note saying why there is none."""
    if request.comparison is None:
        return []
    try:
        draw_comparison(request.comparison, folder / "comparison.png")
    except PictureError as error:
        return [f"comparison.png not produced: {error}"]
    except Exception as error:  # a picture that cannot be written: the listing's other evidence still counts
        logger.warning("evidence: comparison for %s failed: %s", request.url, error)
        return [f"comparison.png not produced: {_first_line(error)}"]
    return []
