"""What it costs an attacker, in fees, to fill every block for an hour (P1).

Reads the fee parameters (genesis defaults, or a genesis file's), the weight
table of the runtime (pallets/support/weights.json) and the block limits,
and prints, for every signed call, the fee of one extrinsic of it at its
smallest encoding, its fee per microsecond of weight, and the cost of filling
one block's weight with it; then the cheapest way to fill the blocks of one
hour at a given block rate. Nothing is measured: it is arithmetic on the
parameters, so an operator can re-run it after changing them.

    .venv/bin/python scripts/attack_cost.py [--genesis genesis.json] [--blocks-per-second 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from genesis.build import load_genesis
from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic
from pallets import construct
from pallets.support.params import defaults

# The smallest arguments of each kind (the cheapest encoding an attacker can send).
SMALLEST = {"account": bytes(32), "hash": bytes(32), "bool": False}


def smallest_args(call: object) -> dict[str, object]:
    from pallets.support.argtypes import Bytes, Enum, Int, List, Optional, Record, Text

    def value(kind: object) -> object:
        if isinstance(kind, Int):
            return kind.minimum
        if isinstance(kind, Bytes | Text):
            return b"" if isinstance(kind, Bytes) else ""
        if isinstance(kind, Enum):
            return kind.values[0]
        if isinstance(kind, List):
            return [value(kind.of) for _ in range(kind.min_len)]
        if isinstance(kind, Optional):
            return None
        if isinstance(kind, Record):
            return [value(t) for _, t in kind.fields]
        return SMALLEST.get(getattr(kind, "name", ""), bytes(32))

    return {name: value(kind) for name, kind in call.args}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genesis", type=Path, help="a genesis.json (default: the defaults)")
    parser.add_argument("--blocks-per-second", type=float, default=4.0)
    args = parser.parse_args()
    params = load_genesis(args.genesis).param_values() if args.genesis else defaults()
    pay, system = params["payment"], params["system"]
    registry = construct.registry()
    key = Keypair.dev("alice")
    rows = []
    for pallet in registry.pallets:
        for call in pallet.calls:
            if call.origin != "signed":
                continue
            call_args = smallest_args(call)
            operations = call.weight_of(call_args)
            raw = Extrinsic.create(
                key, 0, 0, Call(pallet.name, call.name, call_args), bytes(32)
            ).encode()
            weight = registry.weights.weight(call, operations)
            fee = pay["base_fee"] + len(raw) * pay["byte_fee"] + weight * pay["weight_fee"]
            per_block = min(
                system["max_block_weight"] // weight,
                system["max_block_bytes"] // len(raw),
                system["max_block_extrinsics"],
            )
            rows.append(
                (fee / weight, f"{pallet.name}.{call.name}", len(raw), weight, fee, per_block)
            )
    rows.sort()
    print(f"fees: base {pay['base_fee']}, per byte {pay['byte_fee']}, per us {pay['weight_fee']}")
    print(
        f"block: {system['max_block_weight']} us, {system['max_block_bytes']} bytes, "
        f"{system['max_block_extrinsics']} extrinsics"
    )
    heading = ("call", "bytes", "weight us", "fee", "fee/us", "per block", "block cost")
    print("{:28} {:>6} {:>10} {:>10} {:>7} {:>9} {:>12}".format(*heading))
    for ratio, name, size, weight, fee, per_block in rows:
        cost = fee * per_block
        print(f"{name:28} {size:6} {weight:10} {fee:10} {ratio:7.2f} {per_block:9} {cost:12}")

    # The filler: the call that fills a block (>= 90% of its weight, bytes or count)
    # for the least; a heavy call whose copies leave a quarter of the block empty
    # does not fill it, however low its fee per microsecond.
    def filled(row: tuple[float, str, int, int, int, int]) -> float:
        _, _, size, weight, _, per_block = row
        return max(
            per_block * weight / system["max_block_weight"],
            per_block * size / system["max_block_bytes"],
            per_block / system["max_block_extrinsics"],
        )

    fillers = sorted((row[4] * row[5], row) for row in rows if filled(row) >= 0.9)
    _, (_, name, _, _, fee, per_block) = fillers[0]
    blocks = int(args.blocks_per_second * 3600)
    hour = fee * per_block * blocks
    print(
        f"\ncheapest filler: {name}; {per_block} per block at {fee} each = {fee * per_block} "
        f"minor units per full block"
    )
    print(
        f"one hour of full blocks at {args.blocks_per_second:g} blocks/s ({blocks} blocks): "
        f"{hour} minor units = {hour / 10**6:,.0f} CRED (6 decimals)"
    )


if __name__ == "__main__":
    main()
