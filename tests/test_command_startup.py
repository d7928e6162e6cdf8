"""Every `scrapy` invocation imports every command module to list them (scrapy.cmdline), so a command module
imports its heavy machinery inside its ``run``: `scrapy crawl`, `scrapy session status` or `scrapy --help` do not
pay for the filing step, the scorer, the database layer or the OCR engine."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, scrapy_env

HEAVY = ("exports", "matchers", "sqlalchemy", "openpyxl", "numpy", "scipy", "pandas", "pypinyin", "playwright",
         "onnxruntime", "rapidocr_onnxruntime", "cv2", "starlette", "uvicorn", "redis", "matplotlib")

LIST_COMMANDS = """
import json, sys
from scrapy.cmdline import _get_commands_dict
from scrapy.utils.project import get_project_settings
commands = _get_commands_dict(get_project_settings(), inproject=True)
print(json.dumps({"commands": sorted(commands), "modules": sorted(sys.modules)}))
"""


def test_listing_the_commands_imports_none_of_the_heavy_packages():
    done = subprocess.run([sys.executable, "-c", LIST_COMMANDS], cwd=ROOT, env=scrapy_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert {"monitor", "complaints", "match", "review", "session", "worker", "cases"} <= set(seen["commands"])
    loaded = {name.split(".")[0] for name in seen["modules"]}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


LOAD_EXTENSIONS = """
import json, sys
from scrapy import Spider
from scrapy.extension import ExtensionManager
from scrapy.utils.project import get_project_settings
from scrapy.utils.reactor import install_reactor
from scrapy.utils.test import get_crawler
settings = get_project_settings()
install_reactor(settings["TWISTED_REACTOR"])
manager = ExtensionManager.from_crawler(get_crawler(Spider, settings.copy_to_dict()))
print(json.dumps({"extensions": [f"{type(e).__module__}.{type(e).__name__}" for e in manager.middlewares],
                  "modules": sorted(sys.modules)}))
"""


def test_a_crawl_neither_loads_nor_imports_scrapys_remote_control():
    """Scrapy's remote control runs Python sent to it over HTTP; a crawl holding sign-in cookies must not have
    it, nor pay for importing it and aiohttp."""
    done = subprocess.run([sys.executable, "-c", LOAD_EXTENSIONS], cwd=ROOT, env=scrapy_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert "crawlers.extensions.LogRedaction" in seen["extensions"]
    assert "scrapy.extensions.corestats.CoreStats" in seen["extensions"]  # Scrapy's own extensions are still there
    assert not any("remote_control" in name for name in seen["extensions"] + seen["modules"])
    assert "aiohttp" not in {name.split(".")[0] for name in seen["modules"]}
