"""Start the workbench: pick the run, make the token, print the URL, open the browser, serve until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Any

from workbench.app import Config, create_app
from workbench.dashboard import registry_runs
from workbench.security import is_loopback


class ReviewError(ValueError):
    """Nothing to review (no such run); the message says what to do."""


def pick_run(store: Any, registry: Any, run_id: str | None) -> str:
    runs = registry_runs(store, registry)
    if run_id:
        if store.run(run_id) is None:
            raise ReviewError(f"--run {run_id}: no such run in the store")
        return run_id
    if not runs:
        raise ReviewError(f"no run of {registry.path} in the store yet: run `scrapy monitor` first")
    return runs[-1]["run_id"]


def workbench_url(host: str, port: int, token: str | None, *, shown: str | None = None) -> str:
    """The address to open; on every interface (0.0.0.0, ::) this machine's own loopback, unless ``shown``."""
    shown = shown or ("127.0.0.1" if host in ("0.0.0.0", "::") else host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/queue" + (f"?token={token}" if token else "")


def serve(store: Any, registry: Any, *, store_url: str, run_id: str | None, host: str, port: int, reviewer: str,
          images_store: Path, out: Path, replay: str | None, open_browser: bool) -> None:
    import uvicorn

    run = pick_run(store, registry, run_id)
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    config = Config(store_url=store_url, registry=registry, run_id=run, host=host, port=port, reviewer=reviewer,
                    token=token, images_store=images_store, complaints_root=out, replay=replay)
    app = create_app(config, store)
    listening = _bind(host, port)  # before the URL is printed: a taken port must not print a dead address
    url = workbench_url(host, port, token)
    print(f"review: run {run}; open {url}", flush=True)
    if token:
        if host in ("0.0.0.0", "::"):
            print(f"review: from another machine: {workbench_url(host, port, token, shown=socket.gethostname())}",
                  flush=True)
        print("review: listening beyond this machine: every request needs that token", flush=True)
    if open_browser and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"):
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    server.run(sockets=[listening])


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket; OSError (e.g. the port is taken by another workbench) says why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host.strip("[]"), port))
    except OSError:
        listening.close()
        raise
    listening.listen(128)
    return listening
