"""A local HTTP proxy in front of a socks5 proxy, so Scrapy's own requests can use one.

Scrapy's downloader speaks http(s) proxies only. For a ``socks5://user:password@host:port`` proxy the
session middleware gives each request ``meta["proxy"] = "http://ipwatch:<token>@127.0.0.1:<port>"``: a
listener of this process, bound to loopback on a port of its own, that opens every tunnel through the
socks5 proxy (the maintained ``python-socks`` client, names resolved by the socks proxy as a browser does).

- ``CONNECT host:port`` (https): the tunnel is opened through socks5, then bytes are piped both ways.
- ``GET http://host/path`` (absolute form, plain http): one request per connection, sent on in origin form.
- The listener takes only requests carrying its random token, so another local program cannot borrow the
  analyst's proxy account while a crawl runs; the token is redacted from logs like the proxy password.
- A socks proxy that refuses (wrong password, host unreachable) or does not answer within
  ``SOCKS_CONNECT_TIMEOUT`` seconds answers that request ``502`` with a reason naming the proxy, password
  redacted; Scrapy reports it as that request's failure. Nothing waits without a bound.

One event loop on its own thread per process, started with the first crawl that needs it, one listener
per socks5 proxy; the last crawl to close stops it (and process exit, should a crawl not close).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import logging
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from python_socks.async_.asyncio import Proxy

from crawlers.extensions import register_secret_values
from crawlers.sessions.proxy import redact_url

logger = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 20.0  # the socks handshake and the proxy's own connection to the platform
HEAD_TIMEOUT = 30.0  # a client that opens a connection and sends no request head
HEAD_LIMIT = 64 * 1024
START_TIMEOUT = 10.0
USER = "ipwatch"
HOP_HEADERS = ("proxy-", "connection:", "keep-alive:")


CREDENTIALS_REFUSED = "refused the credentials"  # in the 502 reason: the session middleware stops the platform


class BridgeFailure(Exception):
    """Why one tunnel could not be opened; the message names the socks proxy, password redacted."""


@dataclass
class _Route:
    """One listener: the socks5 proxy it opens tunnels through."""

    socks_url: str
    timeout: float
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    port: int = 0
    server: asyncio.AbstractServer | None = None
    failures: set[str] = field(default_factory=set)  # each distinct failure is logged once

    @property
    def label(self) -> str:
        return redact_url(self.socks_url)

    @property
    def http_url(self) -> str:
        return f"http://{USER}:{self.token}@127.0.0.1:{self.port}"


class SocksBridge:
    """The process's bridge: :meth:`acquire` a local http proxy URL for a socks5 URL, :meth:`release` it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[tuple[str, float], _Route] = {}
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()  # the clients' connections, closed at stop
        self._users = 0

    # --- lifecycle --------------------------------------------------------------------------------
    def acquire(self, socks_url: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> str:
        """The local ``http://`` proxy URL that reaches the internet through ``socks_url``."""
        with self._lock:
            if self._loop is None:
                self._start()
            key = (socks_url, timeout)
            route = self._routes.get(key)
            if route is None:
                route = _Route(socks_url, timeout)
                register_secret_values({route.token})
                future = asyncio.run_coroutine_threadsafe(self._listen(route), self._loop)
                future.result(timeout=START_TIMEOUT)
                self._routes[key] = route
                logger.info("Scrapy's requests reach the socks5 proxy %s through a local bridge on 127.0.0.1:%d",
                            route.label, route.port)
            self._users += 1
            return route.http_url

    def release(self) -> None:
        """One crawl is done with the bridge; the last one stops it."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0:
                self.stop()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="socks-bridge", daemon=True)
        self._loop = loop
        self._thread.start()

    def stop(self) -> None:
        """Close every listener and tunnel and end the bridge's thread (also at process exit)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def close_all() -> None:
            for route in self._routes.values():
                if route.server is not None:
                    route.server.close()
            for writer in list(self._writers):
                writer.close()  # the tunnels' pipes then end by themselves
            if self._tasks:
                _done, pending = await asyncio.wait(list(self._tasks), timeout=2)
                for task in pending:
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()
        self._loop, self._thread, self._routes, self._users = None, None, {}, 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def _listen(self, route: _Route) -> None:
        route.server = await asyncio.start_server(lambda r, w: self._serve(route, r, w), "127.0.0.1", 0,
                                                  limit=HEAD_LIMIT)
        route.port = route.server.sockets[0].getsockname()[1]

    # --- serving ----------------------------------------------------------------------------------
    async def _serve(self, route: _Route, reader, writer) -> None:
        self._tasks.add(asyncio.current_task())
        self._writers.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if not _authorised(route, header_lines):
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b'Proxy-Authenticate: Basic realm="ipwatch"\r\nContent-Length: 0\r\n\r\n')
                return
            try:
                if method.upper() == "CONNECT":
                    await self._tunnel(route, target, reader, writer)
                else:
                    await self._forward(route, (method, target, version), header_lines, reader, writer)
            except BridgeFailure as failure:
                self._refuse(route, writer, str(failure))
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError):
            pass  # a client that went away or sent no proper request: nothing to answer
        finally:
            self._tasks.discard(asyncio.current_task())
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    def _refuse(self, route: _Route, writer, message: str) -> None:
        if message not in route.failures:
            route.failures.add(message)
            logger.error("%s", message)
        reason = message.encode("ascii", "replace").replace(b"\r", b" ").replace(b"\n", b" ")
        writer.write(b"HTTP/1.1 502 " + reason + b"\r\nContent-Type: text/plain\r\nContent-Length: "
                     + str(len(reason)).encode() + b"\r\nConnection: close\r\n\r\n" + reason)

    async def _open(self, route: _Route, host: str, port: int):
        """A stream to ``host:port`` through the socks5 proxy, or :class:`BridgeFailure` saying why not."""
        where = f"{host}:{port}"
        try:
            proxy = Proxy.from_url(route.socks_url, rdns=True)  # the proxy resolves the platform's name
            sock = await proxy.connect(host, port, timeout=route.timeout)
            return await asyncio.open_connection(sock=sock, limit=HEAD_LIMIT)
        except ProxyTimeoutError:
            raise BridgeFailure(f"the socks5 proxy {route.label} did not open {where} within {route.timeout:g} s "
                                "(SOCKS_CONNECT_TIMEOUT)") from None
        except ProxyConnectionError as exc:
            raise BridgeFailure(f"the socks5 proxy {route.label} cannot be reached: {exc}") from None
        except ProxyError as exc:
            if "authentication" in str(exc).lower():  # a wrong password fails every request alike
                raise BridgeFailure(f"the socks5 proxy {route.label} {CREDENTIALS_REFUSED} ({exc})") from None
            raise BridgeFailure(f"the socks5 proxy {route.label} refused {where}: {exc}") from None
        except OSError as exc:
            raise BridgeFailure(f"the socks5 proxy {route.label} failed for {where}: {exc}") from None

    async def _tunnel(self, route: _Route, target: str, reader, writer) -> None:
        host, _, port = target.rpartition(":")
        upstream_reader, upstream_writer = await self._open(route, host.strip("[]"), int(port or 443))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await pipe_both(reader, writer, upstream_reader, upstream_writer)

    async def _forward(self, route: _Route, request: tuple[str, str, str], header_lines: list[str], reader,
                       writer) -> None:
        method, target, version = request
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            raise BridgeFailure(f"the local socks5 bridge takes CONNECT or http:// requests, not {method} "
                                f"{parts.scheme or target[:20]}")
        upstream_reader, upstream_writer = await self._open(route, parts.hostname, parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [line for line in header_lines if line and not line.lower().startswith(HOP_HEADERS)]
        upstream_writer.write(f"{method} {path} {version}\r\n".encode("latin-1")
                              + "".join(f"{line}\r\n" for line in [*kept, "Connection: close"]).encode("latin-1")
                              + b"\r\n")
        # one request per connection: the answer says so, and the connection ends with it
        await asyncio.gather(pipe(reader, upstream_writer), _answer_once(upstream_reader, writer))


def _authorised(route: _Route, header_lines: list[str]) -> bool:
    expected = "Basic " + base64.b64encode(f"{USER}:{route.token}".encode()).decode()
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "proxy-authorization":
            return secrets.compare_digest(value.strip(), expected)
    return False


async def _answer_once(upstream_reader, writer) -> None:
    """The upstream answer with ``Connection: close`` in its head, then the rest as it comes."""
    try:
        head = await asyncio.wait_for(upstream_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        status, *lines = head.decode("latin-1").split("\r\n")
        kept = [line for line in lines if line and not line.lower().startswith(HOP_HEADERS)]
        writer.write("\r\n".join([status, *kept, "Connection: close", "", ""]).encode("latin-1"))
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        with contextlib.suppress(Exception):
            writer.close()
        return
    await pipe(upstream_reader, writer)


async def pipe(reader, writer) -> None:
    """Copy ``reader`` to ``writer`` until either end closes, then close ``writer``."""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def pipe_both(client_reader, client_writer, upstream_reader, upstream_writer) -> None:
    """A tunnel: bytes both ways until one side closes."""
    await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))


BRIDGE = SocksBridge()
atexit.register(BRIDGE.stop)  # a crawl that never closed must not keep the process's port open
