"""The image memo (``matchers/images/memo.py``): an answer kept by one run is the answer the next run would
compute, and anything that decides it (the picture, its URL, the registered photos, the matcher's code) is in
its key. A folder that cannot be written costs time, never a listing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from scrapy.utils.test import get_crawler

from matchers.images import RegistryImageIndex
from matchers.images.memo import _PACKAGES, _SOURCES, MISSING, Memo, matcher_digest
from tests.conftest import CASSETTES, DEMO_REGISTRY, monitor, read_listings, read_review
from tests.image_support import errors_of_writers_at_once

PHOTOS = DEMO_REGISTRY.parent / "images"


def test_a_kept_answer_is_read_back_and_a_damaged_one_is_computed_again(tmp_path):
    memo = Memo(tmp_path, "match")
    key = memo.key("index", ["https://img.alicdn.com/a.jpg", "full/a.jpg"])
    assert memo.get(key) is MISSING
    memo.put(key, {"product_id": "trail-jacket", "distance": 2})
    memo.put(memo.key("no hit"), None)  # "nothing matched" is an answer too
    again = Memo(tmp_path, "match")
    assert again.get(key) == {"product_id": "trail-jacket", "distance": 2}
    assert again.get(again.key("no hit")) is None and again.reused == 2
    (entry,) = (tmp_path / "match").glob(f"*/{key}.json")
    entry.write_text('{"value": ', encoding="utf-8")  # a half-written file from a crash of another tool
    assert Memo(tmp_path, "match").get(key) is MISSING


def test_without_a_folder_nothing_is_kept_and_nothing_is_read():
    memo = Memo(None, "inside")
    assert memo.key("anything") is None and memo.get(None) is MISSING
    memo.put(None, {"x": 1})
    assert memo.kept == 0


def test_a_folder_that_cannot_be_written_is_said_once_and_the_run_goes_on(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the memo folder should be", encoding="utf-8")
    memo = Memo(blocker, "comparison")
    with caplog.at_level(logging.WARNING, logger="matchers.images.memo"):
        for n in range(3):
            memo.put(memo.key(n), n)
    assert memo.kept == 0
    (said,) = [r.getMessage() for r in caplog.records]
    assert "not-a-folder" in said and "cannot be written" in said and "goes on computing" in said


def test_processes_writing_the_same_answer_at_once_leave_one_whole_entry(tmp_path):
    memo = Memo(tmp_path, "match")
    key = memo.key("shared by two workers")
    value = {"stage": "crop", "listing_image_url": "https://img.alicdn.com/" + "x" * 5000}
    assert errors_of_writers_at_once(lambda: Memo(tmp_path, "match").put(key, value)) == []
    assert Memo(tmp_path, "match").get(key) == value
    assert [p.name for p in (tmp_path / "match").rglob("*") if p.is_file()] == [f"{key}.json"]  # no temporary left


def test_the_key_holds_the_matchers_code_data_files_and_libraries():
    covered = {p.relative_to(_PACKAGES).as_posix() for pattern in _SOURCES for p in _PACKAGES.glob(pattern)}
    assert all(any(_PACKAGES.glob(pattern)) for pattern in _SOURCES), "a source pattern matches nothing"
    assert {"matchers/images/index.py", "matchers/images/stage2.py", "matchers/image_local.py",
            "matchers/image_grid.py", "matchers/comparison.py", "matchers/signals.py",
            "matchers/data/image_thresholds.json", "matchers/data/image_local_thresholds.json",
            "contract/image_hit.py"} <= covered
    assert len(matcher_digest()) == 32
    memo = Memo(Path("/unused"), "match")
    assert memo.key(1) != Memo(Path("/unused"), "inside").key(1)  # kinds never share an answer


def test_the_index_fingerprint_changes_with_a_registered_photos_content_and_the_thresholds(tmp_path):
    from dataclasses import replace

    def index(folder: Path, **options) -> RegistryImageIndex:
        photos = [("trail-jacket", folder / "images" / "trail_jacket_1.jpg"),
                  ("summit-pack", folder / "images" / "summit_pack_1.jpg")]
        return RegistryImageIndex.from_images(photos, base_dir=folder, **options)

    for name in ("a", "b"):
        shutil.copytree(PHOTOS, tmp_path / name / "images")
    same = index(tmp_path / "a").fingerprint
    assert same and same == index(tmp_path / "b").fingerprint  # same names, same pictures: same answers
    retouched = tmp_path / "b" / "images" / "trail_jacket_1.jpg"
    Image.open(PHOTOS / "trail_jacket_1.jpg").convert("RGB").rotate(3).save(retouched, "JPEG")
    assert index(tmp_path / "b").fingerprint != same  # same name, other picture
    stricter = replace(index(tmp_path / "a").thresholds, match_phash=10)
    assert index(tmp_path / "a", thresholds=stricter).fingerprint != same


# ---- the pipelines, in process, each with its own images store


def _stored(store: Path, data: bytes, name: str) -> dict:
    path = f"full/{name}.jpg"
    (store / "full").mkdir(parents=True, exist_ok=True)
    (store / path).write_bytes(data)
    return {"url": f"https://img.alicdn.com/{name}.jpg", "path": path, "checksum": hashlib.md5(data).hexdigest()}


def _cropped(photo: Path, keep: float = 0.82) -> bytes:
    """A crop the first stage cannot decide: the second stage's window search finds it."""
    img = Image.open(photo).convert("RGB")
    w, h = img.size
    out = io.BytesIO()
    img.crop((int(w * (1 - keep)), 0, w, int(h * keep))).save(out, "JPEG", quality=85)
    return out.getvalue()


def _grid_with(photo: Path) -> bytes:
    """``photo`` as one tile of a 3x3 grid of unrelated pictures: found only by looking inside."""
    from bench.disguises import t_grid_3x3
    from bench.image_corpus import build_corpus

    grid = t_grid_3x3(np.asarray(Image.open(photo).convert("RGB")), np.random.default_rng(2), build_corpus(seed=3))
    out = io.BytesIO()
    Image.fromarray(grid).save(out, "JPEG", quality=88)
    return out.getvalue()


def _match(store: Path, entry: dict, registry: Path = DEMO_REGISTRY, **settings):
    from pipelines.image_match import ImageMatchPipeline

    crawler = get_crawler(settings_dict={"IMAGES_STORE": str(store), "REGISTRY_PATH": str(registry), **settings})
    item = ImageMatchPipeline.from_crawler(crawler).process_item(
        {"platform": "taobao", "listing_id": "1", "images": [dict(entry)]})
    return item["image_hit"], crawler.stats


def _hashed(store: Path, body: bytes, **settings):
    """A listing picture downloaded by a new crawl's images pipeline: its hashes and the crawl's stats."""
    from scrapy.http import Request, Response

    from pipelines.image_hashes import hash_cache_for
    from pipelines.images import ListingImagesPipeline

    crawler = get_crawler(settings_dict={"IMAGES_STORE": str(store), **settings})
    pipeline = ListingImagesPipeline.from_crawler(crawler)
    request = Request("https://img.alicdn.com/imgextra/listing.jpg")
    asyncio.run(pipeline.image_downloaded(Response(request.url, body=body, request=request), request, None))
    return hash_cache_for(crawler).get(hashlib.md5(body).hexdigest()), crawler.stats


def test_the_next_run_reuses_a_pictures_hashes_and_thumbnail_and_hashes_other_bytes(tmp_path):
    store = tmp_path / "images"
    body = (PHOTOS / "trail_jacket_1.jpg").read_bytes()
    computed, stats = _hashed(store, body)
    assert stats.get_value("images/hashed") == 1 and stats.get_value("images/hashes/reused") is None
    kept, stats = _hashed(store, body)  # a new crawl: nothing in memory
    assert kept == computed and np.array_equal(kept.thumb, computed.thumb) and kept.thumb.dtype == np.uint8
    assert stats.get_value("images/hashed") == 1 and stats.get_value("images/hashes/reused") == 1
    other, stats = _hashed(store, (PHOTOS / "trail_jacket_2.jpg").read_bytes())
    assert other != computed and stats.get_value("images/hashes/reused") is None
    for entry in (store / ".memo" / "hashes").glob("*/*.json"):
        entry.write_text('{"value": {"phash": "00"}}', encoding="utf-8")  # damaged: no thumbnail
    again, stats = _hashed(store, body)
    assert again == computed and stats.get_value("images/hashes/reused") is None
    _hashed(tmp_path / "off", body, IMAGE_MEMO=False)
    assert not (tmp_path / "off" / ".memo").exists()


def test_the_next_run_reuses_the_match_of_the_same_pictures_and_not_of_others(tmp_path):
    store = tmp_path / "images"
    crop = _stored(store, _cropped(PHOTOS / "trail_jacket_1.jpg"), "crop")
    computed, stats = _match(store, crop)
    assert computed is not None and computed.confident and stats.get_value("images/match/reused") is None
    kept, stats = _match(store, crop)  # a new crawler: nothing in memory
    assert kept == computed and stats.get_value("images/match/reused") == 1
    assert stats.get_value("images/matched") == 1  # a kept hit counts as a hit
    moved = {**crop, "url": "https://img.alicdn.com/elsewhere.jpg"}  # a hit names its URL: not the same answer
    elsewhere, stats = _match(store, moved)
    assert stats.get_value("images/match/reused") is None
    assert elsewhere.listing_image_url == moved["url"] and elsewhere.registered_image == computed.registered_image


def test_where_the_memo_is_and_that_it_can_be_switched_off(tmp_path):
    from scrapy.settings import Settings

    from matchers.images.memo import memo_folder
    from pipelines.image_files import local_folder

    assert memo_folder(Settings(), local_folder(str(tmp_path))) == tmp_path / ".memo"
    assert memo_folder(Settings(), local_folder(f"file://{tmp_path}")) == tmp_path / ".memo"
    shared = Settings({"IMAGE_MEMO_DIR": str(tmp_path / "shared")})
    assert memo_folder(shared, local_folder("s3://bucket/x")) == tmp_path / "shared"
    assert memo_folder(Settings(), local_folder("s3://bucket/images")) is None  # no local folder to keep it in
    assert memo_folder(Settings({"IMAGE_MEMO": False, "IMAGE_MEMO_DIR": str(tmp_path)}), tmp_path) is None
    store = tmp_path / "images"
    crop = _stored(store, _cropped(PHOTOS / "trail_jacket_1.jpg"), "crop")
    for _ in range(2):
        hit, stats = _match(store, crop, IMAGE_MEMO=False)
        assert hit is not None and stats.get_value("images/match/reused") is None
    assert not (store / ".memo").exists()


def test_a_changed_registered_photo_is_matched_again(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(DEMO_REGISTRY.parent, registry)
    store = tmp_path / "images"
    crop = _stored(store, _cropped(PHOTOS / "trail_jacket_1.jpg"), "crop")
    before, _ = _match(store, crop, registry / DEMO_REGISTRY.name)
    unrelated = Image.new("RGB", (600, 600), (20, 120, 200))
    unrelated.save(registry / "images" / "trail_jacket_1.jpg", "JPEG")  # the rights holder replaced the photo
    after, stats = _match(store, crop, registry / DEMO_REGISTRY.name)
    assert stats.get_value("images/match/reused") is None
    assert before.registered_image == "images/trail_jacket_1.jpg"
    assert after is None or after.registered_image != "images/trail_jacket_1.jpg"


def _score(store: Path, entry: dict, **settings):
    from pipelines.scoring import ScoringPipeline

    crawler = get_crawler(settings_dict={"REGISTRY_PATH": str(DEMO_REGISTRY), "IMAGES_STORE": str(store),
                                         "OCR_ENABLED": False, **settings})
    crawler.spider = type("S", (), {"registry_path": None})()
    item = {"platform": "taobao", "listing_id": "1", "title": "户外冲锋衣 男 防水", "price_min": 199.0,
            "price_max": 199.0, "currency": "CNY", "seller_name": "店", "is_official_store": False,
            "image_urls": [entry["url"]], "images": [dict(entry)]}
    return ScoringPipeline.from_crawler(crawler).process_item(item), crawler.stats


def test_looking_inside_again_reuses_what_was_found_and_explains_it_the_same(tmp_path):
    store = tmp_path / "images"
    grid = _stored(store, _grid_with(PHOTOS / "trail_jacket_1.jpg"), "grid")
    first, stats = _score(store, grid)
    assert first["image_hit"].stage.startswith("grid cell") and stats.get_value("images/local/checked") == 1
    second, stats = _score(store, grid)
    assert stats.get_value("images/local/reused") == 1 and stats.get_value("images/local/checked") is None
    assert stats.get_value("images/local/matched") == 1
    assert second["image_hit"] == first["image_hit"]
    assert (second["verdict"], second["reason"], second["explanation"]) == \
        (first["verdict"], first["reason"], first["explanation"])


def test_both_image_stages_cache_the_registered_photos_hashes_in_the_one_folder_configured(tmp_path):
    """``IMAGE_HASH_CACHE_DIR`` (a worker's or the suite's shared folder) is where the match and the look inside
    the picture both keep the registered photos' hashes; unset, it is the images store's ``.hashes``."""
    store, shared = tmp_path / "images", tmp_path / "shared-hashes"
    grid = _stored(store, _grid_with(PHOTOS / "trail_jacket_1.jpg"), "grid")
    scored, _ = _score(store, grid, IMAGE_HASH_CACHE_DIR=str(shared), IMAGE_MEMO=False)
    assert scored["image_hit"].stage.startswith("grid cell")
    hit, _ = _match(store, _stored(store, _cropped(PHOTOS / "trail_jacket_1.jpg"), "crop"),
                    IMAGE_HASH_CACHE_DIR=str(shared), IMAGE_MEMO=False)
    assert hit is not None and len(list(shared.glob("*.json"))) == len(list(PHOTOS.iterdir()))
    assert not (store / ".hashes").exists()
    _score(store, grid, IMAGE_MEMO=False)
    assert len(list((store / ".hashes").glob("*.json"))) == len(list(PHOTOS.iterdir()))


def test_nothing_found_inside_is_kept_too(tmp_path):
    store = tmp_path / "images"
    plain = io.BytesIO()
    Image.new("RGB", (400, 400), (230, 230, 230)).save(plain, "JPEG")
    nothing = _stored(store, plain.getvalue(), "plain")
    first, _ = _score(store, nothing)
    second, stats = _score(store, nothing)
    assert first.get("image_hit") is None and second.get("image_hit") is None
    assert stats.get_value("images/local/reused") == 1 and stats.get_value("images/local/matched") is None


def test_a_comparison_drawn_once_is_copied_byte_for_byte_and_new_captions_are_drawn(tmp_path):
    from matchers.comparison import make_comparison

    listing = tmp_path / "listing.jpg"
    listing.write_bytes(_cropped(PHOTOS / "trail_jacket_1.jpg"))
    memo = Memo(tmp_path / "memo", "comparison")
    first = make_comparison(listing, PHOTOS / "trail_jacket_1.jpg", tmp_path / "a.png", distance=4, stage="crop",
                            title="LUMORA 冲锋衣", memo=memo)
    reader = Memo(tmp_path / "memo", "comparison")
    again = make_comparison(listing, PHOTOS / "trail_jacket_1.jpg", tmp_path / "b.png", distance=4, stage="crop",
                            title="LUMORA 冲锋衣", memo=reader)
    assert reader.reused == 1 and reader.kept == 0 and again.read_bytes() == first.read_bytes()
    plain = make_comparison(listing, PHOTOS / "trail_jacket_1.jpg", tmp_path / "c.png", distance=4, stage="crop",
                            title="LUMORA 冲锋衣")
    assert plain.read_bytes() == first.read_bytes()  # what the memo gave is what drawing gives
    retitled = Memo(tmp_path / "memo", "comparison")
    other = make_comparison(listing, PHOTOS / "trail_jacket_1.jpg", tmp_path / "d.png", distance=4, stage="crop",
                            title="another title", memo=retitled)
    assert retitled.reused == 0 and other.read_bytes() != first.read_bytes()


# ---- a whole replayed run


def _without_run_ids(report: Path) -> dict[str, dict]:
    return {key: {k: v for k, v in row.items() if k not in ("first_run", "first_seen", "last_seen", "crawled_at")}
            for key, row in read_listings(report).items()}


def test_a_replayed_run_reusing_a_memo_reports_exactly_what_the_run_that_filled_it_did(tmp_path):
    memo = tmp_path / "memo"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    code, filled, log = monitor(tmp_path / "first", CASSETTES, "-s", f"IMAGE_MEMO_DIR={memo}")
    assert code == 0, log[-3000:]
    kept = {p: p.stat().st_mtime_ns for p in memo.rglob("*.*")}
    assert {p.relative_to(memo).parts[0] for p in kept} == {"hashes", "match", "inside", "comparison", "thumbnail"}

    code, reused, log = monitor(tmp_path / "second", CASSETTES, "-s", f"IMAGE_MEMO_DIR={memo}")
    assert code == 0, log[-3000:]
    assert {p: p.stat().st_mtime_ns for p in memo.rglob("*.*")} == kept  # every answer was reused, none made
    assert _without_run_ids(reused) == _without_run_ids(filled)
    pictures = sorted(p.name for p in (filled / "comparisons").iterdir())
    assert pictures and pictures == sorted(p.name for p in (reused / "comparisons").iterdir())
    for name in pictures:
        assert (reused / "comparisons" / name).read_bytes() == (filled / "comparisons" / name).read_bytes()
    assert _review_without_times(reused) == _review_without_times(filled)
    summaries = [json.loads((folder / "summary.json").read_text(encoding="utf-8")) for folder in (filled, reused)]
    assert summaries[0]["platforms"] == summaries[1]["platforms"]


def _review_without_times(report: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if "seen" not in k and k != "first_run"}
            for row in read_review(report / "review.csv")]
