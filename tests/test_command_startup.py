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
