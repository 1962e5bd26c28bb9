"""``credichain localnet``: a local multi-validator network of real processes.

Node i serves RPC on 9944+i, p2p on 30333+i and metrics on 9615+i, all on
127.0.0.1. The first run writes the genesis (dev accounts funded), one home
per validator and their plain-text localnet keys under ``--dir``; a later run
on the same directory resumes that chain. Ctrl-C or SIGTERM stops every node
with SIGTERM, so each leaves a consistent store.
"""

from __future__ import annotations

import fcntl
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from genesis.build import dump_genesis, load_genesis
from genesis.localnet import localnet_doc
from genesis.schema import DEV_ACCOUNTS
from ledger.crypto import Keypair, encode_address
from node.cli.common import exit_error, init_home, usage_error
from node.cli.display import print_whole
from node.daemon.config import (
    ConsensusSection,
    MetricsSection,
    NodeConfig,
    NodeSection,
    P2PSection,
    RpcSection,
    load_config,
    render_config,
)
from node.daemon.service import NodePaths
from node.testing.procs import NodeProcess, stop_all

RPC_BASE, P2P_BASE, METRICS_BASE = 9944, 30333, 9615
MAX_VALIDATORS = 50
# An idle localnet makes a heartbeat block every second (production: 10 s): a
# localnet governance round or review window lasts 20 s of block time, and the
# walkthroughs submit right after a `sleep`, so block time must not lag far.
LOCALNET_EMPTY_BLOCKS_INTERVAL_MS = 1000


@dataclass(frozen=True, slots=True)
class Ports:
    """Base ports: node i uses base + i."""

    rpc: int = RPC_BASE
    p2p: int = P2P_BASE
    metrics: int = METRICS_BASE


def _ports_free(base: int, count: int) -> bool:
    for port in range(base, base + count):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_ports(count: int) -> Ports:
    """Base ports with ``count`` free ports each, away from the defaults (tests, benchmarks)."""
    rng = random.Random()
    # Below Linux's default ephemeral range (32768-60999), so that an outgoing
    # connection cannot take a port between this check and the node's bind.
    for _ in range(200):
        base = rng.randrange(20_000, 32_000 - 3 * count, 10)
        if all(_ports_free(base + k * count, count) for k in range(3)):
            return Ports(rpc=base, p2p=base + count, metrics=base + 2 * count)
    raise RuntimeError("no free range of ports found on 127.0.0.1")


def node_config(index: int, ports: Ports) -> NodeConfig:
    return NodeConfig(
        node=NodeSection(moniker=f"validator-{index}"),
        p2p=P2PSection(listen=f"127.0.0.1:{ports.p2p + index}"),
        rpc=RpcSection(listen=f"127.0.0.1:{ports.rpc + index}", explorer=True),
        metrics=MetricsSection(listen=f"127.0.0.1:{ports.metrics + index}"),
        consensus=ConsensusSection(
            create_empty_blocks_interval_ms=LOCALNET_EMPTY_BLOCKS_INTERVAL_MS
        ),
    )


def set_empty_blocks(homes: list[Path], *, create: bool, interval_ms: int | None = None) -> None:
    """Rewrite each home's ``[consensus]`` block pacing (benchmarks, fault harnesses).

    ``create=True``: a block every ``block_interval_ms``, work or not, for
    harnesses that measure a chain's block cadence (attacks, chaos).
    """
    for home in homes:
        path = home / "config.toml"
        config = load_config(path)
        config.consensus.create_empty_blocks = create
        if interval_ms is not None:
            config.consensus.create_empty_blocks_interval_ms = interval_ms
        path.write_text(render_config(config))


def prepare_localnet(directory: Path, validators: int, ports: Ports = Ports()) -> list[Path]:
    """Create (or find) the localnet in ``directory``; return the node homes."""
    genesis_path = directory / "genesis.json"
    if genesis_path.exists():
        doc = load_genesis(genesis_path)
        homes = [directory / f"node{i}" for i in range(len(doc.validators))]
        missing = [h for h in homes if not (h / "config.toml").exists()]
        if missing:
            raise FileNotFoundError(f"{directory} has a genesis but no node home {missing[0]}")
        return homes
    if not 1 <= validators <= MAX_VALIDATORS:
        raise ValueError(f"--validators must be between 1 and {MAX_VALIDATORS}")
    directory.mkdir(parents=True, exist_ok=True)
    keys = [Keypair.generate() for _ in range(validators)]
    doc = localnet_doc(keys, genesis_time=int(time.time()), base_port=ports.p2p)
    dump_genesis(doc, genesis_path)
    homes = []
    for index, key in enumerate(keys):
        home = directory / f"node{index}"
        init_home(
            home,
            genesis_file=genesis_path,
            validator_key=key,
            config=node_config(index, ports),
            localnet=True,
            passphrase=None,
        )
        homes.append(home)
    return homes


def running_home(homes: list[Path]) -> Path | None:
    """The first home whose store another process holds open (a node is running on it).

    LevelDB holds an fcntl lock on ``data/db/LOCK`` while a node runs; taking
    it for an instant (and giving it back) tells whether someone else has it.
    """
    for home in homes:
        lock = NodePaths(home).db / "LOCK"
        if not lock.exists():
            continue
        with lock.open("rb+") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return home
            fcntl.lockf(handle, fcntl.LOCK_UN)
    return None


def print_endpoints(console: Console, homes: list[Path], hrp: str) -> None:
    # Whole in a log or a pipe (print_whole): an operator greps the ports from it.
    # Read from each home's config.toml: a resumed network keeps the ports it was made with.
    table = Table(title="credichain localnet")
    for column in ("node", "rpc (HTTP + WebSocket)", "p2p", "metrics", "log"):
        table.add_column(column)
    for home in homes:
        config = load_config(NodePaths(home).config)
        table.add_row(
            home.name,
            f"http://{config.rpc.listen}",
            config.p2p.listen,
            f"http://{config.metrics.listen}/metrics",
            str(home / "node.log"),
        )
    print_whole(console, table)
    dev = Table(title="dev accounts (seed = blake2b256(b'credichain-dev/' + name))")
    dev.add_column("name")
    dev.add_column("address")
    for name in DEV_ACCOUNTS:
        dev.add_row(name, encode_address(Keypair.dev(name).public, hrp))
    print_whole(console, dev)


def localnet_command(
    validators: Annotated[int, typer.Option(help="Number of validators (new network only).")] = 4,
    dir: Annotated[
        Path, typer.Option("--dir", help="Where the network lives; re-use it to resume.")
    ] = Path("localnet"),
) -> None:
    """Start a local network of validator processes on 127.0.0.1 (Ctrl-C stops it)."""
    console = Console()
    try:
        homes = prepare_localnet(dir, validators)
    except (ValueError, FileNotFoundError) as exc:
        raise usage_error(str(exc)) from exc
    busy = running_home(homes)
    if busy is not None:
        raise exit_error(
            f"a localnet is already running on {dir} ({busy.name} holds its store; its RPC is "
            f"http://{load_config(NodePaths(busy).config).rpc.listen}, its log "
            f"{busy / 'node.log'}): stop it first, or use another --dir"
        )
    doc = load_genesis(dir / "genesis.json")
    nodes = [NodeProcess(home) for home in homes]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for node in nodes:
        node.start()
    print_endpoints(console, homes, doc.address_prefix)
    console.print(f"{len(nodes)} validators running; Ctrl-C stops them.")
    failed = None
    while not stop.wait(0.5):
        failed = next((n for n in nodes if not n.running), None)
        if failed is not None:
            break
    stop_all(nodes)
    if failed is not None:
        console.print(f"[red]{failed.home.name} exited unexpectedly; its last lines:[/red]")
        console.print(failed.log_tail())
        raise typer.Exit(1)
    console.print("localnet stopped")
