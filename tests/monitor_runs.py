"""Helpers for the tests that start real `scrapy monitor` runs (the run, its failures, resuming, locks, the
terminal): a smaller watch list of the demo registry, for a test whose subject does not depend on how many
result pages the run reads."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import DEMO_REGISTRY

DEMO_WATCH = '  queries: ["LUMORA 冲锋衣", "露莫拉"]\n  pages: 3\n'
ONE_PAGE_WATCH = '  queries: ["露莫拉"]\n  pages: 1\n'


def one_page_registry(folder: Path) -> Path:
    """The demo registry with a watch list of one query ("露莫拉") and one page, in ``folder`` beside a copy of
    its photos and certificates (its paths are relative to its own folder). Same marks, products, photos and
    sellers: a run of all four platforms reads 4 result pages instead of 24, each replayed from the same
    cassettes."""
    shutil.copytree(DEMO_REGISTRY.parent, folder, dirs_exist_ok=True)
    text = DEMO_REGISTRY.read_text(encoding="utf-8")
    assert text.count(DEMO_WATCH) == 1, "the demo registry's watch list changed: update DEMO_WATCH"
    path = folder / "one-page.yaml"
    path.write_text(text.replace(DEMO_WATCH, ONE_PAGE_WATCH), encoding="utf-8")
    return path
