"""What the attacks send: heavy extrinsics, JSON-RPC batches, held connections, a watched transfer.

Theory of operation
-------------------
Everything here is a trio coroutine bounded in time (a ``stop_at`` on the
monotonic clock, or a cancel scope of the caller) and in count, and talks to
127.0.0.1 only.

Every reply is a *measurement*: ``Tally`` counts outcomes by a short label
(``ok``, ``error 1010 cannot pay fee``, ``http 429``, ``connection closed``,
``timeout``, ``unanswered at the end``), and the bytes the node sent back. A
reply is read as a stream and dropped as it comes (only its first
``PARSE_LIMIT`` bytes are parsed), so a reply of hundreds of megabytes costs
the runner no memory.

``squat`` holds TCP connections open the way a slow or silent client does:
it sends a first chunk (HTTP headers announcing a body; nothing for a Noise
handshake), then one byte every ``dribble_every`` seconds (or nothing), and
counts when the node closes them; a closed connection is reopened at once
(a persistent attacker), within ``max_opens``.

``watch_transfer`` is the honest user: one WebSocket with a
``chain_subscribeNewHeads`` subscription and an
``author_submitAndWatchExtrinsic`` of a transfer, recording every status
until ``finalized`` or the bound.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio
import wsproto.utilities

from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic
from p2p.framing import encode_record
from p2p.handshake import Handshake, StaticKey
from rpc.client import RpcConnectionError, RpcError, WsClient

PARSE_LIMIT = 1 << 20  # a reply larger than this is counted, not parsed
CONNECT_TIMEOUT_S = 3.0
QUICK_CLOSE_S = 1.0  # a connection closed sooner waits this long before it is reopened
WS_FAILURES = (
    RpcError,
    RpcConnectionError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    wsproto.utilities.LocalProtocolError,
    wsproto.utilities.RemoteProtocolError,
    json.JSONDecodeError,
)
_LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz "[i % 27] for i in range(256))
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


# ---------------------------------------------------------------- extrinsics


def heavy_credit_submit(
    key: Keypair, nonce: int, valid_until: int, genesis_hash: bytes, rng: random.Random
) -> bytes:
    """A signed ``credit.submit`` at every size limit (~2.4 KB): 8 borrowers, 4 texts of 500
    bytes, 8 documents, 8 providers. Fund 0 need not exist: the call is paid for (or
    not) and executed all the same."""

    def text() -> str:
        return rng.randbytes(500).translate(_LETTERS).decode()

    args = {
        "fund": 0,
        "borrowers": [key.public] + [rng.randbytes(32) for _ in range(7)],
        "amount": 10**6,
        "purpose": "productive_enterprise",
        "recipient": key.public,
        "term": 365 * 86_400,
        "installments": 12,
        "what": text(),
        "repayment_good": text(),
        "repayment_bad": text(),
        "trust_reasons": text(),
        "documents": [rng.randbytes(32) for _ in range(8)],
        "providers": [rng.randbytes(32) for _ in range(8)],
    }
    call = Call("credit", "submit", args)
    return Extrinsic.create(key, nonce, valid_until, call, genesis_hash).encode()


def transfer(
    key: Keypair, nonce: int, dest: bytes, amount: int, valid_until: int, genesis_hash: bytes
) -> Extrinsic:
    call = Call("balances", "transfer", {"amount": amount, "dest": dest})
    return Extrinsic.create(key, nonce, valid_until, call, genesis_hash)


# ---------------------------------------------------------------- JSON-RPC over HTTP


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


# ---------------------------------------------------------------- held connections


@dataclass
class SquatStats:
    target: int = 0
    opened: int = 0
    connect_failed: int = 0
    closed_by_node: int = 0
    held_at_end: int = 0
    max_held: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    lifetimes: list[float] = field(default_factory=list)
    _held: int = 0

    def to_json(self) -> dict[str, Any]:
        lives = sorted(self.lifetimes)
        return {
            "target": self.target,
            "opened": self.opened,
            "connect_failed": self.connect_failed,
            "closed_by_node": self.closed_by_node,
            "held_at_end": self.held_at_end,
            "max_held": self.max_held,
            "median_s_until_closed": round(lives[len(lives) // 2], 2) if lives else None,
            "answers": dict(self.answers.most_common(5)),
        }


def _answer_label(data: bytes) -> str:
    if data.startswith(b"HTTP/"):
        return data.split(b"\r\n", 1)[0][:40].decode(errors="replace")
    return "binary reply (a Noise message)" if len(data) > 2 else "binary reply"


async def _one_squat(
    port: int,
    first: bytes,
    dribble_every: float | None,
    stop_at: float,
    stats: SquatStats,
    connecting: trio.CapacityLimiter,
    source: str | None,
) -> bool:
    """Hold one connection until the node closes it (True) or ``stop_at`` (False)."""
    stream: trio.SocketStream | None = None
    async with connecting:
        with trio.move_on_after(CONNECT_TIMEOUT_S):
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
            except OSError:
                stream = None
        if stream is None:
            stats.connect_failed += 1
            await trio.sleep(0.2)
            return True
    stats.opened += 1
    stats._held += 1
    stats.max_held = max(stats.max_held, stats._held)
    began = time.monotonic()
    closed = False
    try:
        if first:
            await stream.send_all(first)
        answered = False
        while (left := stop_at - time.monotonic()) > 0:
            wait = min(left, dribble_every) if dribble_every else left
            data: bytes | None = None
            with trio.move_on_after(wait):
                data = await stream.receive_some(4096)
            if data == b"":
                closed = True
                break
            if data:  # an answer (a 408, a Noise reply) is not a close: hold on
                if not answered:
                    answered = True
                    stats.answers[_answer_label(data)] += 1
                continue
            if dribble_every:
                await stream.send_all(b" ")
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        closed = True
    finally:
        stats._held -= 1
        await trio.aclose_forcefully(stream)
    if closed:
        stats.closed_by_node += 1
        stats.lifetimes.append(time.monotonic() - began)
    else:
        stats.held_at_end += 1
    return closed


async def squat(
    port: int,
    count: int,
    first: bytes | Callable[[int], bytes],
    dribble_every: float | None,
    stop_at: float,
    stats: SquatStats,
    max_opens: int,
    sources: list[str],
) -> None:
    """Keep ``count`` connections to ``port`` open until ``stop_at``, reopening closed ones;
    connection ``i`` comes from ``sources[i % len(sources)]`` and opens with ``first`` (or
    ``first(i)``, made anew for each connection)."""
    stats.target += count
    connecting = trio.CapacityLimiter(32)
    opens = [0]

    async def keeper(slot: int) -> None:
        every = dribble_every if slot % 2 == 0 else None  # half dribble, half stall
        while time.monotonic() < stop_at and opens[0] < max_opens:
            opens[0] += 1
            payload = first(slot) if callable(first) else first
            began = time.monotonic()
            source = sources[slot % len(sources)] if sources else None
            if not await _one_squat(port, payload, every, stop_at, stats, connecting, source):
                return
            if time.monotonic() - began < QUICK_CLOSE_S:  # refused at once: not a hot loop
                await trio.sleep(QUICK_CLOSE_S)

    async with trio.open_nursery() as nursery:
        for slot in range(count):
            nursery.start_soon(keeper, slot)


def noise_first_message(genesis_hash: bytes) -> bytes:
    """A valid first Noise XX message (``e`` and the chain's hello) from a fresh key nobody
    allows: the node answers it and waits for the third message, which never comes."""
    handshake = Handshake(
        initiator=True,
        identity=Keypair.generate(),
        static=StaticKey.generate(),
        genesis_hash=genesis_hash,
        check_peer=lambda _identity: None,
    )
    return encode_record(handshake.start())


def slow_body_headers(port: int, length: int = 100_000) -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n{{"
    ).encode()


# ---------------------------------------------------------------- the honest user


@dataclass
class Watch:
    submitted_at: float = 0.0
    statuses: list[str] = field(default_factory=list)
    finalized_s: float | None = None
    error: str | None = None
    heads: list[int] = field(default_factory=list)
    heads_ended_early: bool = False
    block_hash: str | None = None
    block_extrinsics: int | None = None

    @property
    def finalized(self) -> bool:
        return self.finalized_s is not None

    def heads_missed(self) -> int:
        if len(self.heads) < 2:
            return 0
        seen = set(self.heads)
        return sum(1 for h in range(min(seen), max(seen) + 1) if h not in seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "finalized": self.finalized,
            "finalized_s": None if self.finalized_s is None else round(self.finalized_s, 2),
            "statuses": self.statuses[:8],
            "error": self.error,
            "heads_seen": len(self.heads),
            "heads_missed": self.heads_missed(),
            "heads_ended_early": self.heads_ended_early,
            "block_extrinsics": self.block_extrinsics,
        }


def _short_status(status: Any) -> str:
    if isinstance(status, dict):
        key = next(iter(status), "?")
        return key if key != "invalid" else f"invalid: {str(status[key])[:40]}"
    return str(status)


async def watch_transfer(
    url: str,
    raw: bytes,
    bound: float,
    watch: Watch,
    heads_until: float,
    ready: trio.Event | None = None,
) -> None:
    """On one WebSocket: follow new heads until ``heads_until`` (monotonic), and
    submit-and-watch ``raw`` until ``finalized`` or ``bound`` seconds; ``ready`` is set
    once the heads subscription is in place (before the transfer is submitted)."""
    done = trio.Event()

    async def follow_heads(ws: WsClient) -> None:
        try:
            async with ws.new_heads() as heads:
                if ready is not None:
                    ready.set()
                async for head in heads:
                    watch.heads.append(int(head["number"]))
        except WS_FAILURES:
            pass  # the node closed the subscription: the heads seen so far are the answer
        if not done.is_set():
            watch.heads_ended_early = True

    async def follow_transfer(ws: WsClient) -> None:
        if ready is not None:
            with trio.move_on_after(5):
                await ready.wait()
        watch.submitted_at = time.monotonic()
        with trio.move_on_after(bound):
            try:
                async with ws.submit_and_watch(raw) as statuses:
                    async for status in statuses:
                        watch.statuses.append(_short_status(status))
                        if isinstance(status, dict) and "finalized" in status:
                            watch.finalized_s = time.monotonic() - watch.submitted_at
                            watch.block_hash = str(status["finalized"])
            except RpcError as exc:
                watch.error = f"refused {exc.code} {exc.message} {str(exc.data or '')[:60]}"

    overall = max(bound + 6, heads_until - time.monotonic())
    with trio.move_on_after(overall):
        try:
            async with WsClient.connect(url) as ws, trio.open_nursery() as nursery:
                nursery.start_soon(follow_heads, ws)
                await follow_transfer(ws)
                await trio.sleep(max(0.0, heads_until - time.monotonic()))
                done.set()
                nursery.cancel_scope.cancel()
        except WS_FAILURES as exc:
            watch.error = watch.error or f"connection: {str(exc)[:80] or type(exc).__name__}"
    done.set()
    if watch.finalized_s is None and watch.error is None:
        last = watch.statuses[-1] if watch.statuses else "no status"
        watch.error = f"not finalized within {bound:.0f}s (last: {last})"
    if ready is not None:
        ready.set()  # never leave the burst waiting on a watch that could not subscribe
