"""Registry inputs that used to load wrongly or crash: impossible dates, duplicate keys, product photos that are
missing, not images or outside the registry's folder. Each is refused when the registry is loaded, with the key
path (and line), never a traceback and never any byte of the file named (tests/test_registry_yaml.py,
tests/test_registry_photos.py); here, every command exits 2 (RELIABILITY.md, "Registry inputs")."""

from __future__ import annotations

import subprocess

import pytest

from registry import load_registry
from tests.conftest import SCRAPY, scrapy_env
from tests.registry_inputs import REGISTRY, SECRET, registry_at
from tests.test_reliability_registry import _command


def test_the_good_registry_of_these_tests_loads(tmp_path):
    registry = load_registry(registry_at(tmp_path))
    assert registry.product("trail-jacket").images[0].name == "jacket.png"


# --- every command ----------------------------------------------------------------------------------------

CASES = {
    "impossible-date": ({"valid_until": "2031-13-45"}, "trademarks[0].valid_until: not a date: 2031-13-45"),
    "duplicate-key": ({"text": "duplicate"}, "products: duplicate key (lines 11 and 16)"),
    "photo-outside": ({"image": "../" * 30 + "etc/passwd"}, "products[0].images[0]: outside the registry's folder"),
    "photo-not-an-image": ({"image": "notes.png"}, "products[0].images[0]: not an image"),
}


@pytest.mark.parametrize("kind", ["crawl", "monitor", "match", "complaints"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_command_refuses_the_registry_with_exit_code_2_and_the_key_path(tmp_path, kind, case):
    options, message = CASES[case]
    if options.get("text") == "duplicate":
        text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
        options = {"text": text + "products:\n  - {id: other, name: Other}\n"}
    registry = registry_at(tmp_path, **options)
    (registry.parent / "notes.png").write_text(SECRET, encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    run = subprocess.run([SCRAPY, *_command(kind, registry, workdir)], cwd=workdir, env=scrapy_env(),
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-3000:]
    assert message in output and str(registry) in output
    assert "Traceback" not in output and SECRET not in output and "root:x:" not in output
    assert not {"out.jsonl", "reports", "scored.jsonl", "complaints"} & {p.name for p in workdir.iterdir()}
