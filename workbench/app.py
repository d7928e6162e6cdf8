"""The workbench's routes (Starlette, server-rendered with Jinja2, a small script for the keys).

    GET  /queue            the cards, filters and counts        POST /decide   one decision
    GET  /bulk/preview     how many a bulk decision would take  POST /bulk     a seller's or a filter's listings
    GET  /image/listing/P/ID, /image/registered/P/ID            POST /undo     the reviewer's latest decision back
    GET  /dashboard        runs over time, oldest undecided, standing and sellers
    GET  /complaints       prepare the batches                  POST /complaints
    GET  /export.csv       review.csv with the store's decisions  POST /import  a review.csv edited in Excel
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from workbench.queue import DECISION_STATES, FILTERS, Filters, Queue, card_view
from workbench.security import Guard, inside, new_secret

HERE = Path(__file__).parent
PROJECT = HERE.parent  # where scrapy.cfg is: `scrapy complaints` runs there
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
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]))
    queue = Queue.load(store, config.registry, config.run_id)
    book = DecisionBook(store, config.registry, config.reviewer)
    registered = {image.resolve() for product in config.registry.products for image in product.images}
    state: dict[str, Any] = {"complaints": None}

    def page(name: str, request: Request, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(csrf=config.csrf, reviewer=config.reviewer, run_id=config.run_id,
                                                   rights_holder=config.registry.rights_holder.name,
                                                   path=request.url.path, **context)
        return HTMLResponse(html)

    async def home(request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303)

    async def queue_page(request: Request) -> Response:
        filters = Filters.from_query(request.query_params)
        decisions = book.current()
        chosen = queue.select(filters, decisions)
        cards = [card_view(card, queue.decision_state(card, decisions)) for card in chosen[:PAGE_SIZE]]
        return page("queue.html.j2", request, cards=cards, total=len(chosen), shown=len(cards), filters=filters,
                    counts=queue.counts(filters, decisions), filter_names=FILTERS, decision_states=DECISION_STATES)

    async def decide(request: Request) -> Response:
        body = await _json_body(request)
        card = queue.by_key.get(_key(body.get("key")))
        if card is None:
            return JSONResponse({"error": "no such listing in this run"}, status_code=404)
        try:
            book.decide([card], str(body.get("decision")))
        except DecisionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"key": body["key"], "decision": body["decision"]})

    async def undo(request: Request) -> Response:
        reverted = book.undo()
        decisions = book.current()
        states = []
        for done in reverted:
            card = queue.by_key.get((done.platform, done.listing_id))
            states.append({"key": f"{done.platform}:{done.listing_id}",
                           "decision": queue.decision_state(card, decisions) if card else done.decision or "undecided"})
        return JSONResponse({"reverted": states})

    def bulk_targets(scope: Any, seller: Any, filter_query: Any, platform: Any = "") -> list[dict]:
        """A seller's listings in this run (whatever their state; a shop's name is its own on one platform
        only), or the listings the queue's filter shows."""
        if scope == "seller":
            if not seller:
                return []
            filters = Filters(platform=str(platform or ""), seller=str(seller), decision="all")
        else:
            filters = Filters.from_query(filter_query if isinstance(filter_query, dict) else {})
        return queue.select(filters, book.current())

    async def bulk_preview(request: Request) -> Response:
        query = request.query_params
        targets = bulk_targets(query.get("scope"), query.get("seller"), dict(query), query.get("seller_platform"))
        return JSONResponse({"count": len(targets), "keys": [f"{c['platform']}:{c['listing_id']}" for c in targets]})

    async def bulk(request: Request) -> Response:
        body = await _json_body(request)
        targets = bulk_targets(body.get("scope"), body.get("seller"), body.get("filters"), body.get("seller_platform"))
        if str(body.get("confirm")) != str(len(targets)):
            return JSONResponse({"error": f"the selection now holds {len(targets)} listing(s), not "
                                          f"{body.get('confirm')}: look again before deciding"}, status_code=409)
        try:
            book.decide(targets, str(body.get("decision")), source="bulk")
        except DecisionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"decided": len(targets), "decision": body["decision"]})

    async def listing_image(request: Request) -> Response:
        card = queue.by_key.get((request.path_params["platform"], request.path_params["listing_id"]))
        images = [i for i in (card or {}).get("images") or [] if isinstance(i, dict) and i.get("path")]
        path = inside(config.images_store / str(images[0]["path"]), config.images_store) if images else None
        return FileResponse(path) if path else PlainTextResponse("no such picture", status_code=404)

    async def registered_image(request: Request) -> Response:
        card = queue.by_key.get((request.path_params["platform"], request.path_params["listing_id"]))
        name = (((card or {}).get("signals") or {}).get("image") or {}).get("registered_image")
        folder = Path(config.registry.path).parent
        path = inside(folder / str(name), folder) if name else None
        # only a picture the registry itself names: never registry.yaml, a certificate or anything beside them
        return FileResponse(path) if path in registered else PlainTextResponse("no such picture", status_code=404)

    async def dashboard(request: Request) -> Response:
        from workbench.dashboard_view import dashboard_context

        return page("dashboard.html.j2", request, **dashboard_context(store, config.registry))

    async def complaints_page(request: Request) -> Response:
        return page("complaints.html.j2", request, result=state["complaints"],
                    approved=sum(1 for d in book.current().values() if d["decision"] == "approve"))

    async def prepare_complaints(request: Request) -> Response:
        body = await _json_body(request)
        result = await asyncio.to_thread(_prepare, config, store, queue, book, bool(body.get("evidence", True)))
        state["complaints"] = result
        return JSONResponse(result, status_code=200 if result["exit_code"] == 0 else 500)

    async def prepared_file(request: Request) -> Response:
        """A file of the batches this workbench prepared last (batch .txt, manifest, spreadsheet, evidence)."""
        folder = Path(state["complaints"]["folder"]) if state["complaints"] else None
        path = inside(folder / request.path_params["path"], folder) if folder else None
        if path is None:
            return PlainTextResponse("no such file among the prepared complaints", status_code=404)
        return FileResponse(path, headers={"content-disposition": "inline" if path.suffix != ".xlsx" else
                                           f'attachment; filename="{path.name}"'})

    async def export_csv(request: Request) -> Response:
        text = _review_csv(queue, book, config.registry)
        return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="review-{config.run_id}.csv"'})

    async def import_csv(request: Request) -> Response:
        from exports.review_csv import ReviewFileError

        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return JSONResponse({"error": "choose a review.csv to import"}, status_code=400)
        target = config.complaints_root / f".import-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(await upload.read())
        try:
            counts = import_review_csv(book, str(target), queue.by_key)
        except ReviewFileError as exc:
            return JSONResponse({"error": str(exc).replace(str(target), upload.filename or "review.csv")},
                                status_code=400)
        finally:
            target.unlink(missing_ok=True)
        return JSONResponse(counts)

    routes = [
        Route("/", home), Route("/queue", queue_page), Route("/decide", decide, methods=["POST"]),
        Route("/undo", undo, methods=["POST"]), Route("/bulk/preview", bulk_preview),
        Route("/bulk", bulk, methods=["POST"]),
        Route("/image/listing/{platform}/{listing_id}", listing_image),
        Route("/image/registered/{platform}/{listing_id}", registered_image),
        Route("/dashboard", dashboard), Route("/complaints", complaints_page),
        Route("/complaints", prepare_complaints, methods=["POST"]),
        Route("/prepared/{path:path}", prepared_file),
        Route("/export.csv", export_csv), Route("/import", import_csv, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Guard(Starlette(routes=routes), host=config.host, port=config.port, token=config.token, csrf=config.csrf)


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _key(text: Any) -> tuple[str, str]:
    platform, _, listing_id = str(text or "").partition(":")
    return platform, listing_id


def _review_csv(queue: Queue, book: DecisionBook, registry: Any) -> str:
    """The run's review.csv, with the store's decisions in the ``decision`` column."""
    from exports.review_csv import REVIEW_COLUMNS, review_row

    decisions = book.current()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REVIEW_COLUMNS)
    for card in queue.cards:
        row = review_row(card, registry)
        state = queue.decision_state(card, decisions)
        row[0] = state if state in ("approve", "reject") else ""
        writer.writerow(row)
    return buffer.getvalue()


def _prepare(config: Config, store: Any, queue: Queue, book: DecisionBook, evidence: bool) -> dict:
    """Build the batches exactly as ``scrapy complaints`` does: the same command, on the store's decisions."""
    import json

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = config.complaints_root / config.run_id / f"workbench-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "review.csv").write_text(_review_csv(queue, book, config.registry), encoding="utf-8-sig")
    with (work / "listings.jsonl").open("w", encoding="utf-8") as out:
        for card in queue.cards:
            out.write(json.dumps(card, ensure_ascii=False, default=str) + "\n")
    folder = work / "complaints"
    command = [str(Path(sys.executable).with_name("scrapy")), "complaints", "--registry", str(config.registry.path),
               "--review", str(work / "review.csv"), "--out", str(folder), "--store", config.store_url]
    if not evidence:
        command.append("--no-evidence")
    if config.replay:
        command += ["--replay", config.replay]
    environment = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=PROJECT, env=environment)
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    return {"exit_code": done.returncode, "folder": str(folder), "output": (done.stdout + done.stderr).splitlines(),
            "batches": [{"file": b["files"]["txt"], "urls": b["urls"], "ipr_id": b["ipr_id"], "reason": b["reason"]}
                        for b in data.get("batches", [])],
            "refused": data.get("refused", []), "counts": data.get("counts", {})}
