"""The worked examples of the protocol documents, computed by the code.

Each ``<!-- example: NAME -->`` block in docs/PROTOCOL.md, docs/protocol/*.md
and docs/consensus.md is compared with ``EXAMPLES[NAME]()`` by
``test_documented_examples.py``. The examples use fill bytes (``XX×N`` in
the documents) instead of real keys and signatures: they show the layout
of the bytes; the signed, verifying vectors are tests/vectors/protocol.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ledger import codec
from ledger.types import (
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
    vote_sign_bytes,
)
from pallets.system.storage import VALIDATOR_CHANGES, VALIDATORS


def fill(byte: int, n: int) -> bytes:
    return bytes([byte]) * n


GENESIS: Final = fill(0x11, 32)
BLOCK_HASH: Final = fill(0x22, 32)
KEY_A: Final = fill(0xAA, 32)
KEY_B: Final = fill(0xBB, 32)
SIG_1: Final = fill(0x55, 64)
SIG_2: Final = fill(0x66, 64)
TIME_MS: Final = 1_700_000_000_123


def extrinsic() -> bytes:
    call = Call("system", "remark", {"text": "hi"})
    return Extrinsic(KEY_A, 0, 100, call, SIG_1).encode()


def header() -> bytes:
    return Header(
        height=7,
        timestamp_ms=TIME_MS,
        parent_hash=fill(0x01, 32),
        last_commit_hash=fill(0x02, 32),
        extrinsics_root=fill(0x03, 32),
        evidence_root=fill(0x04, 32),
        state_root=fill(0x05, 32),
        receipts_root=fill(0x06, 32),
        events_root=fill(0x07, 32),
        validators_hash=fill(0x08, 32),
        next_validators_hash=fill(0x09, 32),
        proposer=KEY_A,
        proposal_round=2,
        vrf_proof=fill(0x0A, 80),
    ).encode()


def _header() -> Header:
    return Header.from_wire(codec.decode(header()))


def vote() -> bytes:
    v = Vote(VoteType.PREVOTE, 7, 2, BLOCK_HASH, TIME_MS, KEY_B, SIG_1)
    return codec.encode(v.to_wire())


def _votes() -> tuple[Vote, Vote]:
    a = Vote(VoteType.PREVOTE, 7, 2, BLOCK_HASH, TIME_MS, KEY_B, SIG_1)
    b = Vote(VoteType.PREVOTE, 7, 2, None, TIME_MS, KEY_B, SIG_2)
    first, second = sorted((a, b), key=lambda v: codec.encode(v.to_wire()))
    return first, second


def evidence() -> bytes:
    return codec.encode(Evidence(*_votes()).to_wire())


def _commit() -> Commit:
    return Commit(
        7, 2, BLOCK_HASH, (CommitSig(KEY_A, TIME_MS, SIG_1), CommitSig(KEY_B, TIME_MS + 1, SIG_2))
    )


def commit() -> bytes:
    return _commit().encode()


def proposal() -> bytes:
    return codec.encode(Proposal(7, 2, -1, BLOCK_HASH, KEY_A, SIG_1).to_wire())


def block() -> bytes:
    return Block(_header(), (extrinsic(),), _commit(), (Evidence(*_votes()),)).encode()


def block_empty() -> bytes:
    return Block(_header(), (), None, ()).encode()


def event() -> bytes:
    return codec.encode(
        Event("payment", "FeePaid", {"who": KEY_A, "fee": 1500, "allowance": 0}).to_wire()
    )


def receipt_ok() -> Receipt:
    return Receipt(
        fill(0x44, 32),
        True,
        None,
        (
            Event("payment", "FeePaid", {"who": KEY_A, "fee": 1500, "allowance": 0}),
            Event("balances", "Transferred", {"sender": KEY_A, "dest": KEY_B, "amount": 150_000}),
        ),
    )


def receipt() -> bytes:
    return receipt_ok().encode()


def receipt_failed() -> bytes:
    return Receipt(
        fill(0x44, 32),
        False,
        DispatchError("balances", "InsufficientBalance", "I2", "too poor"),
        (Event("payment", "FeePaid", {"who": KEY_A, "fee": 1500, "allowance": 0}),),
    ).encode()


def validator_set() -> bytes:
    return codec.encode(ValidatorSet((Validator(KEY_A, 10), Validator(KEY_B, 300))).to_wire())


def key_validators() -> bytes:
    return VALIDATORS.key


def key_validator_changes_9() -> bytes:
    return VALIDATOR_CHANGES.key(9)


EXAMPLES: Final[dict[str, Callable[[], bytes]]] = {
    "vote_sign_bytes": lambda: vote_sign_bytes(
        GENESIS, 7, 2, VoteType.PRECOMMIT, BLOCK_HASH, TIME_MS
    ),
    "proposal_sign_bytes": lambda: Proposal.sign_bytes_of(GENESIS, 7, 2, -1, BLOCK_HASH),
    "block_vrf_alpha": lambda: block_vrf_alpha(GENESIS, 7, 2, fill(0x33, 64)),
    "extrinsic": extrinsic,
    "header": header,
    "vote": vote,
    "proposal": proposal,
    "commit": commit,
    "evidence": evidence,
    "block": block,
    "block_empty": block_empty,
    "event": event,
    "receipt": receipt,
    "receipt_failed": receipt_failed,
    "validator_set": validator_set,
    "key_validators": key_validators,
    "key_validator_changes_9": key_validator_changes_9,
}
