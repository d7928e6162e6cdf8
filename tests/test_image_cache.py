"""The disk cache of registered images: keyed by the file's checksum and the recipe version, reused, and
recomputed when an entry is damaged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from matchers.images import RECIPE_VERSION, RegistryImageIndex, sha256_file
from tests.conftest import ROOT
from tests.image_support import entries, errors_of_writers_at_once, listing, shared_corpus, write_registry


@pytest.fixture()
def registry_dir(tmp_path) -> Path:
    return write_registry(tmp_path)


def test_reference_hashes_are_cached_on_disk_by_file_checksum_and_reused(registry_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    first = RegistryImageIndex.from_images(entries(registry_dir), cache_dir, base_dir=registry_dir)
    assert first.cache_misses == 6 and first.cache_hits == 0
    assert len(list(cache_dir.glob("*.json"))) == 6
    # same bytes under a new name: still a cache hit (keyed by content, not path)
    renamed = registry_dir / "images" / "renamed-copy.jpg"
    renamed.write_bytes((registry_dir / "images" / f"{shared_corpus().references[0][0]}.jpg").read_bytes())
    second = RegistryImageIndex.from_images(entries(registry_dir), cache_dir, base_dir=registry_dir)
    assert second.cache_hits == 7 and second.cache_misses == 0
    pid, arr = shared_corpus().references[3]
    hit = second.match([listing(arr)])
    assert hit is not None and hit.product_id == pid


def test_a_damaged_cache_entry_is_recomputed(registry_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    RegistryImageIndex.from_images(entries(registry_dir), cache_dir)
    victim = sorted(cache_dir.glob("*.json"))[0]
    victim.write_text("{not json")
    again = RegistryImageIndex.from_images(entries(registry_dir), cache_dir)
    assert again.cache_misses == 1 and again.cache_hits == 5


def test_cache_files_are_named_by_the_file_checksum_and_the_recipe_version(registry_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    RegistryImageIndex.from_images(entries(registry_dir), cache_dir)
    expected = {f"{hashlib.sha256(p.read_bytes()).hexdigest()}.v{RECIPE_VERSION}.json" for _, p in entries(registry_dir)}
    assert {p.name for p in cache_dir.iterdir()} == expected


def test_sha256_file_is_the_checksum_of_the_bytes_for_any_size(tmp_path):
    # one helper for the image cache and the evidence manifests: files larger than its read chunk included
    for size in (0, 1, (1 << 20) - 1, (1 << 20) + 7):
        path = tmp_path / f"f{size}"
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        path.write_bytes(data)
        assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_the_evidence_writers_checksum_without_loading_the_matcher():
    # exports.evidence takes its sha256_file from the image package; importing it must stay light
    code = "import sys, exports.evidence; print(sorted(m for m in ('numpy', 'PIL', 'scipy') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    from exports.evidence import sha256_file as evidence_sha256

    assert evidence_sha256 is sha256_file


def test_processes_sharing_the_cache_can_write_the_same_entry_at_once(tmp_path):
    """Workers on one machine share the images store, so its hash cache: two writing one picture's entry at the
    same moment must both go on (a fixed temporary name let one rename the other's file away)."""
    from matchers.images import hash_image_file
    from matchers.images.cache import DiskCache

    picture = ROOT / "fixtures" / "registry" / "images" / "trail_jacket_1.jpg"
    hashes, sha = hash_image_file(picture), sha256_file(picture)
    assert errors_of_writers_at_once(lambda: DiskCache(tmp_path / "cache").put(sha, hashes), times=100) == []
    assert DiskCache(tmp_path / "cache").get(sha) == hashes
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"{sha}.v{RECIPE_VERSION}.json"]
