"""The ASGI application: JSON-RPC over HTTP POST ``/`` and WebSocket, ``GET /health``.

Theory of operation
-------------------
hypercorn (trio worker) parses HTTP and WebSocket and calls ``RpcApp`` with
an ASGI scope. Three kinds of scope:

* ``http``: ``POST /`` carries one JSON-RPC body of at most
  ``max_body_bytes`` (refused with 413 and a -32600 body, counted while
  reading, not trusted from Content-Length), with ``Content-Type:
  application/json`` (a browser cannot send that cross-origin without a CORS
  preflight, which is refused unless the origin is configured). ``GET
  /health`` answers 200 JSON for container health checks. With
  ``config.explorer`` on, ``GET /explorer/...`` serves the web explorer's
  built files (docs/explorer.md): only regular files under its directory,
  no dot segments (so no ``..`` nor hidden files), a fixed table of content
  types, immutable caching for Vite's hashed ``assets/`` and revalidation
  (ETag) for the rest, and a strict Content-Security-Policy. Anything else
  is 404/405 with a JSON body.
* ``websocket``: a browser ``Origin`` must be configured, or, with the
  explorer on, be the page's own origin (``http://`` + the ``Host`` header)
  on a numeric or ``localhost`` host: a DNS-rebinding page has a domain name
  of its own, so it is still refused. Connections beyond
  ``max_ws_connections`` are accepted then closed with 1013 "try again
  later". Each text message is one request or batch; replies and
  subscription notifications share one bounded queue drained by a writer
  task (``rpc.subscriptions``).
* ``lifespan``: acknowledged.

Limits against abuse (docs/rpc.md, "Limits and isolation"): HTTP requests in
progress plus open WebSockets are counted against ``max_connections``
(``rpc.limits.ConnectionGate``; beyond it: 503 and ``Connection: close``, or
WebSocket close 1013); a body must arrive whole within ``body_timeout_s``
(else 408 and the connection is closed; hypercorn's ``read_timeout`` closes
any connection silent for ``read_timeout_s``, and pings WebSockets every
``ws_ping_interval_s`` so that a live client's pongs keep it open); every
connection, and each client address, has a token bucket of cost units
(-32005 "rate limited").

No exception escapes to hypercorn (which would answer a bare 500): the
dispatcher already maps method failures to -32603, and this layer catches
what is left, logs it and answers -32603.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import structlog
import trio

from rpc import errors
from rpc.backend import RpcBackend
from rpc.config import RpcConfig
from rpc.dispatch import Dispatcher, error_reply
from rpc.errors import RpcError
from rpc.jsonio import dumps
from rpc.limits import BucketTable, ConnectionGate, RateLimit, TokenBucket
from rpc.registry import MethodRegistry
from rpc.subscriptions import Session

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = structlog.get_logger("rpc")

JSON_HEADERS: Final = [(b"content-type", b"application/json")]
WS_TRY_AGAIN_LATER: Final = 1013
WS_POLICY_VIOLATION: Final = 1008

EXPLORER_PREFIX: Final = "/explorer/"
DEFAULT_EXPLORER_DIR: Final = Path(__file__).resolve().parent.parent / "explorer" / "dist"
STATIC_TYPES: Final = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".json": b"application/json",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
    ".txt": b"text/plain; charset=utf-8",
    ".woff2": b"font/woff2",
}
EXPLORER_HEADERS: Final = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
IMMUTABLE: Final = b"public, max-age=31536000, immutable"  # Vite names assets by content hash


def explorer_file(root: Path, path: str) -> Path | None:
    """The regular file under ``root`` that ``/explorer/<rel>`` names, or None if refused.

    ``path`` is the ASGI path, already percent-decoded: ``%2e%2e`` arrives as
    ``..`` and is refused here like a literal one.
    """
    rel = path.removeprefix(EXPLORER_PREFIX) or "index.html"
    if "\\" in rel or "\x00" in rel:
        return None
    parts = rel.split("/")
    if any(part == "" or part.startswith(".") for part in parts):
        return None
    if Path(parts[-1]).suffix.lower() not in STATIC_TYPES:
        return None
    try:
        base = root.resolve(strict=True)
        found = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not found.is_relative_to(base) or not found.is_file():  # a symlink out of root
        return None
    return found


def _loopback_or_literal(host: str) -> bool:
    """``Host`` header names ``localhost`` or an IP literal (with an optional port)."""
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class _ClientGone(Exception):
    """The HTTP client disconnected before sending its whole body."""


class _BodyTimeout(Exception):
    """The HTTP body did not arrive whole within ``body_timeout_s``."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RpcApp:
    """ASGI callable serving a ``MethodRegistry`` over a backend."""

    def __init__(self, registry: MethodRegistry, backend: RpcBackend, config: RpcConfig) -> None:
        self.config = config
        self.backend = backend
        self.dispatcher = Dispatcher(registry, backend, config)
        self.ws_connections = 0
        self.gate = ConnectionGate(config.max_connections)
        entries = max(1024, 4 * config.max_connections)
        self.http_buckets = BucketTable(config.rate_limit_per_s, config.rate_limit_burst, entries)
        self.ip_buckets = BucketTable(
            config.rate_limit_per_ip_s, config.rate_limit_per_ip_burst, entries, "this address"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # ------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------- HTTP

    def _cors_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not self.config.origin_allowed(origin):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]

    async def _respond(
        self,
        send: Send,
        status: int,
        body: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        payload = body.encode("utf-8")
        headers = [*JSON_HEADERS, (b"content-length", str(len(payload)).encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.gate.enter():
            reply = error_reply(
                None,
                RpcError(
                    errors.INVALID_REQUEST,
                    data=f"server busy: {self.gate.limit} connections in progress; retry later",
                ),
            )
            await self._respond(send, 503, reply, [(b"connection", b"close")])
            return
        try:
            await self._http_request(scope, receive, send)
        finally:
            self.gate.leave()

    def _address_bucket(self, scope: Scope) -> TokenBucket:
        client = scope.get("client")
        host = client[0] if isinstance(client, (list, tuple)) and client else None
        return self.ip_buckets.bucket(host)

    def _http_limit(self, scope: Scope) -> RateLimit:
        client = scope.get("client")
        key = tuple(client) if isinstance(client, (list, tuple)) else None
        return RateLimit(self.http_buckets.bucket(key), self._address_bucket(scope))

    async def _http_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, verb = scope.get("path", "/"), scope.get("method", "GET")
        origin = _header(scope, b"origin")
        if path == "/health" and verb in ("GET", "HEAD"):
            await self._health(send)
            return
        if self.config.explorer and (path == "/explorer" or path.startswith(EXPLORER_PREFIX)):
            await self._explorer(scope, send, path, verb)
            return
        if path != "/":
            await self._respond(send, 404, dumps({"error": f"no such path {path[:100]!r}"}))
            return
        if verb == "OPTIONS":
            await self._preflight(send, origin)
            return
        if verb != "POST":
            await self._respond(
                send, 405, error_reply(None, errors.invalid_request("use POST for JSON-RPC"))
            )
            return
        if not self._origin_ok(scope, origin):
            await self._respond(
                send, 403, error_reply(None, errors.invalid_request("origin not allowed"))
            )
            return
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            await self._respond(
                send,
                415,
                error_reply(None, errors.invalid_request("Content-Type must be application/json")),
            )
            return
        cors = self._cors_headers(origin)
        try:
            body = await self._read_body(receive)
        except _ClientGone:
            return
        except _BodyTimeout:
            timeout = self.config.body_timeout_s
            log.info("rpc request body too slow, closing", timeout_s=timeout)
            reply = error_reply(
                None, errors.invalid_request(f"request body not received within {timeout:g} s")
            )
            await self._respond(send, 408, reply, [*cors, (b"connection", b"close")])
            return
        if body is None:
            limit = self.config.max_body_bytes
            reply = error_reply(
                None, errors.invalid_request(f"request body exceeds the limit of {limit} bytes")
            )
            await self._respond(send, 413, reply, [*cors, (b"connection", b"close")])
            return
        try:
            reply_text = await self.dispatcher.handle(body, None, self._http_limit(scope))
        except Exception:
            log.exception("rpc request failed")
            reply_text = error_reply(None, RpcError(errors.INTERNAL_ERROR))
        if reply_text is None:  # notifications only: nothing to say
            await send({"type": "http.response.start", "status": 204, "headers": cors})
            await send({"type": "http.response.body", "body": b""})
            return
        await self._respond(send, 200, reply_text, cors)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it exceeds the limit; ``_BodyTimeout`` if slow."""
        chunks: list[bytes] = []
        size = 0
        deadline = trio.current_time() + self.config.body_timeout_s
        while True:
            message: Message | None = None
            with trio.move_on_at(deadline):
                message = await receive()
            if message is None:
                raise _BodyTimeout
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.config.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _preflight(self, send: Send, origin: str | None) -> None:
        if origin is None or not self.config.origin_allowed(origin):
            await self._respond(send, 403, dumps({"error": "origin not allowed"}))
            return
        headers = [
            *self._cors_headers(origin),
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", b"content-type"),
            (b"access-control-max-age", b"600"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _origin_ok(self, scope: Scope, origin: str | None) -> bool:
        """No Origin (not a browser), a configured one, or the explorer's own page."""
        if origin is None or self.config.origin_allowed(origin):
            return True
        host = _header(scope, b"host")
        return (
            self.config.explorer
            and host is not None
            and origin in (f"http://{host}", f"https://{host}")
            and _loopback_or_literal(host)
        )

    async def _explorer(self, scope: Scope, send: Send, path: str, verb: str) -> None:
        if verb not in ("GET", "HEAD"):
            await self._respond(send, 405, dumps({"error": "the explorer is read with GET"}))
            return
        if path == "/explorer":
            headers = [(b"location", EXPLORER_PREFIX.encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 308, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        found = explorer_file(self.config.explorer_dir or DEFAULT_EXPLORER_DIR, path)
        if found is None:
            await self._respond(send, 404, dumps({"error": f"no such file {path[:100]!r}"}))
            return
        body = found.read_bytes()  # small files in the page cache: not worth a thread
        etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'.encode()
        cache = IMMUTABLE if path.startswith(EXPLORER_PREFIX + "assets/") else b"no-cache"
        headers = [
            (b"content-type", STATIC_TYPES[found.suffix.lower()]),
            (b"cache-control", cache),
            (b"etag", etag),
            *EXPLORER_HEADERS,
        ]
        if (_header(scope, b"if-none-match") or "").encode() == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if verb == "HEAD" else body})

    async def _health(self, send: Send) -> None:
        try:
            health = self.backend.health()
            best = self.backend.best_hash()
            header = self.backend.header(best)
        except Exception:
            log.exception("health check failed")
            await self._respond(send, 503, dumps({"status": "unavailable"}))
            return
        body = {
            "status": "ok",
            "peers": health.peers,
            "isSyncing": health.is_syncing,
            "bestHeight": None if header is None else header.height,
        }
        await self._respond(send, 200, dumps(body))

    # ------------------------------------------------------------- WebSocket

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        if not self._origin_ok(scope, _header(scope, b"origin")):
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
            return
        await send({"type": "websocket.accept"})
        if self.ws_connections >= self.config.max_ws_connections:
            await send(
                {
                    "type": "websocket.close",
                    "code": WS_TRY_AGAIN_LATER,
                    "reason": "too many WebSocket connections",
                }
            )
            return
        if not self.gate.enter():
            await send(
                {
                    "type": "websocket.close",
                    "code": WS_TRY_AGAIN_LATER,
                    "reason": "server busy: too many connections",
                }
            )
            return
        self.ws_connections += 1
        try:
            await self._serve_websocket(receive, send, self._address_bucket(scope))
        finally:
            self.ws_connections -= 1
            self.gate.leave()

    async def _serve_websocket(self, receive: Receive, send: Send, address: TokenBucket) -> None:
        outgoing, queued = trio.open_memory_channel[str](self.config.ws_send_queue)
        own = TokenBucket(self.config.rate_limit_per_s, self.config.rate_limit_burst)
        bucket = RateLimit(own, address)
        session: Session | None = None
        async with trio.open_nursery() as nursery:
            session = Session(nursery, outgoing, self.config.max_subscriptions_per_connection)
            writer_done = trio.Event()
            nursery.start_soon(self._ws_writer, queued, send, writer_done)
            nursery.start_soon(self._watch_overflow, session, nursery)
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    break
                text = message.get("text")
                data = text if text is not None else message.get("bytes") or b""
                try:
                    reply = await self.dispatcher.handle(data, session, bucket)
                except Exception:
                    log.exception("rpc websocket request failed")
                    reply = error_reply(None, RpcError(errors.INTERNAL_ERROR))
                if reply is not None and not session.send(reply):
                    break
                session.release_pending()
            outgoing.close()
            with trio.move_on_after(1):  # let the writer flush what is queued
                await writer_done.wait()
            nursery.cancel_scope.cancel()
        if session is not None and session.overflowed.is_set():
            await send(
                {
                    "type": "websocket.close",
                    "code": WS_POLICY_VIOLATION,
                    "reason": (
                        f"client too slow: {self.config.ws_send_queue} messages "
                        "queued unread (rpc.ws_send_queue)"
                    ),
                }
            )

    async def _watch_overflow(self, session: Session, nursery: trio.Nursery) -> None:
        await session.overflowed.wait()
        nursery.cancel_scope.cancel()

    async def _ws_writer(
        self, queued: trio.MemoryReceiveChannel[str], send: Send, done: trio.Event
    ) -> None:
        try:
            async for text in queued:
                await send({"type": "websocket.send", "text": text})
        finally:
            done.set()
