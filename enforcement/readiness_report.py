"""The IPR readiness report: a line per right and platform on the terminal, and ``ipr-check.html``."""

from __future__ import annotations

from datetime import date
from itertools import groupby
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from enforcement.readiness import Readiness

TEMPLATES = Path(__file__).with_name("templates")


def print_readiness(results: list[Readiness]) -> None:
    for result in results:
        verdict = "can be cited" if result.usable else "CANNOT be cited"
        print(f"{result.ipr_id} on {result.platform}: {verdict}")
        for finding in result.findings:
            print(f"  {finding.level}: {finding.message}")
    usable = sum(1 for r in results if r.usable)
    print(f"ipr-check: {usable} of {len(results)} (right, platform) pairs can be cited")


def write_readiness_html(results: list[Readiness], path: Path, *, registry: Any, on: date) -> Path:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    ordered = sorted(results, key=lambda r: r.ipr_id)
    html = environment.get_template("ipr_check.html.j2").render(
        rights_holder=registry.rights_holder.name, checked_on=on.isoformat(),
        usable=sum(1 for r in results if r.usable), total=len(results),
        by_ipr=[(ipr_id, list(rows)) for ipr_id, rows in groupby(ordered, key=lambda r: r.ipr_id)])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)
    return path
