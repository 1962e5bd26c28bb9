"""A localnet of real validator processes for end-to-end tests.

Ports are picked free on 127.0.0.1 so that tests never collide with a
developer's running ``make run``. Every wait is bounded; on a failed wait
the nodes' last log lines are part of the assertion message.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from node.cli.localnet import free_ports, prepare_localnet
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcConnectionError, RpcError


class Cluster:
    def __init__(self, directory: Path, validators: int = 4) -> None:
        self.ports = free_ports(validators)
        self.homes = prepare_localnet(directory, validators, self.ports)
        self.nodes = [NodeProcess(home) for home in self.homes]
        self.clients = [
            RpcClient(f"http://127.0.0.1:{self.ports.rpc + i}", timeout=5)
            for i in range(validators)
        ]
        self._genesis: bytes | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self, *indexes: int) -> None:
        for i in indexes or range(len(self.nodes)):
            self.nodes[i].start()

    def stop(self) -> None:
        stop_all(self.nodes)
        for client in self.clients:
            client.close()

    def logs(self) -> str:
        return "\n".join(f"--- node{i}\n{n.log_tail(15)}" for i, n in enumerate(self.nodes))

    # ------------------------------------------------------------ queries

    def height(self, i: int) -> int | None:
        try:
            return self.clients[i].best_height()
        except (RpcConnectionError, RpcError, OSError):
            return None

    def heights(self, indexes: Iterator[int] | list[int] | None = None) -> list[int | None]:
        return [self.height(i) for i in (indexes or range(len(self.nodes)))]

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            exited = [
                (i, node.proc.poll())
                for i, node in enumerate(self.nodes)
                if node.proc is not None and node.proc.poll() not in (None, -9)
            ]
            if exited:  # a crash, not a kill -9 of the test's own making
                index, code = exited[0]
                raise AssertionError(
                    f"node{index} exited with code {code} while waiting for {what}\n{self.logs()}"
                )
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")

    def wait_height(
        self, height: int, indexes: list[int] | None = None, timeout: float = 60
    ) -> None:
        live = indexes if indexes is not None else list(range(len(self.nodes)))

        def reached() -> bool:
            return all((h or -1) >= height for h in self.heights(live))

        self.wait_for(f"height {height} on nodes {live}", reached, timeout)

    def headers(self, i: int, up_to: int) -> list[dict[str, Any]]:
        client = self.clients[i]
        out = []
        for height in range(0, up_to + 1):
            block_hash = client.block_hash(height)
            assert block_hash is not None, f"node{i} has no block {height}"
            header = client.get_header(block_hash)
            assert header is not None
            out.append(header)
        return out

    def assert_agreement(self, up_to: int, indexes: list[int] | None = None) -> None:
        """Same block hash and state root at every height on every node."""
        live = indexes if indexes is not None else list(range(len(self.nodes)))
        reference = self.headers(live[0], up_to)
        for i in live[1:]:
            theirs = self.headers(i, up_to)
            for ours, other in zip(reference, theirs, strict=True):
                assert (ours["hash"], ours["stateRoot"]) == (other["hash"], other["stateRoot"]), (
                    f"node{live[0]} and node{i} disagree at height {ours['number']}"
                )

    def assert_no_equivocation(self, up_to: int, node: int = 0) -> None:
        """No block up to ``up_to`` carries evidence that a validator signed twice."""
        client = self.clients[node]
        for height in range(1, up_to + 1):
            block_hash = client.block_hash(height)
            assert block_hash is not None
            block = client.call("chain_getBlock", "0x" + block_hash.hex())
            assert block["block"]["evidence"] == [], f"equivocation evidence at height {height}"

    # ------------------------------------------------------------ transfers

    @property
    def genesis_hash(self) -> bytes:
        if self._genesis is None:
            self._genesis = self.clients[0].genesis_hash()
        return self._genesis

    def transfer(
        self, node: int, sender: Keypair, dest: bytes, amount: int, nonce: int | None = None
    ) -> bytes:
        client = self.clients[node]
        if nonce is None:
            nonce = client.next_index(encode_address(sender.public))
        valid_until = client.best_height() + 1000
        call = Call("balances", "transfer", {"amount": amount, "dest": dest})
        ext = Extrinsic.create(sender, nonce, valid_until, call, self.genesis_hash)
        return client.submit(ext.encode())

    def receipt_everywhere(self, tx_hash: bytes, indexes: list[int] | None = None) -> bool:
        live = indexes if indexes is not None else list(range(len(self.nodes)))
        for i in live:
            with contextlib.suppress(RpcConnectionError, RpcError, OSError):
                if self.clients[i].receipt(tx_hash) is not None:
                    continue
            return False
        return True


@contextlib.contextmanager
def running_cluster(directory: Path) -> Iterator[Cluster]:
    """A 4-validator cluster started in ``directory`` and past height 2; stopped on exit."""
    cluster = Cluster(directory)
    cluster.start()
    try:
        cluster.wait_height(2, timeout=90)
        yield cluster
    finally:
        cluster.stop()
