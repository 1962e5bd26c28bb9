"""Blocks built by the real runtime (node.testing's ChainBuilder), as the indexer fetches them."""

from __future__ import annotations

from ledger.crypto import DEFAULT_HRP, encode_address
from node.indexer.fetch import ChainIdentity
from node.indexer.rows import POOL, FetchedBlock
from node.testing.replay_fixture import BuiltBlock, ChainBuilder
from pallets.balances.currency import free_balance


def identity(builder: ChainBuilder) -> ChainIdentity:
    return ChainIdentity(builder.genesis_hash, builder.genesis.chain, DEFAULT_HRP)


def genesis_block(builder: ChainBuilder) -> FetchedBlock:
    block = builder.chain.blocks.block_by_height(0)
    assert block is not None
    doc = builder.genesis.to_json_dict()
    balances = [(str(b["account"]), int(b["amount"])) for b in doc["balances"]]
    if int(doc["commons_pool"]):
        balances.append((encode_address(POOL), int(doc["commons_pool"])))
    hooks = tuple(builder.chain.blocks.events_at(0) or ())
    return FetchedBlock(0, block, (), hooks, genesis_balances=tuple(balances))


def fetched(built: BuiltBlock) -> FetchedBlock:
    return FetchedBlock(built.block.header.height, built.block, built.receipts, built.events)


def chain_balances(builder: ChainBuilder) -> dict[str, int]:
    """Free balance of every genesis account and builder account, read from the chain's state."""
    state = builder.chain.runtime.state(builder.chain.state_root)
    keys = {POOL, *(k.public for k in (*builder.accounts, *builder.validator_keys))}
    return {encode_address(k): free_balance(state, k) for k in sorted(keys)}


def transfer_blocks(builder: ChainBuilder, count: int, per_block: int = 3) -> list[FetchedBlock]:
    return [fetched(builder.add_block(builder.transfers(per_block))) for _ in range(count)]
