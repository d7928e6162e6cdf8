"""HOST_MAP: a live crawl's names resolved from a map (crawlers/resolver.py), and the same map for chromium."""

from __future__ import annotations

import json
import subprocess

import pytest
from scrapy.exceptions import UsageError
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.test import get_crawler
from twisted.internet import reactor

from crawlers.browser import BACKGROUND_HOSTS, BROWSER_ARGS, browser_args
from crawlers.resolver import HostMapResolver, mapped_address, parse_host_map
from crawlers.spiders.render import chromium_launch_options
from fixtures.double import PlatformDouble
from tests.conftest import SCRAPY, run_crawl, scrapy_env


def test_host_globs_map_names_in_order_and_leave_others_alone():
    host_map = parse_host_map('{"*.taobao.com": "127.83.0.1", "*": "127.0.0.9"}')
    assert mapped_address(host_map, "H5API.m.taobao.com.") == "127.83.0.1"
    assert mapped_address(host_map, "example.org") == "127.0.0.9"
    assert mapped_address(parse_host_map('{"*.taobao.com": "127.83.0.1"}'), "taobao.com") is None


@pytest.mark.parametrize(("raw", "says"), [
    ("{bad", "HOST_MAP: not JSON"),
    ('["*.taobao.com"]', "must be a map of host glob to IP address, not list"),
    ('{"*.taobao.com": "localhost"}', "'*.taobao.com' maps to 'localhost', which is not an IP address"),
])
def test_a_malformed_host_map_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(UsageError, match=says.replace("[", r"\[").replace("*", r"\*")):
        parse_host_map(raw)


def test_a_crawl_with_a_malformed_host_map_stops_before_crawling_and_says_why(tmp_path):
    run = subprocess.run([SCRAPY, "crawl", "alibaba", "-a", "query=x", "-s", "HOST_MAP={bad", "-s", "STORE_URL="],
                         cwd=tmp_path, env=scrapy_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "HOST_MAP: not JSON" in run.stderr


def test_without_a_host_map_the_resolver_is_scrapys_own():
    resolver = HostMapResolver.from_crawler(get_crawler(), reactor)
    assert type(resolver) is CachingThreadedResolver
    mapped = HostMapResolver.from_crawler(get_crawler(settings_dict={"HOST_MAP": {"*.x.com": "127.0.0.5"}}), reactor)
    assert isinstance(mapped, HostMapResolver) and mapped.host_map == {"*.x.com": "127.0.0.5"}


def test_host_map_from_the_environment_points_a_crawl_at_the_double(tmp_path, monkeypatch):
    with PlatformDouble() as double:
        monkeypatch.setenv("HOST_MAP", json.dumps(double.host_map))
        result = run_crawl(tmp_path, "alibaba", "-a", "query=LUMORA 冲锋衣", replay=None,
                           settings={"AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0", "ITEM_PIPELINES": "{}"})
        assert result.returncode == 0 and result.items, result.log[-2000:]
        assert double.requests(host="www.alibaba.com")


def test_browser_args_merge_the_map_into_the_one_resolver_rule_and_keep_google_unresolvable():
    args = browser_args(BROWSER_ARGS, {"*.taobao.com": "127.83.0.1"}, ["c3BraQ=="])
    rules = [a for a in args if a.startswith("--host-resolver-rules=")]
    assert len(rules) == 1
    for host in BACKGROUND_HOSTS:
        assert f"MAP {host} ~NOTFOUND" in rules[0]
    assert "MAP *.taobao.com 127.83.0.1" in rules[0] and rules[0].endswith("EXCLUDE localhost")
    assert "--ignore-certificate-errors-spki-list=c3BraQ==" in args
    assert "--no-sandbox" in args
    assert browser_args(BROWSER_ARGS) == list(BROWSER_ARGS)  # no map, no trust: the flags as before


def test_the_rendering_browser_gets_the_crawls_host_map_and_nothing_extra_without_one():
    with_map = get_crawler(settings_dict={"HOST_MAP": '{"*.1688.com": "127.83.0.2"}'}).settings
    assert any("MAP *.1688.com 127.83.0.2" in a for a in chromium_launch_options(with_map)["args"])
    plain = chromium_launch_options(get_crawler().settings)["args"]
    assert not any("spki" in a or "127.83" in a for a in plain)
