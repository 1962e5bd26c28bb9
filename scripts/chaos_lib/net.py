"""A 4-validator localnet whose p2p links all pass through the runner's proxy.

Theory of operation
-------------------
``ChaosNet`` builds a fresh localnet (``node.cli.localnet.prepare_localnet``, free
ports on 127.0.0.1), starts a ``LinkProxy`` with one route per ordered pair of
nodes, and rewrites each node's ``config.toml`` so that ``p2p.peers`` names
every other validator at *its proxy port for this pair*. A node's extra peers
take precedence over the genesis addresses (``NodeService._dial_targets``), so
no node ever dials another directly; inbound connections are authenticated by
key, not address, so they need no rewriting.

The *twin* is a second home holding validator ``twin_of``'s key, with its own
ports and an empty store (it syncs from its peers): proxy index ``len(nodes)``,
dialling every validator but the one whose key it shares. Four validators of
equal power make the twin's key 1/4 of the power, under 1/3: safety must hold.

The net knows which nodes it has paused (SIGSTOP) so that callers do not wait
on a frozen process's RPC.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

from genesis.build import load_genesis
from genesis.localnet import read_key_file
from ledger.crypto import Keypair
from node.cli.localnet import free_ports, node_config, prepare_localnet
from node.cli.node import init_home
from node.daemon.config import load_config, render_config
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcConnectionError, RpcError
from scripts.chaos_lib.proxy import LinkProxy

RPC_TIMEOUT_S = 3.0


class ChaosNet:
    def __init__(
        self, directory: Path, *, seed: int, validators: int = 4, twin_of: int | None = None
    ) -> None:
        if validators < 4:
            raise ValueError("the fault runner needs at least 4 validators (f = 1)")
        if twin_of is not None and not 0 <= twin_of < validators:
            raise ValueError(f"twin_of must name a validator 0..{validators - 1}, got {twin_of}")
        self.count = validators
        self.twin_of = twin_of
        self.twin_index = validators  # the twin's index in proxy routes
        self.ports = free_ports(validators + 1)  # one spare slot of ports for the twin
        self.root = directory / "net"
        self.homes = prepare_localnet(self.root, validators, self.ports)
        self.genesis = load_genesis(self.root / "genesis.json")
        self.keys: list[Keypair] = [read_key_file(h / "validator_key.json") for h in self.homes]
        targets = {
            (i, j): self.ports.p2p + j
            for i in range(validators)
            for j in range(validators)
            if i != j
        }
        if twin_of is not None:
            targets |= {
                (self.twin_index, j): self.ports.p2p + j for j in range(validators) if j != twin_of
            }
        self.proxy = LinkProxy(targets, seed=seed)
        self.routes = self.proxy.start()
        for i, home in enumerate(self.homes):
            self._route_peers(home, i)
        self.nodes = [NodeProcess(home) for home in self.homes]
        self.twin: NodeProcess | None = None
        if twin_of is not None:
            twin_home = self.root / f"twin{twin_of}"
            config = node_config(self.twin_index, self.ports)
            config.node.moniker = f"twin-of-{twin_of}"
            init_home(
                twin_home,
                genesis_file=self.root / "genesis.json",
                validator_key=self.keys[twin_of],
                config=config,
                localnet=True,
                passphrase=None,
            )
            self._route_peers(twin_home, self.twin_index)
            self.twin = NodeProcess(twin_home)
        self.clients = [
            RpcClient(f"http://127.0.0.1:{self.ports.rpc + i}", timeout=RPC_TIMEOUT_S)
            for i in range(validators)
        ]
        self.paused: set[int] = set()
        self.expected_down: set[int] = set()  # stopped or killed by the runner

    def _route_peers(self, home: Path, index: int) -> None:
        path = home / "config.toml"
        config = load_config(path)
        config.p2p.peers = [
            f"{self.keys[j].public.hex()}@127.0.0.1:{self.routes[(index, j)]}"
            for j in range(self.count)
            if (index, j) in self.routes
        ]
        path.write_text(render_config(config))

    # ------------------------------------------------------------ lifecycle

    def start_all(self) -> None:
        for node in self.nodes:
            node.start()

    def close(self) -> None:
        everything = self.nodes + ([self.twin] if self.twin is not None else [])
        for index in sorted(self.paused):
            self.nodes[index].signal(signal.SIGCONT)
        self.paused.clear()
        stop_all(everything)
        self.proxy.stop()
        for client in self.clients:
            client.close()

    def pause(self, index: int) -> None:
        self.nodes[index].signal(signal.SIGSTOP)
        self.paused.add(index)

    def resume(self, index: int) -> None:
        self.nodes[index].signal(signal.SIGCONT)
        self.paused.discard(index)

    def available(self) -> list[int]:
        """Nodes whose RPC should answer: running and not paused."""
        return [i for i, n in enumerate(self.nodes) if n.running and i not in self.paused]

    def unexpected_exits(self) -> list[tuple[int, int | None]]:
        """Nodes that exited although the runner did not stop them: (index, exit code)."""
        return [
            (i, node.proc.poll() if node.proc is not None else None)
            for i, node in enumerate(self.nodes)
            if i not in self.expected_down and not node.running
        ]

    # ------------------------------------------------------------ queries

    def height(self, index: int) -> int | None:
        if index not in self.available():
            return None
        with contextlib.suppress(RpcConnectionError, RpcError, OSError, KeyError, TypeError):
            return self.clients[index].best_height()
        return None

    def heights(self) -> dict[int, int | None]:
        return {i: self.height(i) for i in range(self.count)}

    def top_height(self) -> int:
        return max((h for h in self.heights().values() if h is not None), default=0)
