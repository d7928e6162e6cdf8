"""Sign-in sessions on disk: one folder per sign-in and named profile under ``SESSIONS_DIR``.

    data/sessions/<sign-in>/<profile>/state.json    cookies + localStorage (Playwright's storage-state shape)
    data/sessions/<sign-in>/<profile>/meta.json     last good use, last failure, today's page count
    data/sessions/<sign-in>/<profile>/browser/      chromium's persistent profile of ``scrapy login``

Every value in these files acts as the account, so folders are ``0700`` and files ``0600``, written
atomically (a crash never leaves half a cookie file), and ``data/`` is kept out of git.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from contract.data import read_yaml

DEFAULT_DIR = "data/sessions"
DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SessionError(ValueError):
    """A session name, file or folder that cannot be used; the message says which and why."""


@lru_cache(maxsize=1)
def sign_in_data() -> dict:
    return read_yaml(Path(__file__).with_name("signins.yaml"))


def sign_in_for(platform: str) -> str:
    """``tmall`` -> ``taobao`` (one account); unknown platforms are a clear error."""
    mapping = sign_in_data()["platform_sign_in"]
    if platform not in mapping:
        raise SessionError(f"unknown platform {platform!r}; choose from {', '.join(mapping)}")
    return mapping[platform]


def sign_in_spec(sign_in: str) -> dict:
    return sign_in_data()["sign_ins"][sign_in]


def check_profile(name: str) -> str:
    if not _PROFILE_NAME.match(name or ""):
        raise SessionError(f"profile name {name!r}: use letters, digits, '_', '-' or '.' (at most 64)")
    return name


def private_dir(path: Path) -> Path:
    """``path`` and the session folders above it exist with mode 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (temporary file, then rename)."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise SessionError(f"{path}: unreadable session file ({exc}); run `scrapy session clear` and sign in again") \
            from exc


@dataclass
class Session:
    """One stored sign-in: its cookies (Playwright dicts) and its bookkeeping."""

    sign_in: str
    profile: str
    folder: Path
    cookies: list[dict] = field(default_factory=list)
    origins: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.sign_in}/{self.profile}"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    @property
    def browser_dir(self) -> Path:
        return self.folder / "browser"

    def storage_state(self) -> dict:
        return {"cookies": self.cookies, "origins": self.origins}

    def save(self) -> None:
        write_private(self.state_path, json.dumps(self.storage_state(), ensure_ascii=False, indent=1))
        self.save_meta()

    def save_meta(self) -> None:
        write_private(self.folder / "meta.json", json.dumps(self.meta, ensure_ascii=False, indent=1))

    def note(self, **values) -> None:
        """Record bookkeeping (``last_good_use``, ``last_failure``…) and write it."""
        self.meta.update(values)
        self.save_meta()

    def secret_values(self) -> set[str]:
        """Every cookie value long enough to be a credential (for log redaction)."""
        values = set()
        for cookie in self.cookies:
            value = str(cookie.get("value", ""))
            for form in (value, unquote(value), value.split("_", 1)[0]):
                if len(form) >= 6:
                    values.add(form)
        return values


class SessionStore:
    """The sessions folder (``SESSIONS_DIR``, default ``data/sessions``)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or DEFAULT_DIR)

    @classmethod
    def from_settings(cls, settings) -> SessionStore:
        return cls(settings.get("SESSIONS_DIR") or DEFAULT_DIR)

    def folder(self, sign_in: str, profile: str) -> Path:
        return self.root / sign_in / check_profile(profile)

    def profiles(self, sign_in: str) -> list[str]:
        """Profiles with a saved state, ``default`` first, then by name."""
        base = self.root / sign_in
        if not base.is_dir():
            return []
        names = sorted(p.name for p in base.iterdir() if (p / "state.json").is_file())
        return sorted(names, key=lambda name: name != DEFAULT_PROFILE)

    def load(self, sign_in: str, profile: str = DEFAULT_PROFILE) -> Session | None:
        folder = self.folder(sign_in, profile)
        state = _read_json(folder / "state.json", None)
        if state is None:
            return None
        if not isinstance(state, dict) or not isinstance(state.get("cookies", []), list):
            raise SessionError(f"{folder / 'state.json'}: not a session state (no cookie list)")
        meta = _read_json(folder / "meta.json", {})
        return Session(sign_in, profile, folder, list(state.get("cookies") or []), list(state.get("origins") or []),
                       meta if isinstance(meta, dict) else {})

    def create(self, sign_in: str, profile: str = DEFAULT_PROFILE) -> Session:
        """The stored session, or an empty one in a new private folder."""
        existing = self.load(sign_in, profile)
        if existing is not None:
            return existing
        folder = private_dir(self.folder(sign_in, profile))
        private_dir(self.root)
        private_dir(self.root / sign_in)
        return Session(sign_in, profile, folder, meta={"created": utc_iso()})

    def all(self) -> list[Session]:
        sessions = []
        for sign_in in sign_in_data()["sign_ins"]:
            for profile in self.profiles(sign_in):
                session = self.load(sign_in, profile)
                if session is not None:
                    sessions.append(session)
        return sessions

    def clear(self, sign_in: str, profile: str = DEFAULT_PROFILE) -> bool:
        folder = self.folder(sign_in, profile)
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True


def utc_iso(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
