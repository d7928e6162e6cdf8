"""The options several commands share say the same thing in every command."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import pytest
from scrapy.exceptions import UsageError

from crawlers.command_options import chosen_platforms, day_option
from tests.conftest import DEMO_REGISTRY, ROOT, SCRAPY, scrapy_env


def test_platforms_are_read_trimmed_and_an_unknown_one_names_the_choices():
    assert chosen_platforms(" taobao , 1688,") == ["taobao", "1688"]
    assert chosen_platforms(None) == []
    with pytest.raises(UsageError, match=r"unknown platform\(s\) ebay; choose from taobao, tmall, 1688, alibaba"):
        chosen_platforms("taobao,ebay")


def test_a_day_is_written_as_iso_and_defaults_to_today_in_utc():
    assert day_option("2026-12-01", "--date") == date(2026, 12, 1)
    assert day_option(None, "--date") == datetime.now(UTC).date()
    with pytest.raises(UsageError, match=r"--as-of '1/12/2026': write it as 2026-12-01"):
        day_option("1/12/2026", "--as-of")


@pytest.mark.parametrize(("command", "option", "value", "said"), [
    ("ipr-check", "--platforms", "ebay", "--platforms: unknown platform(s) ebay"),
    ("ipr-check", "--date", "tomorrow", "--date 'tomorrow': write it as 2026-12-01"),
    ("standing", "--as-of", "x", "--as-of 'x': write it as 2026-12-01"),
])
def test_a_bad_shared_option_is_exit_2_with_the_same_words_in_every_command(tmp_path, command, option, value, said):
    done = subprocess.run([SCRAPY, command, "--registry", str(DEMO_REGISTRY), option, value, "--store",
                           f"sqlite:///{tmp_path / 's.db'}"] if command == "standing" else
                          [SCRAPY, command, "--registry", str(DEMO_REGISTRY), option, value],
                          cwd=ROOT, env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and said in done.stderr, done.stderr[-2000:]


def test_each_command_shows_its_usage_line_and_summary():
    done = subprocess.run([SCRAPY, "-h"], cwd=ROOT, env=scrapy_env(), capture_output=True, text=True, timeout=120)
    assert "complaints    Build IPP complaint batches and evidence from a reviewed review.csv" in done.stdout
    assert "monitor       Run every spider for a registry's watch list" in done.stdout
    usage = subprocess.run([SCRAPY, "match", "-h"], cwd=ROOT, env=scrapy_env(), capture_output=True, text=True,
                           timeout=120)
    assert "scrapy match --registry REG [--images-store DIR] INPUT.jsonl -o OUTPUT.(jsonl|csv)" in usage.stdout
