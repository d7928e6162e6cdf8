"""The ``--store`` option, shared by every ipwatch command that reads or writes the store.

Which store a command uses, first match wins:

1. ``--store URL`` on the command line;
2. the ``STORE_URL`` setting (``-s STORE_URL=…``, or the ``STORE_URL`` environment variable, which
   ``crawlers/settings.py`` reads);
3. ``sqlite:///data/monitor.db``.

A relative SQLite path is taken relative to the **project folder**, the folder holding ``scrapy.cfg``
(Scrapy finds it by walking up from the current folder), and not relative to the folder the command
happens to be run in: ``scrapy monitor`` run from the project and ``scrapy complaints`` run from
``reports/`` then use one and the same ``data/monitor.db``. Without a ``scrapy.cfg`` (the project
named by ``SCRAPY_SETTINGS_MODULE`` only) the current folder is the base. Absolute paths, ``:memory:``
and server URLs (``postgresql://…``) are used as given.

Every command says on stderr which store it uses, password hidden: ``store: sqlite:////srv/ipwatch/data/monitor.db``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

DEFAULT_STORE_URL = "sqlite:///data/monitor.db"
STORE_HELP = (
    "store URL (default: the STORE_URL setting or environment variable, else sqlite:///data/monitor.db); "
    "a relative SQLite path is relative to the project folder (where scrapy.cfg is); empty: no store"
)


def add_store_option(parser: argparse.ArgumentParser, help_text: str = STORE_HELP) -> None:
    """Add ``--store URL`` to a command's options."""
    parser.add_argument("--store", metavar="URL", default=None, help=help_text)


def project_folder() -> Path:
    """The folder holding the project's ``scrapy.cfg``, else the current folder."""
    from scrapy.utils.conf import closest_scrapy_cfg

    found = closest_scrapy_cfg()
    return Path(found).resolve().parent if found else Path.cwd().resolve()


def absolute_store_url(url: str, base: str | Path | None = None) -> str:
    """``url`` with a relative SQLite path made absolute against ``base`` (the project folder)."""
    if not url or not url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = Path(base) if base is not None else project_folder()
        path = path / database
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def resolve_store_url(option: str | None, settings: Any = None) -> str:
    """The store a command uses: ``--store`` > ``STORE_URL`` setting/environment > the default,
    made absolute (see the module docstring). An empty string means "no store"."""
    if option is not None:
        url = option
    elif settings is not None and settings.get("STORE_URL") is not None:
        url = settings.get("STORE_URL")
    else:
        url = os.environ.get("STORE_URL", DEFAULT_STORE_URL)
    return absolute_store_url(str(url).strip())


def redact_store_url(url: str | None) -> str:
    """A store URL fit for logs and reports: the password replaced by ``***``."""
    if not url:
        return ""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: hide everything between :// and @
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else url


def announce_store(url: str, command: str, stream: TextIO | None = None) -> None:
    """Say on stderr which store this command uses (or that it uses none)."""
    shown = redact_store_url(url) if url else "none (STORE_URL is empty)"
    print(f"{command}: store: {shown}", file=stream or sys.stderr)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store URL (None for other stores and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
