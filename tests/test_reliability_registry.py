"""A registry that is malformed, hostile or missing stops every command with a message naming the file
and exit code 2; nothing is crawled and no report is written (RELIABILITY.md, "Registry")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from registry import RegistryError, load_registry
from tests.conftest import CASSETTES, DEMO_REGISTRY, SCRAPY, scrapy_env

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]" for i in range(1, 10)]
) + "\n"
BAD_REGISTRIES = {
    "billion-laughs": BILLION_LAUGHS,
    "python-object": "rights_holder: !!python/object/apply:os.system ['touch PWNED']\ntrademarks: []\n",
    "python-name": "rights_holder: !!python/name:os.system\ntrademarks: []\n",
    "not-yaml": "rights_holder: [unclosed\n  - {\n",
    "empty": "",
    "a-list": "- just\n- a list\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    "unknown-key": "rights_holder: {name: X, contact_email: a@b.c}\ntrademarks: []\ncolour: blue\n",
    "huge-key": "rights_holder: {name: X, contact_email: a@b.c}\n" + "k" * 200_000 + ": 1\n",
}


def _write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    content = BAD_REGISTRIES[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("name", sorted(BAD_REGISTRIES))
def test_each_malformed_registry_is_one_clear_error_naming_the_file(tmp_path, name):
    path = _write(tmp_path, name)
    with pytest.raises(RegistryError) as error:
        load_registry(path)
    assert str(path) in str(error.value)
    assert len(str(error.value)) < 5_000  # a message a person can read, not the document echoed back
    assert not (tmp_path / "PWNED").exists()


def test_a_missing_registry_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match=r"cannot read registry"):
        load_registry(tmp_path / "does-not-exist.yaml")


def test_a_folder_given_as_the_registry_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match=r"registry"):
        load_registry(tmp_path)


def _command(kind: str, registry: Path, workdir: Path) -> list[str]:
    if kind == "crawl":
        return ["crawl", "taobao", "-a", f"registry={registry}", "-s", f"REPLAY_DIR={CASSETTES}", "-s", "STORE_URL=",
                "-O", str(workdir / "out.jsonl")]
    if kind == "monitor":
        return ["monitor", "--registry", str(registry), "--replay", str(CASSETTES), "--platforms", "taobao",
                "--out", str(workdir / "reports"), "--store", f"sqlite:///{workdir / 'store.db'}", "--no-progress"]
    if kind == "match":
        (workdir / "in.jsonl").write_text("", encoding="utf-8")
        return ["match", "--registry", str(registry), "--images-store", str(workdir), str(workdir / "in.jsonl"),
                "-o", str(workdir / "scored.jsonl")]
    review = workdir / "review.csv"
    review.write_text("decision,platform,listing_id\n", encoding="utf-8")
    (workdir / "listings.jsonl").write_text("", encoding="utf-8")
    return ["complaints", "--registry", str(registry), "--review", str(review), "--out", str(workdir / "complaints"),
            "--no-evidence"]


@pytest.mark.parametrize("kind", ["crawl", "monitor", "match", "complaints"])
@pytest.mark.parametrize("name", ["billion-laughs", "python-object"])
def test_every_command_refuses_a_hostile_registry_with_exit_code_2_and_writes_nothing(tmp_path, kind, name):
    registry = _write(tmp_path, name)
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = set(workdir.iterdir())
    run = subprocess.run([SCRAPY, *_command(kind, registry, workdir)], cwd=workdir, env=scrapy_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout[-1500:] + run.stderr[-1500:]
    assert registry.name in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    created = {p.name for p in set(workdir.iterdir()) - before}
    assert not created & {"out.jsonl", "reports", "scored.jsonl", "complaints"}, created
    assert not (workdir / "PWNED").exists() and not (tmp_path / "PWNED").exists()


def test_the_demo_registry_still_loads():
    assert load_registry(DEMO_REGISTRY).trademarks
