"""Signed test chains built in-process, for replay tests and the replay benchmark.

Theory of operation
-------------------
``ChainBuilder`` drives a real ``node.daemon.chain.Chain`` (over ``MemoryKV``, or
LevelDB when given a path) the way consensus would, without processes or
sockets: for every height it asks the chain to build a block from the given
extrinsics (the round-0 proposer of the height's set proposes), signs
precommits for it with the validator keys it holds, turns them into a commit
and commits the block. The commit carries the smallest quorum, in key
order, of the validators of that height, so a validator-set change executed
at h is followed: from h+2 on the new set signs.

Time: block h+1 carries the BFT time of block h's commit, and the builder
stamps that commit ``next_in_ms`` after block h (one second unless told), so
a script makes time pass (a review period, an epoch, a default period) by
choosing when the next block comes, as validators idle through it would.

Keys and accounts are derived from fixed seeds, so two builders with the
same arguments build byte-identical chains. This is a development tool: its
validator keys are public and its genesis is marked ``localnet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from consensus import proposer_of
from consensus.commit import build_commit
from consensus.types import is_quorum
from genesis.build import parse_genesis
from genesis.localnet import localnet_doc
from genesis.schema import GenesisDoc
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.kv import LevelDBKV, MemoryKV
from ledger.types import (
    Block,
    Call,
    Commit,
    Event,
    Extrinsic,
    Receipt,
    ValidatorSet,
    Vote,
    VoteType,
    vote_sign_bytes,
)
from node.daemon.chain import Chain
from pallets.executive.verify import BatchVerifier

GENESIS_TIME: Final = 1_700_000_000
ACCOUNT_BALANCE: Final = 10**15
# Precommits are stamped one second after the block, so block times advance by 1 s.
PRECOMMIT_DELAY_MS: Final = 1000


def validator_key(index: int) -> Keypair:
    return Keypair.from_seed(blake2b256(b"replay-validator-%d" % index))


def account_key(index: int) -> Keypair:
    return Keypair.from_seed(blake2b256(b"replay-account-%d" % index))


def builder_genesis(validators: Sequence[Keypair], accounts: int) -> GenesisDoc:
    """A localnet genesis for ``validators`` with ``accounts`` extra funded accounts."""
    doc = localnet_doc(list(validators), genesis_time=GENESIS_TIME)
    data = doc.to_json_dict()
    data["balances"] = list(data["balances"]) + [
        {"account": encode_address(account_key(i).public), "amount": str(ACCOUNT_BALANCE)}
        for i in range(accounts)
    ]
    return parse_genesis(data, "replay test genesis")


@dataclass(frozen=True, slots=True)
class BuiltBlock:
    block: Block
    commit: Commit
    # what executing the block gave: each extrinsic's receipt, the hooks' events
    receipts: tuple[Receipt, ...] = ()
    events: tuple[Event, ...] = ()


class ChainBuilder:
    def __init__(
        self,
        *,
        validators: int = 4,
        accounts: int = 8,
        path: Path | None = None,
        extra_keys: Sequence[Keypair] = (),
    ) -> None:
        self.validator_keys = [validator_key(i) for i in range(validators)]
        self.accounts = [account_key(i) for i in range(accounts)]
        self.genesis = builder_genesis(self.validator_keys, accounts)
        self.keys = {k.public: k for k in (*self.validator_keys, *extra_keys)}
        kv = MemoryKV() if path is None else LevelDBKV(path)
        self.chain = Chain(kv, self.genesis, verifier=BatchVerifier(1))
        self.nonces: dict[bytes, int] = {}
        self.last_commit: Commit | None = None
        self.built: list[BuiltBlock] = []

    @property
    def genesis_hash(self) -> bytes:
        return self.chain.genesis_hash

    @property
    def next_block_time_ms(self) -> int:
        """The timestamp the next block will carry (the BFT time of the last commit)."""
        return self.chain.block_time_for(self.chain.height + 1, self.last_commit)

    def close(self) -> None:
        self.chain.close()

    # ------------------------------------------------------------ extrinsics

    def sign(self, key: Keypair, pallet: str, function: str, args: dict[str, Any]) -> bytes:
        nonce = self.nonces.get(key.public, 0)
        self.nonces[key.public] = nonce + 1
        call = Call(pallet, function, args)
        valid_until = self.chain.height + 1000
        return Extrinsic.create(key, nonce, valid_until, call, self.genesis_hash).encode()

    def transfer(self, key: Keypair, dest: bytes, amount: int) -> bytes:
        return self.sign(key, "balances", "transfer", {"dest": dest, "amount": amount})

    def transfers(self, count: int, *, amount: int = 1) -> list[bytes]:
        """``count`` transfers, round-robin over the funded accounts (each to the next)."""
        n = len(self.accounts)
        return [
            self.transfer(self.accounts[i % n], self.accounts[(i + 1) % n].public, amount)
            for i in range(count)
        ]

    # ------------------------------------------------------------ blocks

    def add_block(
        self, extrinsics: Sequence[bytes] = (), *, next_in_ms: int = PRECOMMIT_DELAY_MS
    ) -> BuiltBlock:
        """Build, sign and commit the next block; the one after comes ``next_in_ms`` later."""
        chain = self.chain
        height = chain.height + 1
        validators = chain.validators_for(height)
        executed = chain.build_block(
            proposer=self.keys[proposer_of(validators, height, 0)],
            round_=0,
            last_commit=self.last_commit,
            candidates=list(extrinsics),
            max_count=len(extrinsics) or None,
        )
        if executed.result.rejected:
            _raw, why = executed.result.rejected[0]
            raise ValueError(f"height {height}: the chain refused an extrinsic: {why.reason}")
        if len(executed.block.extrinsics) != len(extrinsics):
            raise ValueError(
                f"height {height}: only {len(executed.block.extrinsics)} of "
                f"{len(extrinsics)} extrinsics fit in the block"
            )
        block = executed.block
        commit = self.sign_commit(block, delay_ms=next_in_ms)
        chain.commit_block(block, commit)
        self.last_commit = commit
        result = executed.result
        built = BuiltBlock(block, commit, result.receipts, result.events)
        self.built.append(built)
        return built

    def sign_commit(
        self,
        block: Block,
        *,
        round_: int = 0,
        validators: ValidatorSet | None = None,
        delay_ms: int = PRECOMMIT_DELAY_MS,
    ) -> Commit:
        """Precommits for ``block`` from the smallest quorum (in key order) of its set
        (or of ``validators``, to forge a commit by another set), stamped ``delay_ms``
        after the block (so the next block's time)."""
        if delay_ms < 1:
            raise ValueError(f"delay_ms must be at least 1 (block times increase), not {delay_ms}")
        height = block.header.height
        if validators is None:
            validators = self.chain.validators_for(height)
        timestamp = block.header.timestamp_ms + delay_ms
        votes: list[Vote] = []
        signed = 0
        for validator in validators.validators:
            key = self.keys.get(validator.public)
            if key is None:
                continue
            message = vote_sign_bytes(
                self.genesis_hash, height, round_, VoteType.PRECOMMIT, block.hash, timestamp
            )
            votes.append(
                Vote(
                    VoteType.PRECOMMIT,
                    height,
                    round_,
                    block.hash,
                    timestamp,
                    key.public,
                    key.sign(message),
                )
            )
            signed += validator.power
            if is_quorum(signed, validators.total_power):
                return build_commit(height, round_, block.hash, votes)
        raise ValueError(f"height {height}: the builder holds no quorum of the validator set")
