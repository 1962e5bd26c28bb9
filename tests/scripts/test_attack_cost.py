"""docs/operations.md tells operators to run scripts/attack_cost.py: it runs and adds up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "scripts/attack_cost.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_attack_cost_prints_every_signed_call_and_an_hour() -> None:
    from pallets import construct

    out = run()
    signed = [
        f"{p.name}.{c.name}"
        for p in construct.registry().pallets
        for c in p.calls
        if c.origin == "signed"
    ]
    assert all(name in out for name in signed)
    hour = [line for line in out.splitlines() if line.startswith("one hour of full blocks")]
    assert len(hour) == 1 and "CRED" in hour[0]
    # A block filled to at least 90% of max_block_weight costs at least that many
    # microseconds times weight_fee (the defaults: 250 000 us, 10 per us).
    per_block = [line for line in out.splitlines() if line.startswith("cheapest filler")]
    cost = int(per_block[0].split(" = ")[1].split()[0])
    assert cost >= 250_000 * 9


def test_attack_cost_reads_a_genesis(tmp_path: Path) -> None:
    from genesis.build import dump_genesis
    from genesis.localnet import localnet_doc
    from ledger.crypto import Keypair, blake2b256

    doc = localnet_doc([Keypair.from_seed(blake2b256(b"v"))], genesis_time=1_700_000_000)
    path = tmp_path / "genesis.json"
    dump_genesis(doc, path)
    out = run("--genesis", str(path), "--blocks-per-second", "2")
    assert "(7200 blocks)" in out
