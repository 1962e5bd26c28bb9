"""The attack profile's localnet, its accounts, and what it measures of a window.

Theory of operation
-------------------
``AttackNet`` is a real 4-validator localnet of ``credichain node start``
processes on 127.0.0.1, built from the same parts as the fault runner's
``ChaosNet`` (``prepare_localnet`` on free ports, ``NodeProcess``,
``stop_all``) but *without* the runner's proxy: the nodes dial each other
directly. The proxy forwards bytes from a thread of the runner's process, and
the attacks run in that process too; their work would delay consensus
traffic and be counted against the node.

*Blocks finalized in a window* are counted after the fact from the headers
(BFT finality: a committed block is final): block ``h`` was committed at the
timestamp of block ``h + 1`` (the weighted median of the precommits for
``h``, spec/consensus), so a window's count holds even when an attack makes
the node's RPC unreachable while it lasts. Node clocks and the runner's are
the same clock (one machine).

*Memory* is the resident set (``VmRSS`` in ``/proc/PID/status``) of each
node process, sampled by the runner.

``Accounts`` are the keys the attacks sign with, derived from the seed; the
funded ones are paid by the dev account ``alice`` before any window.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from genesis.build import load_genesis
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from node.cli.localnet import free_ports, prepare_localnet, set_empty_blocks
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcConnectionError, RpcError

RPC_TIMEOUT_S = 3.0
FUNDER = "alice"
MORTALITY = 100_000
FUND_GROUP = 50
RPC_FAILURES = (RpcConnectionError, RpcError, OSError, KeyError, TypeError, ValueError)


def rss_kib(pid: int) -> int | None:
    """Resident set size of a process in KiB, or None if it is gone."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used, or None if it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


class AttackNet:
    """4 validators on 127.0.0.1 dialling each other directly; see the module docstring."""

    def __init__(self, directory: Path, validators: int = 4) -> None:
        self.count = validators
        self.root = directory
        self.ports = free_ports(validators)
        self.homes = prepare_localnet(directory, validators, self.ports)
        # The profile measures block cadence under attack: a block every interval.
        set_empty_blocks(self.homes, create=True)
        self.genesis = load_genesis(directory / "genesis.json")
        self.hrp = self.genesis.address_prefix
        self.nodes = [NodeProcess(home) for home in self.homes]
        self.urls = [f"http://127.0.0.1:{self.ports.rpc + i}" for i in range(validators)]
        self.rpc_ports = [self.ports.rpc + i for i in range(validators)]
        self.p2p_ports = [self.ports.p2p + i for i in range(validators)]
        self.clients = [RpcClient(url, timeout=RPC_TIMEOUT_S) for url in self.urls]
        self.expected_down: set[int] = set()
        self._genesis_hash = b""

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 120.0) -> None:
        for node in self.nodes:
            node.start()
        self.wait(
            "height 2 on every node",
            lambda: all((h or -1) >= 2 for h in self.heights()),
            timeout,
        )

    def close(self) -> list[int | None]:
        """Stop every node (SIGTERM, then SIGKILL after the grace); their exit codes."""
        stop_all(self.nodes)
        for client in self.clients:
            client.close()
        return [n.proc.returncode if n.proc is not None else None for n in self.nodes]

    def wait(self, what: str, check: Callable[[], bool], timeout: float) -> float:
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if check():
                return time.monotonic() - began
            dead = self.exited()
            if dead:
                index, code = dead[0]
                raise RuntimeError(
                    f"node{index} exited with {code} waiting for {what}:\n"
                    f"{self.nodes[index].log_tail(15)}"
                )
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")

    def exited(self) -> list[tuple[int, int | None]]:
        """Nodes that exited although the runner did not stop them: (index, exit code)."""
        return [
            (i, n.proc.poll() if n.proc is not None else None)
            for i, n in enumerate(self.nodes)
            if i not in self.expected_down and not n.running
        ]

    # ------------------------------------------------------------ queries

    def height(self, index: int) -> int | None:
        with contextlib.suppress(*RPC_FAILURES):
            return self.clients[index].best_height()
        return None

    def heights(self) -> list[int | None]:
        return [self.height(i) for i in range(self.count)]

    def pool(self, index: int) -> dict[str, float]:
        """The node's mempool gauges (``credichain_mempool_*``) from its metrics endpoint."""
        url = f"http://127.0.0.1:{self.ports.metrics + index}/metrics"
        with contextlib.suppress(httpx.HTTPError):
            text = httpx.get(url, timeout=RPC_TIMEOUT_S).text
            return {
                line.split()[0].removeprefix("credichain_mempool_"): float(line.split()[1])
                for line in text.splitlines()
                if line.startswith("credichain_mempool_")
            }
        return {}

    def cpu(self) -> list[float | None]:
        return [cpu_seconds(n.pid) if n.running else None for n in self.nodes]

    def rss(self) -> list[int | None]:
        return [rss_kib(n.pid) if n.running else None for n in self.nodes]

    @property
    def genesis_hash(self) -> bytes:
        if not self._genesis_hash:
            self._genesis_hash = self.clients[0].genesis_hash()
        return self._genesis_hash

    def commit_times(self, low: int, client_order: list[int] | None = None) -> dict[int, float]:
        """Commit time (s, wall clock) of every known height >= ``low``.

        Height ``h`` was committed at block ``h + 1``'s timestamp; the newest
        block has no successor yet and is left out. Asks the first node that
        answers; an empty dict if none does.
        """
        for index in client_order or list(range(self.count)):
            if index in self.expected_down or not self.nodes[index].running:
                continue
            client = self.clients[index]
            with contextlib.suppress(*RPC_FAILURES):
                top = client.best_height()
                stamps: dict[int, float] = {}
                for start in range(max(1, low + 1), top + 1, 100):
                    heights = list(range(start, min(top, start + 99) + 1))
                    hashes = client.batch([("chain_getBlockHash", [h]) for h in heights])
                    headers = client.batch([("chain_getHeader", [x]) for x in hashes])
                    for h, header in zip(heights, headers, strict=True):
                        stamps[h - 1] = int(header["timestamp"]) / 1000
                return stamps
        return {}


# ---------------------------------------------------------------- accounts


@dataclass
class Accounts:
    """The keys of one profile run, derived from its seed."""

    seed: int
    flood_keys: int = 15
    burst_senders: int = 32
    watchers: int = 8

    def __post_init__(self) -> None:
        def keys(role: str, count: int) -> list[Keypair]:
            return [
                Keypair.from_seed(blake2b256(f"attack/{self.seed}/{role}/{i}".encode()))
                for i in range(count)
            ]

        self.unfunded = keys("unfunded", self.flood_keys)  # never paid anything
        self.funded = keys("funded", self.flood_keys)  # the fee-paying flood
        self.pool = keys("pool", self.flood_keys)  # fill the pools with future nonces
        self.burst = keys("burst", self.burst_senders)
        self.watch = keys("watch", self.watchers)  # one honest sender per attack

    def to_fund(self) -> list[tuple[Keypair, int]]:
        rich = 10_000 * 10**6  # ten thousand tokens: fees for every flood extrinsic
        plain = 1_000 * 10**6
        return (
            [(k, rich) for k in self.funded + self.pool]
            + [(k, plain) for k in self.burst]
            + [(k, plain) for k in self.watch]
        )


def fund(net: AttackNet, payments: list[tuple[Keypair, int]], timeout: float = 90.0) -> None:
    """``alice`` pays every key its amount; wait until every payment has a receipt.

    In groups of ``FUND_GROUP``: the pool takes nonces at most 64 ahead of the state's."""
    client = net.clients[0]
    funder = Keypair.dev(FUNDER)
    deadline = time.monotonic() + timeout
    for group in range(0, len(payments), FUND_GROUP):
        nonce = client.next_index(encode_address(funder.public, net.hrp))
        valid_until = client.best_height() + MORTALITY
        pending: dict[bytes, Keypair] = {}
        raws = []
        for offset, (key, amount) in enumerate(payments[group : group + FUND_GROUP]):
            call = Call("balances", "transfer", {"amount": amount, "dest": key.public})
            ext = Extrinsic.create(funder, nonce + offset, valid_until, call, net.genesis_hash)
            raws.append("0x" + ext.encode().hex())
            pending[ext.hash] = key
        for reply in client.batch([("author_submitExtrinsic", [r]) for r in raws]):
            if isinstance(reply, RpcError):
                raise RuntimeError(f"a funding transfer was refused: {reply}")
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{len(pending)} funding transfers not final after {timeout:.0f}s"
                )
            hashes = list(pending)
            receipts = client.batch([("chain_getReceipt", ["0x" + h.hex()]) for h in hashes])
            for tx_hash, receipt in zip(hashes, receipts, strict=True):
                if isinstance(receipt, dict):
                    if not receipt["success"]:
                        raise RuntimeError(f"a funding transfer failed: {receipt['error']}")
                    pending.pop(tx_hash)
            time.sleep(0.3)
