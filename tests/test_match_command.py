"""`scrapy match`: score already-crawled listings offline (docs/contract.md §5)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

from crawlers.commands.match import Command, run_match
from tests.conftest import SCRAPY

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "registry" / "demo.yaml"


def row(listing_id, title, price, **extra):
    base = {
        "platform": "taobao",
        "listing_id": listing_id,
        "url": f"https://item.taobao.com/item.htm?id={listing_id}",
        "title": title,
        "price_min": price,
        "price_max": price,
        "currency": "CNY",
        "moq": None,
        "seller_name": "某店",
        "is_official_store": False,
        "image_urls": [],
        "images": [],
    }
    base.update(extra)
    return json.dumps(base, ensure_ascii=False)


def write_input(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "listings.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_scores_every_listing_into_jsonl(tmp_path):
    src = write_input(tmp_path, [row("1", "LUMORA冲锋衣 高仿", 199), row("2", "户外冲锋衣 男", 299)])
    out = tmp_path / "scored.jsonl"
    err = io.StringIO()
    assert run_match(src, DEMO, out, err=err) == 0
    rows = read_jsonl(out)
    assert [r["verdict"] for r in rows] == ["infringing", "clean"]
    assert rows[0]["ipr_id"] == "LUMORA-CN-25" and rows[0]["explanation"].startswith("title has 'LUMORA'")
    assert rows[0]["title"] == "LUMORA冲锋衣 高仿"  # the listing's own fields are kept
    assert "scored 2 listings (1 infringing" in err.getvalue()


def test_bad_lines_are_skipped_with_their_line_number_and_the_rest_is_scored(tmp_path):
    src = write_input(
        tmp_path,
        [
            row("1", "LUMORA冲锋衣 高仿", 199),
            "{not json",
            "[1, 2]",
            '{"price_min": 3}',
            row("5", "露莫拉 原单", 99),
        ],
    )
    out = tmp_path / "scored.jsonl"
    err = io.StringIO()
    assert run_match(src, DEMO, out, err=err) == 0
    assert [r["listing_id"] for r in read_jsonl(out)] == ["1", "5"]
    messages = err.getvalue()
    assert f"{src}:2: skipped: not JSON" in messages
    assert f"{src}:3: skipped: not a JSON object" in messages
    assert f"{src}:4: skipped: no title" in messages


def test_csv_output_has_score_columns_and_neutralised_formulas(tmp_path):
    src = write_input(tmp_path, [row("1", "=HYPERLINK(1) LUMORA冲锋衣 高仿", 199)])
    out = tmp_path / "scored.csv"
    assert run_match(src, DEMO, out, err=io.StringIO()) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["verdict"] == "infringing"
    assert rows[0]["title"].startswith("'=")
    assert json.loads(rows[0]["signals"])["counterfeit_terms"] == ["高仿"]


def test_bad_registry_exits_2_listing_its_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rights_holder: {name: X}\ntrademarks: []\ncolour: red\n", encoding="utf-8")
    err = io.StringIO()
    assert run_match(write_input(tmp_path, [row("1", "x", 1)]), bad, tmp_path / "o.jsonl", err=err) == 2
    assert "colour: unknown key" in err.getvalue()
    assert not (tmp_path / "o.jsonl").exists()


def test_missing_input_or_bad_output_name_exits_2(tmp_path):
    assert run_match(tmp_path / "nope.jsonl", DEMO, tmp_path / "o.jsonl", err=io.StringIO()) == 2
    src = write_input(tmp_path, [row("1", "x", 1)])
    assert run_match(src, DEMO, tmp_path / "o.txt", err=io.StringIO()) == 2


def test_existing_image_hit_on_a_line_is_used(tmp_path):
    hit = {
        "product_id": "trail-jacket",
        "registered_image": "images/trail_jacket_1.jpg",
        "listing_image_url": "u",
        "listing_image_path": None,
        "distance": 4,
        "stage": "phash",
        "confident": True,
    }
    src = write_input(tmp_path, [row("1", "户外冲锋衣 男", 299, image_hit=hit)])
    out = tmp_path / "o.jsonl"
    assert run_match(src, DEMO, out, err=io.StringIO()) == 0
    assert read_jsonl(out)[0]["reason"] == "stolen_image"


def test_downloaded_images_are_matched_against_registered_photos(tmp_path):
    store = tmp_path / "store"
    (store / "full").mkdir(parents=True)
    shutil.copy(DEMO.parent / "images" / "trail_jacket_1.jpg", store / "full" / "abc.jpg")
    images = [
        {"url": "https://img.example/abc.jpg", "path": "full/abc.jpg", "checksum": "x", "phash": None},
        {"url": "https://img.example/gone.jpg", "path": "full/gone.jpg", "checksum": "y", "phash": None},
    ]
    src = write_input(
        tmp_path,
        [row("1", "户外冲锋衣 男 防水", 299, images=images, image_urls=["https://img.example/abc.jpg"])],
    )
    out = tmp_path / "o.jsonl"
    err = io.StringIO()
    assert run_match(src, DEMO, out, images_store=store, err=err) == 0
    result = read_jsonl(out)[0]
    assert (result["verdict"], result["reason"], result["ipr_id"]) == (
        "infringing",
        "stolen_image",
        "LUMORA-PHOTO",
    )
    assert "main image matches trail_jacket_1.jpg" in result["explanation"]
    assert "images[1]" in err.getvalue()  # the missing file is reported, not fatal


def test_command_declares_its_options():
    import argparse

    from scrapy.settings import Settings

    cmd = Command()
    cmd.settings = Settings()
    parser = argparse.ArgumentParser()
    cmd.add_options(parser)
    opts = parser.parse_args(["--registry", "r.yaml", "--images-store", "s", "-o", "o.jsonl"])
    assert (opts.registry, opts.images_store, opts.output) == ("r.yaml", "s", "o.jsonl")
    assert cmd.requires_project is True


def test_scrapy_match_end_to_end(tmp_path):
    src = write_input(tmp_path, [row("1", "LUM0RA 冲锋衣", 1199), "oops"])
    out = tmp_path / "o.jsonl"
    proc = subprocess.run(
        [
            SCRAPY,
            "match",
            "--registry",
            str(DEMO),
            str(src),
            "-o",
            str(out),
            "-s",
            "COMMANDS_MODULE=crawlers.commands",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out)[0]["verdict"] == "infringing"
    assert ":2: skipped" in proc.stderr
    bad = subprocess.run(
        [SCRAPY, "match", "--registry", str(tmp_path / "missing.yaml"), str(src), "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr
