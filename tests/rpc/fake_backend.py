"""An in-memory ``RpcBackend`` for the RPC, client and wallet tests.

A tiny chain: a genesis block, a pool, and ``produce_block`` which puts the
pool into a block, applies ``balances.transfer`` calls to a dict state, and
publishes the events a real node publishes (new head, in-block, finalized).
Admission follows spec/wire.md §4: canonical bytes, signature, nonce,
mortality, known call, declared argument types; the refusal codes are the
ones of spec/rpc.md. Tests can force a 1012/1014 refusal with ``banned`` and
``pool_limit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio

from ledger import codec
from ledger.codec import DecodeError
from ledger.crypto import Keypair, blake2b256
from ledger.overlay import MemoryState, StateReader
from ledger.types import (
    Block,
    Commit,
    CommitSig,
    DispatchError,
    Event,
    Extrinsic,
    Header,
    Receipt,
    Validator,
    ValidatorSet,
    VoteType,
    events_root,
    evidence_root,
    extrinsics_root,
    receipts_root,
    vote_sign_bytes,
)
from rpc.backend import (
    ChainEvent,
    ChainInfo,
    ExtrinsicRejected,
    ExtrinsicStatus,
    Finalized,
    FinalizedHead,
    Health,
    InBlock,
    NewHead,
    PeerInfo,
    ReceiptRecord,
    StateUnavailable,
    Topics,
)
from rpc.encoding import Address
from rpc.errors import EXTRINSIC_ALREADY_IMPORTED, EXTRINSIC_BANNED, EXTRINSIC_POOL_FULL
from rpc.events import EventHub
from rpc.methods import standard_registry
from rpc.registry import MethodRegistry, Params

BALANCE_PREFIX = b"balances/free/"
VALIDATOR = Keypair.dev("validator-1")
INITIAL = {"alice": 1_000_000_000, "bob": 500_000_000}
TOKEN_DECIMALS = 6


def balance_key(account: bytes) -> bytes:
    return BALANCE_PREFIX + account


class FakeBackend:
    def __init__(self) -> None:
        self.hub = EventHub()
        self.pool: list[tuple[bytes, Extrinsic]] = []
        self.pool_hashes: set[bytes] = set()
        self.nonces: dict[bytes, int] = {}
        self.banned: set[bytes] = set()
        self.pool_limit = 10_000
        self.pruned: set[bytes] = set()
        self.validators = ValidatorSet.of([Validator(VALIDATOR.public, 10)])
        state = {
            balance_key(Keypair.dev(name).public): codec.encode(amount)
            for name, amount in INITIAL.items()
        }
        genesis = self._header(0, 0, bytes(32), bytes(32), [], [], state)
        self.genesis_hash = genesis.hash
        self.blocks: dict[bytes, Block] = {genesis.hash: Block(genesis, (), None)}
        self.by_height: list[bytes] = [genesis.hash]
        self.states: dict[bytes, dict[bytes, bytes]] = {genesis.hash: state}
        self.commits: dict[bytes, Commit] = {}
        self.receipts: dict[bytes, ReceiptRecord] = {}
        self.submitted = 0

    def _header(
        self,
        height: int,
        timestamp: int,
        parent: bytes,
        last_commit_hash: bytes,
        exts: list[bytes],
        receipts: list[Receipt],
        state: dict[bytes, bytes],
    ) -> Header:
        state_root = blake2b256(codec.encode(sorted(state.items())))
        events = [e for r in receipts for e in r.events]
        return Header(
            height=height,
            timestamp_ms=timestamp,
            parent_hash=parent,
            last_commit_hash=last_commit_hash,
            extrinsics_root=extrinsics_root(exts),
            evidence_root=evidence_root([]),
            state_root=state_root,
            receipts_root=receipts_root(receipts),
            events_root=events_root(events),
            validators_hash=self.validators.hash,
            next_validators_hash=self.validators.hash,
            proposer=VALIDATOR.public,
        )

    # ------------------------------------------------------------- chain building

    @property
    def height(self) -> int:
        return len(self.by_height) - 1

    def produce_block(self) -> Block:
        parent_hash = self.by_height[-1]
        state = dict(self.states[parent_hash])
        taken, self.pool = self.pool, []
        self.pool_hashes.clear()
        receipts = []
        for data, ext in taken:
            receipts.append(self._apply(state, data, ext))
        exts = [data for data, _ in taken]
        height = self.height + 1
        last_commit = self.commits.get(parent_hash)
        header = self._header(
            height,
            1_700_000_000_000 + height * 1000,
            parent_hash,
            bytes(32) if last_commit is None else last_commit.hash,
            exts,
            receipts,
            state,
        )
        block = Block(header, tuple(exts), last_commit)
        timestamp = header.timestamp_ms + 500
        signature = VALIDATOR.sign(
            vote_sign_bytes(
                self.genesis_hash, height, 0, VoteType.PRECOMMIT, header.hash, timestamp
            )
        )
        commit = Commit(
            height, 0, header.hash, (CommitSig(VALIDATOR.public, timestamp, signature),)
        )
        self.blocks[header.hash] = block
        self.by_height.append(header.hash)
        self.states[header.hash] = state
        self.commits[header.hash] = commit
        for index, receipt in enumerate(receipts):
            self.receipts[receipt.extrinsic_hash] = ReceiptRecord(
                header.hash, height, index, receipt
            )
        self.hub.publish(NewHead(header))
        for _, ext in taken:
            self.hub.publish(ExtrinsicStatus(ext.hash, InBlock(header.hash)))
        self.hub.publish(FinalizedHead(header))
        for _, ext in taken:
            self.hub.publish(ExtrinsicStatus(ext.hash, Finalized(header.hash)))
        return block

    def _apply(self, state: dict[bytes, bytes], data: bytes, ext: Extrinsic) -> Receipt:
        args = ext.call.args
        source, dest = balance_key(ext.signer), balance_key(args["dest"])
        have = codec.decode(state[source]) if source in state else 0
        if have < args["amount"]:
            error = DispatchError("balances", "InsufficientBalance", "F1", "balance too low")
            return Receipt(blake2b256(data), False, error, ())
        state[source] = codec.encode(have - args["amount"])
        other = codec.decode(state[dest]) if dest in state else 0
        state[dest] = codec.encode(other + args["amount"])
        event = Event(
            "balances",
            "Transfer",
            {"from": ext.signer, "to": args["dest"], "amount": args["amount"]},
        )
        return Receipt(blake2b256(data), True, None, (event,))

    # ------------------------------------------------------------- RpcBackend

    def chain_info(self) -> ChainInfo:
        return ChainInfo(
            node_name="credichain-fake",
            node_version="0.1.0-test",
            chain_name="credichain-testnet",
            genesis_hash=self.genesis_hash,
            token_symbol="CC",
            token_decimals=TOKEN_DECIMALS,
            address_prefix="cc",
        )

    def best_hash(self) -> bytes:
        return self.by_height[-1]

    def finalized_hash(self) -> bytes:
        return self.by_height[-1]

    def block_hash(self, height: int) -> bytes | None:
        return self.by_height[height] if height < len(self.by_height) else None

    def header(self, block_hash: bytes) -> Header | None:
        block = self.blocks.get(block_hash)
        return None if block is None else block.header

    def block(self, block_hash: bytes) -> Block | None:
        return self.blocks.get(block_hash)

    def commit(self, block_hash: bytes) -> Commit | None:
        return self.commits.get(block_hash)

    def receipt(self, extrinsic_hash: bytes) -> ReceiptRecord | None:
        return self.receipts.get(extrinsic_hash)

    async def submit_extrinsic(self, data: bytes) -> bytes:
        try:
            ext = Extrinsic.decode(data)
        except DecodeError as exc:
            raise ExtrinsicRejected.invalid(f"not canonical: {exc}") from None
        digest = blake2b256(data)
        if digest in self.pool_hashes or digest in self.receipts:
            raise ExtrinsicRejected(EXTRINSIC_ALREADY_IMPORTED, "already known")
        if ext.signer in self.banned:
            raise ExtrinsicRejected(EXTRINSIC_BANNED, "signer temporarily banned")
        if len(self.pool) >= self.pool_limit:
            raise ExtrinsicRejected(EXTRINSIC_POOL_FULL, "pool full")
        if not ext.verify(self.genesis_hash):
            raise ExtrinsicRejected.invalid("bad signature")
        expected = self.next_index(ext.signer)
        if ext.nonce < expected:
            raise ExtrinsicRejected.invalid("stale nonce")
        if ext.nonce > expected + 16:
            raise ExtrinsicRejected.invalid("nonce too far in the future")
        if ext.valid_until < self.height:
            raise ExtrinsicRejected.invalid("expired")
        if (ext.call.pallet, ext.call.function) != ("balances", "transfer"):
            raise ExtrinsicRejected.invalid("unknown call")
        args = ext.call.args
        amount, dest = args.get("amount"), args.get("dest")
        if set(args) != {"amount", "dest"} or not isinstance(amount, int) or amount < 0:
            raise ExtrinsicRejected.invalid("bad arguments: amount must be an int >= 0")
        if not isinstance(dest, bytes) or len(dest) != 32:
            raise ExtrinsicRejected.invalid("bad arguments: dest must be 32 bytes")
        self.pool.append((data, ext))
        self.pool_hashes.add(digest)
        self.nonces[ext.signer] = ext.nonce + 1
        self.submitted += 1
        return digest

    def pending_extrinsics(self) -> Sequence[bytes]:
        return [data for data, _ in self.pool]

    def next_index(self, account: bytes) -> int:
        return self.nonces.get(account, 0)

    def state_at(self, block_hash: bytes) -> StateReader:
        if block_hash in self.pruned:
            raise StateUnavailable(block_hash.hex())
        return MemoryState(self.states[block_hash])

    def read_proof(self, keys: Sequence[bytes], block_hash: bytes) -> Sequence[bytes]:
        state = self.states[block_hash]
        return [codec.encode([key, state.get(key)]) for key in keys]

    def metadata(self) -> Mapping[str, Any]:
        return {
            "pallets": [
                {
                    "name": "balances",
                    "calls": [
                        {"name": "transfer", "args": [["amount", "u64"], ["dest", "AccountId"]]}
                    ],
                }
            ]
        }

    def peers(self) -> Sequence[PeerInfo]:
        return [PeerInfo("peer-1", "127.0.0.1:30333", self.height, True)]

    def health(self) -> Health:
        return Health(peers=1, is_syncing=False, should_have_peers=True)

    def in_pool(self, extrinsic_hash: bytes) -> bool:
        return extrinsic_hash in self.pool_hashes

    def subscribe_events(
        self, topics: Topics | None = None
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[ChainEvent]]:
        return self.hub.subscribe(topics)


# ------------------------------------------------------------- registry with a pallet query


class BalanceParams(Params):
    address: Address


def build_registry() -> MethodRegistry:
    """The standard methods, a balances query (as a pallet would add it) and an unsafe one."""
    registry = standard_registry()

    @registry.pallet_query(
        "balances",
        "getBalance",
        params=BalanceParams,
        result={"type": "object", "properties": {"free": {"type": "string"}}},
    )
    def get_balance(state: StateReader, params: BalanceParams) -> dict[str, str]:
        """Free balance of an account, in minor units."""
        raw = state.get(balance_key(params.address))
        return {"free": str(0 if raw is None else codec.decode(raw))}

    @registry.method("system_resetPeers", unsafe=True, result={"type": "boolean"})
    def reset_peers(ctx: Any, params: Any) -> bool:
        """Drop every peer (a node-changing method, off unless enabled)."""
        return True

    return registry
