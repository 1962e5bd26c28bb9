"""Benchmark the JSON-RPC server against a bare hypercorn app on the same machine.

What it measures, in one run:

1. ``chain_getHeader`` requests/s over HTTP/1.1 keep-alive, ``--connections``
   concurrent clients (default 16), against the real RPC server over the
   in-memory fake backend of the tests;
2. the same load against a bare ASGI app on the same hypercorn trio worker
   that answers a constant JSON-RPC reply: the ceiling of the server stack;
3. extrinsics/s accepted by the fake backend (decoded, signature verified,
   pooled) when submitted as JSON-RPC batches of ``--batch`` calls over 4
   keep-alive connections.

Each server runs in its own process; the load generator runs in this
process: one thread per connection, each with a raw socket sending a
pre-built request and reading the response by its Content-Length (a
wrk-like loop; no HTTP library, so that the generator costs little next to
the server). Run: ``.venv/bin/python scripts/bench_rpc.py [--duration 5]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import socket
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER_REQUEST = b'{"jsonrpc":"2.0","id":1,"method":"chain_getHeader"}'
CONSTANT_REPLY = b'{"jsonrpc":"2.0","id":1,"result":null}'


# ------------------------------------------------------------- servers (child processes)


async def _bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(CONSTANT_REPLY)),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": CONSTANT_REPLY})


def _run_server(kind: str, ports: Any, pool_limit: int) -> None:
    import trio

    from rpc.config import RpcConfig
    from rpc.server import serve, serve_asgi
    from tests.rpc.fake_backend import FakeBackend, build_registry

    config = RpcConfig(port=0, max_batch=1000)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            if kind == "bare":
                bound = await nursery.start(functools.partial(serve_asgi, _bare_app, config))
            else:
                backend = FakeBackend()
                backend.pool_limit = pool_limit
                for _ in range(3):
                    backend.produce_block()
                start = functools.partial(serve, backend, config, registry=build_registry())
                bound = await nursery.start(start)
            ports.put(bound.port)

    trio.run(main)


class Server:
    def __init__(self, kind: str, pool_limit: int = 10_000) -> None:
        ctx = multiprocessing.get_context("spawn")
        ports = ctx.Queue()
        self.process = ctx.Process(target=_run_server, args=(kind, ports, pool_limit), daemon=True)
        self.process.start()
        self.port: int = ports.get(timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# ------------------------------------------------------------- load generator


def _http_request(port: int, body: bytes) -> bytes:
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection on a raw socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> bytes:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected response: {head[:80]!r}")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        body, self.buffer = rest[:length], rest[length:]
        return body

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def hammer(port: int, body: bytes, connections: int, duration: float, check: bytes) -> float:
    """Requests/s with ``connections`` threads each looping one keep-alive connection."""
    request = _http_request(port, body)
    counts = [0] * connections
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        conn = Connection(port)
        try:
            while not stop.is_set():
                reply = conn.exchange(request)
                if check not in reply:
                    raise RuntimeError(f"unexpected reply {reply[:120]!r}")
                counts[index] += 1
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    time.sleep(min(1.0, duration / 5))  # warm-up
    start_count, start = sum(counts), time.perf_counter()
    time.sleep(duration)
    done, elapsed = sum(counts) - start_count, time.perf_counter() - start
    stop.set()
    for t in threads:
        t.join(10)
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]!r}")
    return done / elapsed


def signed_batches(genesis_hash: bytes, total: int, batch: int, senders: int) -> list[list[bytes]]:
    """Per connection lane, request bodies of ``batch`` transfers, nonces in order per sender."""
    from ledger.crypto import Keypair
    from ledger.types import Call, Extrinsic

    dest = Keypair.dev("bob").public
    keys = [Keypair.dev(f"bench-{i}") for i in range(senders)]
    per_sender = total // senders
    lanes: list[list[bytes]] = [[] for _ in range(4)]
    for s, key in enumerate(keys):
        calls = []
        for nonce in range(per_sender):
            call = Call("balances", "transfer", {"amount": 1, "dest": dest})
            ext = Extrinsic.create(key, nonce, 10_000, call, genesis_hash).encode()
            calls.append(
                {"jsonrpc": "2.0", "id": nonce, "method": "author_submitExtrinsic",
                 "params": ["0x" + ext.hex()]}
            )  # fmt: skip
        for i in range(0, len(calls), batch):
            lanes[s % 4].append(json.dumps(calls[i : i + batch]).encode())
    return lanes


def submit_batches(port: int, lanes: list[list[bytes]]) -> tuple[int, float]:
    accepted = [0] * len(lanes)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        conn = Connection(port)
        try:
            for body in lanes[index]:
                replies = json.loads(conn.exchange(_http_request(port, body)))
                accepted[index] += sum(1 for r in replies if "result" in r)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(lanes))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"submitter failed: {errors[0]!r}")
    return sum(accepted), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--extrinsics", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    print(
        f"conditions: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"hypercorn {version('hypercorn')} (trio worker), trio {version('trio')}; "
        f"{args.connections} keep-alive HTTP/1.1 connections from a raw-socket thread load "
        f"generator in a separate process; {args.duration:g} s per measurement after warm-up"
    )
    bare = Server("bare")
    try:
        ceiling = hammer(bare.port, HEADER_REQUEST, args.connections, args.duration, b'"result"')
    finally:
        bare.stop()
    print(f"bare hypercorn ASGI app (constant reply): {ceiling:,.0f} requests/s")

    rpc = Server("rpc", pool_limit=args.extrinsics + 1)
    try:
        header_rate = hammer(rpc.port, HEADER_REQUEST, args.connections, args.duration, b'"hash"')
        print(f"RPC chain_getHeader (fake backend):      {header_rate:,.0f} requests/s")
        print(f"ratio RPC / bare ceiling:                {header_rate / ceiling:.2f}")
        genesis_reply = Connection(rpc.port).exchange(
            _http_request(
                rpc.port, b'{"jsonrpc":"2.0","id":0,"method":"chain_getBlockHash","params":[0]}'
            )
        )
        genesis = bytes.fromhex(json.loads(genesis_reply)["result"][2:])
        lanes = signed_batches(genesis, args.extrinsics, args.batch, senders=40)
        accepted, elapsed = submit_batches(rpc.port, lanes)
        print(
            f"author_submitExtrinsic in batches of {args.batch} over 4 connections: "
            f"{accepted:,} accepted in {elapsed:.2f} s = {accepted / elapsed:,.0f} extrinsics/s "
            "(each decoded, signature-verified and pooled by the fake backend)"
        )
    finally:
        rpc.stop()


if __name__ == "__main__":
    main()
