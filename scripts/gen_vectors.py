"""Generate tests/vectors/extrinsics.json: signed extrinsics from fixed seeds.

Wallet authors in other languages test against this file, so its content is
stable: re-running this script must reproduce it byte for byte (a test checks).

    .venv/bin/python scripts/gen_vectors.py          # rewrite the file
    .venv/bin/python scripts/gen_vectors.py --check  # exit 1 if it differs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.crypto import Keypair, blake2b256
from ledger.types import Call, Extrinsic

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "extrinsics.json"


def _calls() -> list[tuple[int, int, Call]]:
    bob = Keypair.dev("bob").public
    big = 2**64 - 1
    return [
        (0, 100, Call("balances", "transfer", {"amount": 150_000, "dest": bob})),
        (1, 0, Call("balances", "transfer", {"amount": 1, "dest": bytes(32)})),
        (7, 2**32, Call("balances", "transfer", {"amount": big, "dest": bob})),
        (0, 5, Call("system", "remark", {"text": "hello, community"})),
        (2, 9, Call("system", "remark", {"text": "ñandú · 信用 · ✓"})),
        (3, 10, Call("test", "shapes", {"neg": -42, "nil": None, "flag": True})),
        (4, 11, Call("test", "nested", {"list": [1, [2, [3, b"\x00\xff"]], "x"]})),
        (5, 12, Call("test", "maps", {"m": {"b": 2, "a": {"z": [], "y": {}}}, "e": ""})),
        (6, 13, Call("funds", "create", {"name": "FundZine", "contribution": 1000})),
        (8, 14, Call("test", "bytes", {"blob": bytes(range(256)), "empty": b""})),
        (9, 2**63, Call("test", "ints", {"a": 127, "b": 128, "c": -32, "d": -33, "e": 2**32})),
        (2**40, 15, Call("test", "empty", {})),
    ]


def build() -> list[dict[str, Any]]:
    vectors = []
    for index, (nonce, valid_until, call) in enumerate(_calls()):
        seed = blake2b256(b"credichain-vector/" + str(index).encode())
        genesis_hash = blake2b256(b"credichain-vector-genesis/" + str(index % 3).encode())
        key = Keypair.from_seed(seed)
        ext = Extrinsic.create(key, nonce, valid_until, call, genesis_hash)
        vectors.append(
            {
                "seed": "0x" + seed.hex(),
                "genesis_hash": "0x" + genesis_hash.hex(),
                "signing_payload": "0x" + ext.signing_payload(genesis_hash).hex(),
                "extrinsic": "0x" + ext.encode().hex(),
                "hash": "0x" + ext.hash.hex(),
            }
        )
    return vectors


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} differs from what the generator produces", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
