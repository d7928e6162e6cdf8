"""What a monitor run reports about enforcement: the Good-Faith standing, counter-notices waiting for a reply,
listings that need attention, and the seller view (``sellers.csv`` and a section of ``report.html``).

Everything is read from the store, for the rights holder of the run's registry.
"""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from contract import FLAGGED, normalize_seller
from contract.image_hit import confident_registered_image
from enforcement.casebook import CaseBook, ListingRef, case_label
from enforcement.charts import standing_chart_svg
from enforcement.sellers import SellerView, build_seller_view
from enforcement.standing import Standing, compute_standing, status_line

SELLER_COLUMNS = ("network", "network_risk", "platform", "seller_name", "seller_id", "shop_url", "listings",
                  "flagged", "filed", "removed", "relisted", "confirmed_recent", "sales", "risk",
                  "storefront_candidate", "links")


@dataclass
class EnforcementPicture:
    standing: Standing
    chart_svg: str
    awaiting_reply: list[dict]
    alerts: list[dict]
    sellers: SellerView

    def summary(self) -> dict:
        """The ``summary.json`` sections: ``standing`` and ``cases``."""
        return {
            "standing": {**self.standing.as_dict(), "lines": [status_line(r) for r in self.standing.rows],
                         "below": sorted(self.standing.below())},
            "cases": {
                "awaiting_reply": [{"case": case_label(n["case_id"]), "platform": n["platform"],
                                    "listing_id": n["listing_id"], "kind": n["kind"], "received": n["received_on"],
                                    "deadline": n["deadline"], "pack": n["pack"]} for n in self.awaiting_reply],
                "alerts": [{"case": case_label(a["case_id"]), "platform": a["platform"], "listing_id": a["listing_id"],
                            "alert": a["alert"], "message": a["message"]} for a in self.alerts],
            },
            "sellers": {"sellers": len(self.sellers.sellers), "networks": len(self.sellers.networks),
                        "storefront_candidates": int(self.sellers.sellers["storefront_candidate"].sum())
                        if len(self.sellers.sellers) else 0},
        }


def record_sightings(book: CaseBook, seen: set[tuple[str, str]], removed: set[tuple[str, str]], day: date) -> None:
    """What this run saw of listings in cases: live ones (for the still-live alerts) and removed ones."""
    in_cases = {(row["platform"], row["listing_id"]) for row in book.listing_history()}
    for platform, listing_id in sorted(in_cases & set(removed)):
        book.removed(ListingRef(platform, listing_id), on=day)
    for platform, listing_id in sorted((in_cases & set(seen)) - set(removed)):
        book.seen_live(ListingRef(platform, listing_id), on=day)


def run_enforcement(store: Any, registry: Any, run_id: str, out_dir: Path, removed: set, *,
                    day: date) -> tuple[str, dict]:
    """A monitor run's part: record what it saw of listings in cases, write ``sellers.csv``; returns the
    report panel (HTML) and the ``summary.json`` sections."""
    from store import rights_holder_key

    book = CaseBook(store.engine, rights_holder_key(registry))
    record_sightings(book, store.seen_in_run(run_id), removed, day)
    picture = enforcement_picture(store, registry, book, as_of=day)
    write_sellers_csv(picture.sellers, out_dir / "sellers.csv")
    return panel_html(picture), picture.summary()


def enforcement_picture(store: Any, registry: Any, book: CaseBook, *, as_of: date) -> EnforcementPicture:
    history = book.listing_history()
    standing = compute_standing(history, as_of)
    return EnforcementPicture(standing=standing, chart_svg=standing_chart_svg(standing),
                              awaiting_reply=book.awaiting_reply(), alerts=book.alerts(as_of),
                              sellers=seller_view(store, registry, history, as_of=as_of))


def seller_view(store: Any, registry: Any, history: list[dict], *, as_of: date) -> SellerView:
    from exports.incremental import RelistIndex

    complained = store.complaints_on_file(registry)
    relist = RelistIndex(complained)
    listings, relisted = [], []
    for row in store.all_listings():
        data = json.loads(row["data"]) if row.get("data") else {}
        entry = {"platform": row["platform"], "listing_id": row["listing_id"], "seller_id": row.get("seller_id"),
                 "seller_name": row.get("seller_name"), "verdict": row.get("verdict"), "sales": data.get("sales"),
                 "shop_url": data.get("shop_url"), "main_image_phash": row.get("main_image_phash"),
                 "registered_image": confident_registered_image(data.get("image_hit")),
                 "title": row.get("title"), "signals": data.get("signals") or {}}
        listings.append(entry)
        if entry["verdict"] in FLAGGED:
            probe = {**data, "platform": row["platform"], "listing_id": row["listing_id"],
                     "first_seen": row.get("first_seen")}
            if relist.match(probe):
                relisted.append((row["platform"], row["listing_id"]))
    return build_seller_view(listings, case_history=history, relisted=relisted, fold=normalize_seller,
                             contacts_of=contacts_of, as_of=as_of)


def contacts_of(listing: dict) -> set[str]:
    """Contact ids in the listing's title and in the text of its pictures, as ``kind:id``."""
    from matchers.contacts import find_contacts

    found = {f"{c.kind}:{c.id}" for c in find_contacts(str(listing.get("title") or ""), "title")}
    for contact in (listing.get("signals") or {}).get("contacts") or []:
        if isinstance(contact, dict) and contact.get("kind") and contact.get("id"):
            found.add(f"{contact['kind']}:{contact['id']}")
    return found


def write_sellers_csv(view: SellerView, path: Path) -> int:
    """``sellers.csv`` (UTF-8 with BOM, for Excel): one row per seller, riskiest first, with its network."""
    risk_of = dict(zip(view.networks["network"], view.networks["risk"], strict=True)) if len(view.networks) else {}
    rows = view.sellers.sort_values(["risk", "flagged"], ascending=False, kind="stable")
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SELLER_COLUMNS)
        for row in rows.to_dict("records"):
            network = row["network"]
            in_network = network in risk_of
            writer.writerow([_network_label(network) if in_network else "", risk_of.get(network, ""),
                             row["platform"], _cell(row["seller_name"]), row["seller_id"], row["shop_url"],
                             row["listings"], row["flagged"], row["filed"], row["removed"], row["relisted"],
                             row["confirmed_recent"], row["sales"], row["risk"],
                             "yes" if row["storefront_candidate"] else "", _cell(row["links"])])
    temporary.replace(path)
    return len(rows)


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                       autoescape=select_autoescape(["html", "j2"]))


def panel_template():
    """The panel's template, compiled once per process (jinja compiles it again if the file changes)."""
    return _environment().get_template("enforcement_panel.html.j2")


def panel_html(picture: EnforcementPicture, *, top: int = 30) -> str:
    """The standing and seller sections of ``report.html``, as HTML (escaped; the chart is our own SVG)."""
    from markupsafe import Markup

    summary = picture.summary()
    sellers = picture.sellers.sellers.head(top).to_dict("records")
    networks = picture.sellers.networks.head(top).to_dict("records")
    # an <img> of the SVG, not the SVG inline: report.html's content policy allows no inline style, and an
    # image keeps its own
    chart = ""
    if picture.chart_svg:
        encoded = base64.b64encode(picture.chart_svg.encode("utf-8")).decode("ascii")
        chart = Markup(f'<img alt="Good-Faith standing per month" src="data:image/svg+xml;base64,{encoded}">')
    return panel_template().render(
        standing=picture.standing, thresholds=picture.standing.as_dict()["thresholds"],
        chart=chart, awaiting=summary["cases"]["awaiting_reply"],
        alerts=summary["cases"]["alerts"], sellers=sellers, networks=networks)


def _network_label(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}"


def _cell(value: Any) -> str:
    from exports.review_csv import neutralise  # a cell a spreadsheet cannot run as a formula

    return neutralise(value)
