"""The workbench's routes (Starlette, server-rendered with Jinja2, a small script for the keys).

    GET  /queue            the cards, filters and counts        POST /decide   one decision
    GET  /bulk/preview     how many a bulk decision would take  POST /bulk     a seller's or a filter's listings
    GET  /image/listing/P/ID, /image/registered/P/ID            POST /undo     the reviewer's latest decision back
    GET  /dashboard        runs over time, oldest undecided, standing and sellers
    GET  /complaints       prepare the batches                  POST /complaints
    GET  /prepared/FILE    a file of the batches prepared last
    GET  /export.csv       review.csv with the store's decisions  POST /import  a review.csv edited in Excel
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from workbench.decisions import DecisionBook, DecisionError, import_review_csv
from workbench.prepare import prepare_complaints, review_csv_text
from workbench.queue import DECISION_STATES, FILTERS, Filters, Queue, card_view
from workbench.security import Guard, inside, new_secret

HERE = Path(__file__).parent
PAGE_SIZE = 200


@dataclass
class Config:
    store_url: str
    registry: Any
    run_id: str
    host: str = "127.0.0.1"
    port: int = 8765
    reviewer: str = "reviewer"
    token: str | None = None
    images_store: Path = Path("data/images")
    complaints_root: Path = Path("reports")
    replay: str | None = None
    csrf: str = field(default_factory=new_secret)


def create_app(config: Config, store: Any) -> Guard:
    routes = Workbench(config, store).routes()
    return Guard(Starlette(routes=routes), host=config.host, port=config.port, token=config.token, csrf=config.csrf)


def _missing(what: str) -> Response:
    return PlainTextResponse(what, status_code=404)


class Workbench:
    """One run's queue and one reviewer's decisions, served."""

    def __init__(self, config: Config, store: Any):
        self.config = config
        self.store = store
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(["html", "j2"]))
        self.queue = Queue.load(store, config.registry, config.run_id)
        self.book = DecisionBook(store, config.registry, config.reviewer)
        # the pictures the registry names: the only files of its folder ever served
        self.registered = {image.resolve() for product in config.registry.products for image in product.images}
        self.prepared: dict | None = None  # what the latest "prepare complaints" gave

    def routes(self) -> list:
        return [
            Route("/", self.home), Route("/queue", self.queue_page), Route("/decide", self.decide, methods=["POST"]),
            Route("/undo", self.undo, methods=["POST"]), Route("/bulk/preview", self.bulk_preview),
            Route("/bulk", self.bulk, methods=["POST"]),
            Route("/image/listing/{platform}/{listing_id}", self.listing_image),
            Route("/image/registered/{platform}/{listing_id}", self.registered_image),
            Route("/dashboard", self.dashboard), Route("/complaints", self.complaints_page),
            Route("/complaints", self.prepare, methods=["POST"]), Route("/prepared/{path:path}", self.prepared_file),
            Route("/export.csv", self.export_csv), Route("/import", self.import_csv, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    def page(self, name: str, request: Request, **context: Any) -> HTMLResponse:
        config = self.config
        html = self.templates.get_template(name).render(
            csrf=config.csrf, reviewer=config.reviewer, run_id=config.run_id,
            rights_holder=config.registry.rights_holder.name, path=request.url.path, **context)
        return HTMLResponse(html)

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303)

    async def queue_page(self, request: Request) -> Response:
        filters = Filters.from_query(request.query_params)
        decisions = self.book.current()
        chosen = self.queue.select(filters, decisions)
        cards = [card_view(card, self.queue.decision_state(card, decisions)) for card in chosen[:PAGE_SIZE]]
        return self.page("queue.html.j2", request, cards=cards, total=len(chosen), shown=len(cards), filters=filters,
                         counts=self.queue.counts(filters, decisions), filter_names=FILTERS,
                         decision_states=DECISION_STATES)

    async def decide(self, request: Request) -> Response:
        body = await _json_body(request)
        card = self.queue.by_key.get(_key(body.get("key")))
        if card is None:
            return JSONResponse({"error": "no such listing in this run"}, status_code=404)
        try:
            self.book.decide([card], str(body.get("decision")))
        except DecisionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"key": body["key"], "decision": body["decision"]})

    async def undo(self, request: Request) -> Response:
        reverted = self.book.undo()
        decisions = self.book.current()
        states = []
        for done in reverted:
            card = self.queue.by_key.get((done.platform, done.listing_id))
            state = self.queue.decision_state(card, decisions) if card else done.decision or "undecided"
            states.append({"key": f"{done.platform}:{done.listing_id}", "decision": state})
        return JSONResponse({"reverted": states})

    def bulk_targets(self, scope: Any, seller: Any, filter_query: Any, platform: Any = "") -> list[dict]:
        """A seller's listings in this run (whatever their state; a shop's name is its own on one platform
        only), or the listings the queue's filter shows."""
        if scope == "seller":
            if not seller:
                return []
            filters = Filters(platform=str(platform or ""), seller=str(seller), decision="all")
        else:
            filters = Filters.from_query(filter_query if isinstance(filter_query, dict) else {})
        return self.queue.select(filters, self.book.current())

    async def bulk_preview(self, request: Request) -> Response:
        query = request.query_params
        targets = self.bulk_targets(query.get("scope"), query.get("seller"), dict(query), query.get("seller_platform"))
        return JSONResponse({"count": len(targets), "keys": [f"{c['platform']}:{c['listing_id']}" for c in targets]})

    async def bulk(self, request: Request) -> Response:
        body = await _json_body(request)
        targets = self.bulk_targets(body.get("scope"), body.get("seller"), body.get("filters"),
                                    body.get("seller_platform"))
        if str(body.get("confirm")) != str(len(targets)):
            return JSONResponse({"error": f"the selection now holds {len(targets)} listing(s), not "
                                          f"{body.get('confirm')}: look again before deciding"}, status_code=409)
        try:
            self.book.decide(targets, str(body.get("decision")), source="bulk")
        except DecisionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"decided": len(targets), "decision": body["decision"]})

    def _card(self, request: Request) -> dict:
        return self.queue.by_key.get((request.path_params["platform"], request.path_params["listing_id"])) or {}

    async def listing_image(self, request: Request) -> Response:
        images = [i for i in self._card(request).get("images") or [] if isinstance(i, dict) and i.get("path")]
        root = Path(self.config.images_store)
        path = inside(root / str(images[0]["path"]), root) if images else None
        return FileResponse(path) if path else _missing("no such picture")

    async def registered_image(self, request: Request) -> Response:
        name = ((self._card(request).get("signals") or {}).get("image") or {}).get("registered_image")
        folder = Path(self.config.registry.path).parent
        path = inside(folder / str(name), folder) if name else None
        # only a picture the registry itself names: never registry.yaml, a certificate or anything beside them
        return FileResponse(path) if path in self.registered else _missing("no such picture")

    async def dashboard(self, request: Request) -> Response:
        from workbench.dashboard_view import dashboard_context

        return self.page("dashboard.html.j2", request, **dashboard_context(self.store, self.config.registry))

    async def complaints_page(self, request: Request) -> Response:
        approved = sum(1 for d in self.book.current().values() if d["decision"] == "approve")
        return self.page("complaints.html.j2", request, result=self.prepared, approved=approved)

    async def prepare(self, request: Request) -> Response:
        body = await _json_body(request)
        result = await asyncio.to_thread(prepare_complaints, self.config, self.queue, self.book,
                                         bool(body.get("evidence", True)))
        self.prepared = result
        return JSONResponse(result, status_code=200 if result["exit_code"] == 0 else 500)

    async def prepared_file(self, request: Request) -> Response:
        """A file of the batches this workbench prepared last (batch .txt, manifest, spreadsheet, evidence)."""
        folder = Path(self.prepared["folder"]) if self.prepared else None
        path = inside(folder / request.path_params["path"], folder) if folder else None
        if path is None:
            return _missing("no such file among the prepared complaints")
        disposition = f'attachment; filename="{path.name}"' if path.suffix == ".xlsx" else "inline"
        return FileResponse(path, headers={"content-disposition": disposition})

    async def export_csv(self, request: Request) -> Response:
        text = review_csv_text(self.queue, self.book, self.config.registry)
        return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="review-{self.config.run_id}.csv"'})

    async def import_csv(self, request: Request) -> Response:
        from exports.review_csv import ReviewFileError

        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return JSONResponse({"error": "choose a review.csv to import"}, status_code=400)
        name = Path(str(upload.filename or "review.csv")).name
        with tempfile.TemporaryDirectory(prefix="ipwatch-import-") as folder:
            target = Path(folder) / "review.csv"
            target.write_bytes(await upload.read())
            try:
                counts = import_review_csv(self.book, str(target), self.queue.by_key)
            except ReviewFileError as exc:
                return JSONResponse({"error": str(exc).replace(str(target), name)}, status_code=400)
        return JSONResponse(counts)


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _key(text: Any) -> tuple[str, str]:
    platform, _, listing_id = str(text or "").partition(":")
    return platform, listing_id
