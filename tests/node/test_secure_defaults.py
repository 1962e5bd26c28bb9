"""A node as shipped is closed by default: each secure default, checked where it is set.

Three layers: the defaults in ``node.daemon.config`` (and their agreement with the
RPC server's own ``RpcConfig`` defaults, so neither can drift open); what
``credichain node init`` writes (config and encrypted keys); and one real
node process started from the default configuration (only the ports
changed), probed from outside: what it listens on, what a browser origin
gets, whether it serves node-changing methods, and how it refuses an
extrinsic signed for another chain and a committed extrinsic sent again.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genesis.build import dump_genesis
from genesis.schema import GenesisDoc
from ledger.crypto import Keypair, blake2b256
from ledger.keyfile import DEFAULT_KDF, KeyfileError, load_keyfile, read_keyfile_document
from ledger.types import Call, Extrinsic
from node.cli.localnet import free_ports, prepare_localnet
from node.daemon.config import (
    MetricsSection,
    NodeConfig,
    P2PSection,
    RpcSection,
    load_config,
    parse_hostport,
    render_config,
)
from node.daemon.rpc_queries import node_registry
from node.testing.procs import NodeProcess
from rpc.config import RpcConfig

PASSPHRASE = "correct horse battery staple"
# Substrate's node-changing methods: if the node ever serves one, it must be unsafe.
NODE_CHANGING = (
    "author_rotateKeys",
    "author_insertKey",
    "author_removeExtrinsic",
    "system_addReservedPeer",
    "system_removeReservedPeer",
    "system_addLogFilter",
    "system_resetLogFilter",
    "system_resetPeers",
)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


# ---------------------------------------------------------------- the defaults


def test_every_listener_defaults_to_loopback() -> None:
    config = NodeConfig()
    for setting in (config.rpc.listen, config.metrics.listen, config.p2p.listen):
        assert parse_hostport(setting, "listen")[0] == "127.0.0.1", setting
    assert config.rpc.cors_origins == [] and config.rpc.unsafe_methods is False
    assert config.rpc.explorer is False


def test_the_node_and_the_rpc_server_ship_the_same_limits() -> None:
    section, server = RpcSection(), RpcConfig()
    host, port = parse_hostport(section.listen, "rpc.listen")
    assert (host, port) == (server.host, server.port)
    for name in (
        "max_body_bytes",
        "max_batch",
        "max_ws_connections",
        "max_subscriptions_per_connection",
        "unsafe_methods",
    ):
        assert getattr(section, name) == getattr(server, name), name
    assert tuple(section.cors_origins) == server.cors_origins == ()


def test_the_node_serves_no_node_changing_method_unless_it_is_unsafe() -> None:
    registry = node_registry()
    served = set(registry.names(include_unsafe=False))
    assert "system_peers" in served  # reading the peers is fine; changing them is not
    assert not served & set(NODE_CHANGING), served & set(NODE_CHANGING)


# ---------------------------------------------------------------- node init


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A home made by ``credichain node init`` for a real (not localnet) chain."""
    home = tmp_path_factory.mktemp("secure") / "home"
    result = cli("node", "init", "--home", str(home), env={"CREDICHAIN_KEY_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    public = bytes.fromhex(result.stdout.split("validator public key: ")[1].strip())
    return home, public


def test_init_writes_the_secure_defaults(initialised: tuple[Path, bytes]) -> None:
    home, _ = initialised
    written = load_config(home / "config.toml")
    assert written.rpc == RpcSection() and written.metrics == MetricsSection()
    assert written.p2p == P2PSection()
    assert render_config(written) == render_config(NodeConfig())


def seed_forms(seed: bytes) -> list[bytes]:
    return [
        seed,
        seed.hex().encode(),
        seed.hex().upper().encode(),
        base64.b64encode(seed),
        base64.urlsafe_b64encode(seed),
        base64.b64encode(seed).rstrip(b"="),
    ]


@pytest.mark.parametrize("name", ["validator_key.json", "node_key.json"])
def test_init_keys_are_useless_without_the_passphrase(
    initialised: tuple[Path, bytes], name: str
) -> None:
    home, _ = initialised
    path = home / name
    key = load_keyfile(path, PASSPHRASE)
    raw = path.read_bytes()
    assert not any(form in raw for form in seed_forms(key.seed))
    crypto = read_keyfile_document(path)["crypto"]
    assert (crypto["kdf"], crypto["opslimit"], crypto["memlimit"]) == (
        "argon2id",
        DEFAULT_KDF.opslimit,
        DEFAULT_KDF.memlimit,
    )
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    with pytest.raises(KeyfileError, match="wrong passphrase"):
        load_keyfile(path, PASSPHRASE + "!")
    with pytest.raises(KeyfileError, match="a passphrase is required"):
        load_keyfile(path, None)
    with pytest.raises(KeyfileError):
        load_keyfile(path, None, allow_localnet=True)  # not a plain-text localnet key either


def test_start_with_a_wrong_passphrase_is_one_clear_line(
    initialised: tuple[Path, bytes], tmp_path: Path
) -> None:
    home, public = initialised
    doc = GenesisDoc.model_validate(
        {
            "chain": "secure-defaults",
            "genesis_time": 1_700_000_000,
            "validators": [{"public_key": public.hex(), "address": "127.0.0.1:1", "power": 1}],
        }
    )
    dump_genesis(doc, home / "genesis.json")
    result = cli("node", "start", "--home", str(home), env={"CREDICHAIN_KEY_PASSPHRASE": "guess"})
    assert result.returncode == 2
    assert "wrong passphrase" in result.stderr and "Traceback" not in result.stderr
    key = load_keyfile(home / "validator_key.json", PASSPHRASE)
    assert key.seed.hex() not in result.stdout + result.stderr


# ---------------------------------------------------------------- a running node


def listeners(port: int) -> list[tuple[str, str]]:
    """(table, local address) of every listening TCP socket on ``port`` (Linux /proc)."""
    found = []
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append((table, address))
    return found


class DefaultNode:
    def __init__(self, directory: Path) -> None:
        self.ports = free_ports(1)
        (self.home,) = prepare_localnet(directory, 1, self.ports)
        # The shipped configuration, only the ports moved (keep the default hosts).
        default = NodeConfig()

        def moved(listen: str, port: int) -> str:
            return f"{parse_hostport(listen, 'listen')[0]}:{port}"

        config = default.model_copy(
            update={
                "p2p": P2PSection(listen=moved(default.p2p.listen, self.ports.p2p)),
                "rpc": RpcSection(listen=moved(default.rpc.listen, self.ports.rpc)),
                "metrics": MetricsSection(listen=moved(default.metrics.listen, self.ports.metrics)),
            }
        )
        (self.home / "config.toml").write_text(render_config(config))
        self.url = f"http://127.0.0.1:{self.ports.rpc}"
        self.process = NodeProcess(self.home)
        self.client = httpx.Client(timeout=10)

    def call(self, method: str, *params: Any, headers: dict[str, str] | None = None) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = self.client.post(self.url, json=body, headers=headers)
        return reply.json()

    def wait_for(self, what: str, check: Any, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = check()
            except httpx.TransportError:
                value = None
            if value:
                return value
            if not self.process.running:
                raise AssertionError(f"node exited while waiting for {what}:\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def log(self) -> str:
        return self.process.log_tail(30)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefaultNode]:
    running = DefaultNode(tmp_path_factory.mktemp("default-node"))
    running.process.start()
    try:
        running.wait_for("block 1", lambda: running.call("chain_getBlockHash", 1)["result"])
        yield running
    finally:
        running.client.close()
        running.process.stop()


def test_a_default_node_listens_on_loopback_only(node: DefaultNode) -> None:
    for port in (node.ports.rpc, node.ports.metrics, node.ports.p2p):
        assert listeners(port) == [("tcp", "0100007F")], (port, listeners(port))


def test_a_default_node_gives_a_browser_origin_nothing(node: DefaultNode) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "system_chain"}
    reply = node.client.post(node.url, json=body, headers={"origin": "https://evil.example"})
    assert reply.status_code == 403
    assert "access-control-allow-origin" not in reply.headers
    assert reply.json()["error"]["data"] == "origin not allowed"


def test_a_default_node_lists_no_unsafe_method_and_refuses_big_batches(node: DefaultNode) -> None:
    listed = set(node.call("rpc_methods")["result"]["methods"])
    assert listed == set(node_registry().names(include_unsafe=False))
    batch = [{"jsonrpc": "2.0", "id": i, "method": "system_chain"} for i in range(101)]
    error = node.client.post(node.url, json=batch).json()["error"]
    assert error["code"] == -32600 and "exceeds the limit of 100" in error["data"]


def transfer(genesis: bytes, nonce: int) -> bytes:
    call = Call("balances", "transfer", {"amount": 1, "dest": Keypair.dev("bob").public})
    return Extrinsic.create(Keypair.dev("alice"), nonce, 10_000, call, genesis).encode()


def test_a_default_node_refuses_foreign_and_replayed_extrinsics(node: DefaultNode) -> None:
    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)["result"][2:])
    nonce = node.call("account_nextIndex", "0x" + Keypair.dev("alice").public.hex())["result"]
    foreign = transfer(blake2b256(b"another chain"), nonce)
    error = node.call("author_submitExtrinsic", "0x" + foreign.hex())["error"]
    assert (error["code"], error["data"]) == (1010, "bad signature")

    ours = transfer(genesis, nonce)
    tx_hash = node.call("author_submitExtrinsic", "0x" + ours.hex())["result"]
    receipt = node.wait_for("the receipt", lambda: node.call("chain_getReceipt", tx_hash)["result"])
    assert receipt["success"] is True
    again = node.call("author_submitExtrinsic", "0x" + ours.hex())["error"]
    # Remembered as committed (1013), or, once forgotten, a stale nonce (1010).
    assert again["code"] in (1010, 1013), again
    assert again["data"].startswith(("already imported", "stale nonce"))
    assert json.dumps(again).count("Traceback") == 0
