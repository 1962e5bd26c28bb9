"""Generate tests/vectors/protocol.json: one vector per hashed or signed structure.

docs/conformance.md lists, for each structure, the document section that
defines it and the vector here that pins it. Every value comes from fixed
seeds and constants, so re-running this script reproduces the file byte for
byte; ``tests/vectors/test_protocol_vectors.py`` checks that, and checks each
vector again from the documented recipes (so a change of encoding fails).

    .venv/bin/python scripts/make_vectors.py          # rewrite the file
    .venv/bin/python scripts/make_vectors.py --check  # exit 1 if it differs

The extrinsic vectors are in tests/vectors/extrinsics.json (scripts/gen_vectors.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from consensus.proposer import proposer_of
from genesis.build import genesis_hash, genesis_header, genesis_state
from genesis.localnet import localnet_doc
from ledger import codec, vrf
from ledger.crypto import Keypair, blake2b256
from ledger.kv import MemoryKV
from ledger.merkle import merkle_root
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import (
    GENESIS_VRF_OUTPUT,
    Block,
    Call,
    Commit,
    CommitSig,
    DispatchError,
    Event,
    Evidence,
    Extrinsic,
    Header,
    Proposal,
    Receipt,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    block_vrf_alpha,
    events_root,
    evidence_root,
    extrinsics_root,
    receipts_root,
)
from pallets.system.storage import VALIDATOR_CHANGES, VALIDATORS

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "protocol.json"

GENESIS_HASH = blake2b256(b"credichain-vector-genesis/protocol")
GENESIS_TIME = 1_700_000_000


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def key(name: str) -> Keypair:
    """The vector key ``name``: its seed is ``H("credichain-vector/" + name)``."""
    return Keypair.from_seed(blake2b256(b"credichain-vector/" + name.encode()))


def _validator_set() -> tuple[ValidatorSet, list[Keypair]]:
    keys = sorted((key(n) for n in ("v0", "v1", "v2", "v3")), key=lambda k: k.public)
    powers = [3, 1, 1, 1]
    validators = tuple(Validator(k.public, p) for k, p in zip(keys, powers, strict=True))
    return ValidatorSet(validators), keys


def _validator_set_vector() -> dict[str, Any]:
    vs, _ = _validator_set()
    encoded = codec.encode(vs.to_wire())
    return {
        "about": "PROTOCOL.md §4: validator_set, validators_hash, its two storage keys",
        "validators": [[_hex(v.public), v.power] for v in vs.validators],
        "encoding": _hex(encoded),
        "hash": _hex(vs.hash),
        "storage_key_validators": _hex(VALIDATORS.key),
        "storage_key_change_at_5": _hex(VALIDATOR_CHANGES.key(5)),
        "storage_value": _hex(encoded),
    }


def _proposer_vector() -> dict[str, Any]:
    vs, _ = _validator_set()
    return {
        "about": "protocol/consensus.md §6: proposer of (height, round) for the set above",
        "schedule": [
            {"height": h, "round": r, "proposer": _hex(proposer_of(vs, h, r))}
            for h in range(0, 8)
            for r in range(0, 3)
        ],
    }


def _signed_parts() -> dict[str, Any]:
    """Votes, proposal, commit, evidence, extrinsic, receipts and a block at height 2."""
    vs, keys = _validator_set()
    parent = blake2b256(b"credichain-vector/block-1")
    t1 = GENESIS_TIME * 1000 + 1
    precommits = [
        Vote.create(k, GENESIS_HASH, VoteType.PRECOMMIT, 1, 0, parent, t1 + 1000 + i)
        for i, k in enumerate(keys[:3])
    ]
    commit = Commit(
        1, 0, parent, tuple(CommitSig(v.validator, v.timestamp_ms, v.signature) for v in precommits)
    )
    offender = keys[2]
    votes = sorted(
        (
            Vote.create(
                offender, GENESIS_HASH, VoteType.PREVOTE, 2, 0, blake2b256(b"x"), t1 + 2000
            ),
            Vote.create(offender, GENESIS_HASH, VoteType.PREVOTE, 2, 0, None, t1 + 2001),
        ),
        key=lambda v: codec.encode(v.to_wire()),
    )
    evidence = Evidence(votes[0], votes[1])
    alice = key("alice")
    extrinsic = Extrinsic.create(
        alice,
        0,
        100,
        Call("balances", "transfer", {"amount": 150_000, "dest": key("bob").public}),
        GENESIS_HASH,
    )
    failed = Extrinsic.create(
        alice,
        1,
        100,
        Call("balances", "transfer", {"amount": 2**63, "dest": key("bob").public}),
        GENESIS_HASH,
    )
    fee = Event("payment", "FeePaid", {"who": alice.public, "fee": 1500, "allowance": 0})
    receipts = [
        Receipt(
            extrinsic.hash,
            True,
            None,
            (
                fee,
                Event(
                    "balances",
                    "Transferred",
                    {"sender": alice.public, "dest": key("bob").public, "amount": 150_000},
                ),
            ),
        ),
        Receipt(
            failed.hash,
            False,
            DispatchError("balances", "InsufficientBalance", "I2", "balance 9998500 < 2**63"),
            (fee,),
        ),
    ]
    hook_events = [Event("system", "EpochStarted", {"epoch": 1})]
    proposer = keys[1]
    alpha = block_vrf_alpha(GENESIS_HASH, 2, 0, GENESIS_VRF_OUTPUT)
    proof = vrf.prove(proposer, alpha)
    header = Header(
        height=2,
        timestamp_ms=t1 + 1001,
        parent_hash=parent,
        last_commit_hash=commit.hash,
        extrinsics_root=extrinsics_root([extrinsic.encode(), failed.encode()]),
        evidence_root=evidence_root([evidence]),
        state_root=blake2b256(b"credichain-vector/state-root"),
        receipts_root=receipts_root(receipts),
        events_root=events_root(hook_events),
        validators_hash=vs.hash,
        next_validators_hash=vs.hash,
        proposer=proposer.public,
        proposal_round=0,
        vrf_proof=proof,
    )
    block = Block(header, (extrinsic.encode(), failed.encode()), commit, (evidence,))
    proposal = Proposal(
        2,
        0,
        -1,
        header.hash,
        proposer.public,
        proposer.sign(Proposal.sign_bytes_of(GENESIS_HASH, 2, 0, -1, header.hash)),
    )
    return {
        "about": "signed with the vector keys H('credichain-vector/' + name); genesis hash "
        "H('credichain-vector-genesis/protocol'); the block's state_root is a fill value "
        "(the block is not executed), every other root is computed from its contents",
        "genesis_hash": _hex(GENESIS_HASH),
        "vote": {
            "seed_name": "the first validator key by public key",
            "sign_bytes": _hex(precommits[0].sign_bytes(GENESIS_HASH)),
            "encoding": _hex(codec.encode(precommits[0].to_wire())),
        },
        "proposal": {
            "sign_bytes": _hex(proposal.sign_bytes(GENESIS_HASH)),
            "encoding": _hex(codec.encode(proposal.to_wire())),
        },
        "commit": {"encoding": _hex(commit.encode()), "hash": _hex(commit.hash)},
        "evidence": {
            "encoding": _hex(codec.encode(evidence.to_wire())),
            "hash": _hex(evidence.hash),
        },
        "extrinsics": [_hex(extrinsic.encode()), _hex(failed.encode())],
        "receipts": [_hex(r.encode()) for r in receipts],
        "hook_events": [_hex(codec.encode(e.to_wire())) for e in hook_events],
        "block_vrf": {
            "alpha": _hex(alpha),
            "proof": _hex(proof),
            "output": _hex(vrf.proof_to_hash(proof)),
        },
        "header": {"encoding": _hex(header.encode()), "hash": _hex(header.hash)},
        "block": {"encoding": _hex(block.encode()), "hash": _hex(block.hash)},
    }


def _merkle_vector() -> list[dict[str, Any]]:
    out = []
    for n in range(6):
        items = [bytes([i]) * (i + 1) for i in range(n)]
        out.append({"items": [_hex(x) for x in items], "root": _hex(merkle_root(items))})
    return out


def _state_vector() -> dict[str, Any]:
    pairs = {
        b"system/number": codec.encode(7),
        b"system/chain": codec.encode("vector"),
        b"balances/free/" + bytes(32): codec.encode(1_000_000),
        b"balances/free/" + bytes([1]) * 32: codec.encode(42),
    }
    trie = StateTrie(MemoryKV())
    staged = trie.stage(EMPTY_ROOT, dict(sorted(pairs.items())), 0)
    trie.commit(EMPTY_ROOT, dict(sorted(pairs.items())), 0)
    proven = b"system/number"
    return {
        "about": "protocol/trie.md: the state root of these pairs, and a read proof",
        "pairs": [[_hex(k), _hex(v)] for k, v in sorted(pairs.items())],
        "root": _hex(staged.root),
        "proof_key": _hex(proven),
        "proof_nodes": [_hex(n) for n in trie.prove(staged.root, [proven])],
    }


def _genesis_vector() -> dict[str, Any]:
    keys = [key(f"v{i}") for i in range(4)]
    doc = localnet_doc(keys, chain="credichain-vector", genesis_time=GENESIS_TIME)
    document = json.dumps(doc.to_json_dict(), indent=2) + "\n"
    state = genesis_state(doc)
    root = StateTrie(MemoryKV()).stage(EMPTY_ROOT, state, 0).root
    header = genesis_header(doc, root)
    return {
        "about": "PROTOCOL.md §3 and genesis/build.py: a localnet genesis document, the root "
        "of its state, block 0's header and the genesis hash",
        "document": document,
        "state_pairs": len(state),
        "state_root": _hex(root),
        "header": _hex(header.encode()),
        "hash": _hex(genesis_hash(doc)),
    }


def build() -> dict[str, Any]:
    return {
        "validator_set": _validator_set_vector(),
        "proposer": _proposer_vector(),
        "chain": _signed_parts(),
        "merkle": _merkle_vector(),
        "state": _state_vector(),
        "genesis": _genesis_vector(),
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from what the generator produces", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
