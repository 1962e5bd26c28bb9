"""One-shot network generator for the container deployments (compose and k8s).

Theory of operation: like ``credichain localnet`` (node/cli/localnet.py), but each
validator advertises its own container host name (``validator-0:30333``, ...)
instead of 127.0.0.1 with consecutive ports, and every node listens on
0.0.0.0 with the image's standard ports. It writes ``OUT/genesis.json`` and one
node home per validator (``OUT/validator-<i>/``: config.toml, genesis.json,
node_key.json, validator_key.json). Running it again on a finished directory
changes nothing, so the compose init service is safe to re-run.

Usage: python deploy/init_network.py OUT [--validators 4] [--host-pattern
validator-{index}] [--port 30333] [--chain NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from genesis.build import dump_genesis, load_genesis
from genesis.localnet import localnet_doc
from ledger.crypto import Keypair
from node.cli.node import init_home
from node.daemon.config import MetricsSection, NodeConfig, NodeSection, P2PSection, RpcSection

P2P_PORT, RPC_PORT, METRICS_PORT = 30333, 9944, 9615


def generate(out: Path, validators: int, host_pattern: str, port: int, chain: str) -> list[Path]:
    """Create the network in ``out`` (or return the existing homes untouched)."""
    if not 1 <= validators <= 100:
        raise ValueError(f"--validators must be between 1 and 100, got {validators}")
    if "{index}" not in host_pattern:
        raise ValueError(f"--host-pattern {host_pattern!r} must contain {{index}}")
    genesis_path = out / "genesis.json"
    if genesis_path.exists():
        doc = load_genesis(genesis_path)
        return [out / f"validator-{i}" for i in range(len(doc.validators))]
    out.mkdir(parents=True, exist_ok=True)
    keys = [Keypair.generate() for _ in range(validators)]
    doc = localnet_doc(keys, chain=chain, genesis_time=int(time.time()), base_port=port)
    addressed = [
        v.model_copy(update={"address": f"{host_pattern.format(index=i)}:{port}"})
        for i, v in enumerate(doc.validators)
    ]
    doc = doc.model_copy(update={"validators": addressed})
    # Homes first, genesis last: its presence marks a finished directory.
    staging = out / "genesis.json.partial"
    dump_genesis(doc, staging)
    homes = []
    for index, key in enumerate(keys):
        home = out / f"validator-{index}"
        config = NodeConfig(
            node=NodeSection(moniker=f"validator-{index}", log_format="json"),
            p2p=P2PSection(listen=f"0.0.0.0:{port}"),
            rpc=RpcSection(listen=f"0.0.0.0:{RPC_PORT}"),
            metrics=MetricsSection(listen=f"0.0.0.0:{METRICS_PORT}"),
        )
        init_home(
            home,
            genesis_file=staging,
            validator_key=key,
            config=config,
            localnet=True,
            passphrase=None,
        )
        homes.append(home)
    staging.rename(genesis_path)
    return homes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--host-pattern", default="validator-{index}")
    parser.add_argument("--port", type=int, default=P2P_PORT)
    parser.add_argument("--chain", default="credichain-compose")
    args = parser.parse_args(argv)
    try:
        homes = generate(args.out, args.validators, args.host_pattern, args.port, args.chain)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for home in homes:
        print(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
