"""The extrinsics the attacks sign: the heaviest ``credit.submit`` and a plain transfer."""

from __future__ import annotations

import random

from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic


def heavy_credit_submit(
    key: Keypair, nonce: int, valid_until: int, genesis_hash: bytes, rng: random.Random
) -> bytes:
    """A signed ``credit.submit`` at every size limit: 8 borrowers, 4 text hashes (the
    texts live off chain, F10), 8 documents, 8 providers. Fund 0 need not exist: the
    call is paid for (or not) and executed all the same."""

    args = {
        "fund": 0,
        "borrowers": [key.public] + [rng.randbytes(32) for _ in range(7)],
        "amount": 10**6,
        "purpose": "productive_enterprise",
        "recipient": key.public,
        "term": 365 * 86_400,
        "installments": 12,
        "what_hash": rng.randbytes(32),
        "repayment_good_hash": rng.randbytes(32),
        "repayment_bad_hash": rng.randbytes(32),
        "trust_reasons_hash": rng.randbytes(32),
        "documents": [rng.randbytes(32) for _ in range(8)],
        "providers": [rng.randbytes(32) for _ in range(8)],
    }
    call = Call("credit", "submit", args)
    return Extrinsic.create(key, nonce, valid_until, call, genesis_hash).encode()


def transfer(
    key: Keypair, nonce: int, dest: bytes, amount: int, valid_until: int, genesis_hash: bytes
) -> Extrinsic:
    call = Call("balances", "transfer", {"amount": amount, "dest": dest})
    return Extrinsic.create(key, nonce, valid_until, call, genesis_hash)
