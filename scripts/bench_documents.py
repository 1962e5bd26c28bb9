"""What the document store beside the chain costs (F10, docs/credit.md §10).

    .venv/bin/python scripts/bench_documents.py                 # store, then a localnet
    .venv/bin/python scripts/bench_documents.py --count 50 --no-localnet

1. The store alone (``node.daemon.documents.DocumentStore`` in a temporary
   directory on this disk): ``--count`` puts and lookups of documents of 1 KiB
   and of the largest size (256 KiB), each put written and fsynced; the
   median per operation.
2. Gossip on a fresh 4-validator localnet (separate processes, free ports on
   127.0.0.1): ``--count`` texts of 1 KiB put to node0 over RPC
   (``documents_put``), and for each the time until every other node answers
   ``available`` (``documents_get``, polled every 10 ms): median and
   largest. The RPC round trips are part of the figure.

Figures depend on the machine and its load; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.cli.localnet import free_ports, prepare_localnet
from node.daemon.documents import MAX_DOCUMENT_BYTES, DocumentStore
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcConnectionError, RpcError

VALIDATORS = 4


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.2f} ms, max {max(seconds) * 1000:.2f} ms"


def bench_store(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as folder:
        store = DocumentStore(Path(folder), lambda _digest: False)
        for size in (1024, MAX_DOCUMENT_BYTES):
            contents = [os.urandom(size) for _ in range(count)]
            puts, gets = [], []
            for content in contents:
                start = time.perf_counter()
                digest, _ = store.put(content)
                puts.append(time.perf_counter() - start)
                start = time.perf_counter()
                found = store.lookup(digest)
                gets.append(time.perf_counter() - start)
                assert found.content == content
            print(f"store, {size} B documents x {count}: put (fsync) {_ms(puts)}; get {_ms(gets)}")


def _wait_ready(clients: list[RpcClient], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(c.best_height() >= 2 for c in clients):
                return
        except (RpcConnectionError, RpcError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit("the localnet did not reach height 2")


def bench_gossip(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-documents-net-") as folder:
        ports = free_ports(VALIDATORS)
        homes = prepare_localnet(Path(folder), VALIDATORS, ports)
        nodes = [NodeProcess(home) for home in homes]
        clients = [RpcClient(f"http://127.0.0.1:{ports.rpc + i}", timeout=5) for i in range(4)]
        try:
            for node in nodes:
                node.start()
            _wait_ready(clients, 90)
            spreads = []
            for i in range(count):
                text = f"document {i} " + "x" * 1000
                start = time.perf_counter()
                digest = clients[0].call_named("documents_put", text=text)["hash"]
                waiting = set(range(1, VALIDATORS))
                while waiting:
                    waiting = {
                        n
                        for n in waiting
                        if clients[n].call("documents_get", digest)["status"] != "available"
                    }
                    if waiting:
                        time.sleep(0.01)
                    if time.perf_counter() - start > 30:
                        raise SystemExit(f"document {i} did not reach nodes {sorted(waiting)}")
                spreads.append(time.perf_counter() - start)
            print(
                f"gossip, put to node0 until available on the 3 others, x {count}: {_ms(spreads)}"
            )
        finally:
            for client in clients:
                client.close()
            stop_all(nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--no-localnet", action="store_true", help="the store alone")
    args = parser.parse_args()
    bench_store(args.count)
    if not args.no_localnet:
        bench_gossip(args.count)
    print(f"(load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
