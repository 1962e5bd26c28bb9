"""JSON-RPC over HTTP as an attacker sends it: batches, closed loops, counted replies.

Theory of operation
-------------------
Everything here is a trio coroutine bounded in time (a ``stop_at`` on the
monotonic clock) and in count, and talks to 127.0.0.1 only, from the
attacker's own source addresses (``attacker_sources``).

Every reply is a *measurement*: ``Tally`` counts outcomes by a short label
(``ok``, ``error 1010 cannot pay fee``, ``http 429``, ``connection closed``,
``timeout``, ``unanswered at the end``), and the bytes the node sent back. A
reply is read as a stream and dropped as it comes (only its first
``PARSE_LIMIT`` bytes are parsed), so a reply of hundreds of megabytes costs
the runner no memory.

The connection bounds (``CONNECT_TIMEOUT_S``, ``QUICK_CLOSE_S``) are shared
with the held connections of ``attack_squat``.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import trio

PARSE_LIMIT = 1 << 20  # a reply larger than this is counted, not parsed
CONNECT_TIMEOUT_S = 3.0
QUICK_CLOSE_S = 1.0  # a connection closed sooner waits this long before it is reopened
_CODE = re.compile(rb'"code"\s*:\s*(-?\d+)')


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    bytes_out: int = 0
    bytes_in: int = 0

    def add(self, label: str, count: int = 1) -> None:
        self.outcomes[label] += count

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "outcomes": dict(self.outcomes.most_common()),
        }


def batch_body(method: str, params: list[Any], count: int) -> bytes:
    calls = [{"jsonrpc": "2.0", "id": i, "method": method, "params": params} for i in range(count)]
    return json.dumps(calls, separators=(",", ":")).encode()


def _label_reply(status: int, head: bytes, complete: bool, tally: Tally) -> list[Any] | None:
    """Count one reply's outcome(s); the parsed batch items when the reply was parsed."""
    prefix = f"http {status} " if status != 200 else ""
    if not complete:
        code = _CODE.search(head[:4096])
        if head.lstrip().startswith(b"[") and status == 200:
            tally.add("ok (reply too large to parse)")
        else:
            tally.add(f"{prefix}error {code.group(1).decode()}" if code else f"{prefix}large reply")
        return None
    try:
        reply = json.loads(head) if head else None
    except ValueError:
        tally.add(f"{prefix}not JSON")
        return None
    if isinstance(reply, dict):
        error = reply.get("error")
        if isinstance(error, dict):
            text = f"{error.get('message')}: {error.get('data') or ''}"
            tally.add(f"{prefix}error {error.get('code')} {text[:60]}")
        else:
            tally.add(f"{prefix}single reply")
        return None
    if not isinstance(reply, list):
        tally.add(f"{prefix}no reply" if reply is None else f"{prefix}odd reply")
        return None
    for item in reply:
        error = item.get("error") if isinstance(item, dict) else None
        if isinstance(error, dict):
            tally.add(f"{prefix}error {error.get('code')} {str(error.get('data') or '')[:40]}")
        else:
            tally.add(f"{prefix}ok")
    return reply


class _Closed(Exception):
    """The node closed the connection (or broke HTTP framing) before a whole reply."""


class RawHttp:
    """One keep-alive HTTP/1.1 connection from ``source`` to 127.0.0.1:``port``.

    Leaner than an HTTP library on purpose: the runner shares the machine's
    two cores with the nodes, and replies of megabytes are read in 1 MiB
    pieces and dropped (their first ``PARSE_LIMIT`` bytes are kept to be
    labelled), so the attacker's own work stays small next to the node's.
    """

    def __init__(self, port: int, source: str | None, tally: Tally) -> None:
        self.port = port
        self.source = source
        self.tally = tally
        self.stream: trio.SocketStream | None = None
        self.buf = b""

    async def aclose(self) -> None:
        if self.stream is not None:
            await trio.aclose_forcefully(self.stream)
        self.stream, self.buf = None, b""

    async def _receive(self) -> bytes:
        assert self.stream is not None
        data = await self.stream.receive_some(1 << 20)
        if not data:
            raise _Closed("closed")
        self.tally.bytes_in += len(data)
        return data

    async def _take(self, count: int, keep: bytearray) -> None:
        """Consume ``count`` body bytes, keeping what fits in ``keep``."""
        while count > 0:
            if not self.buf:
                self.buf = await self._receive()
            piece, self.buf = self.buf[:count], self.buf[count:]
            count -= len(piece)
            if len(keep) < PARSE_LIMIT + 1:
                keep += piece[: PARSE_LIMIT + 1 - len(keep)]

    async def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise _Closed("header line too long")
            self.buf += await self._receive()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    async def _reply(self) -> tuple[int, dict[str, str], bytes]:
        status_line = await self._line()
        headers: dict[str, str] = {}
        while line := await self._line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = bytearray()
        if "content-length" in headers:
            await self._take(int(headers["content-length"]), keep)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self._line()).split(b";")[0], 16):
                await self._take(size, keep)
                await self._line()
            while await self._line():  # trailers, then the blank line
                pass
        else:  # neither: the body runs to the end of the connection
            with contextlib.suppress(_Closed):
                await self._take(1 << 40, keep)
            headers["connection"] = "close"
        return int(status_line.split()[1]), headers, bytes(keep)

    async def post(self, body: bytes) -> list[Any] | None:
        """POST one JSON-RPC body; count its outcome; the batch items if parsed."""
        tally = self.tally
        tally.requests += 1
        tally.bytes_out += len(body)
        if self.stream is None:
            with trio.move_on_after(CONNECT_TIMEOUT_S):
                with contextlib.suppress(OSError):
                    self.stream = await trio.open_tcp_stream(
                        "127.0.0.1", self.port, local_address=self.source
                    )
            if self.stream is None:
                tally.add("connection refused")
                await trio.sleep(QUICK_CLOSE_S)
                return None
        request = (
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            await self.stream.send_all(request)
            status, headers, head = await self._reply()
        except (_Closed, ValueError, IndexError, trio.BrokenResourceError, OSError):
            tally.add("connection closed")
            await self.aclose()
            return None
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return _label_reply(status, head, len(head) <= PARSE_LIMIT, tally)


def attacker_sources(count: int) -> list[str]:
    """Source addresses of the attacker: 127.0.0.2 onwards (the validators use 127.0.0.1)."""
    return [f"127.0.0.{2 + i}" for i in range(count)]


async def hammer(
    port: int,
    body: bytes,
    stop_at: float,
    tally: Tally,
    max_requests: int,
    source: str | None,
    reconnect: bool = False,
) -> None:
    """Send ``body`` again as soon as each reply is in, until ``stop_at`` (closed loop);
    with ``reconnect``, each request on a new connection (a limit kept per connection
    starts afresh). A request still unanswered at ``stop_at`` is abandoned and counted."""
    http = RawHttp(port, source, tally)
    try:
        for _ in range(max_requests):
            left = stop_at - time.monotonic()
            if left <= 0:
                return
            with trio.move_on_after(left) as scope:
                await http.post(body)
            if scope.cancelled_caught:
                tally.add("unanswered at the end")
                return
            if reconnect:
                await http.aclose()
    finally:
        await http.aclose()


async def submit_all(
    port: int, raws: list[bytes], stop_at: float, tally: Tally, chunk: int, source: str | None
) -> int:
    """Submit ``raws`` in batches of ``chunk``; the number sent before ``stop_at``."""
    sent = 0
    http = RawHttp(port, source, tally)
    try:
        for start in range(0, len(raws), chunk):
            left = stop_at - time.monotonic()
            if left <= 0:
                break
            part = raws[start : start + chunk]
            calls = [
                {"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic",
                 "params": ["0x" + raw.hex()]}
                for i, raw in enumerate(part)
            ]  # fmt: skip
            body = json.dumps(calls, separators=(",", ":")).encode()
            with trio.move_on_after(left) as scope:
                await http.post(body)
                sent += len(part)
            if scope.cancelled_caught:
                tally.add("unanswered at the end")
                break
    finally:
        await http.aclose()
    return sent
