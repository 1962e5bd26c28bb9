"""The history index (node/daemon/history.py) over real chains built in process.

The community chain (node/testing/replay_fixture_community.py) runs every pallet
with signed extrinsics and hooks: its funds' books must end at the cash the
state holds, and every account's transfers must be in its history once.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from ledger.kv import KVStore, LevelDBKV, MemoryKV, WriteBatch
from ledger.types import Event
from node.daemon import history as history_module
from node.daemon.history import (
    EventShapes,
    HistoryError,
    HistoryIndex,
    Item,
    block_entries,
    moved,
)
from node.testing.replay_fixture import ChainBuilder, account_key
from node.testing.replay_fixture_community import CommunityChain, build_community_chain
from pallets.balances.currency import free_balance
from pallets.construct import registry
from pallets.funds import api as funds_api
from rpc.history import HistoryEntry

ALICE, BOB, CAROL = (bytes([i]) * 32 for i in (1, 2, 3))


@cache
def community() -> CommunityChain:
    return build_community_chain()


def _indexed(chain: CommunityChain | ChainBuilder, kv: KVStore | None = None) -> HistoryIndex:
    builder = chain.builder if isinstance(chain, CommunityChain) else chain
    index = HistoryIndex(
        kv or MemoryKV(),
        builder.chain.runtime.registry,
        builder.chain.genesis_hash,
    )
    index.catch_up(builder.chain.blocks)
    return index


def _all(index: HistoryIndex, account: bytes) -> list[HistoryEntry]:
    page = index.account_history(account, None, 100, False)
    entries = [e for _, e in page.entries]
    while page.next is not None:
        page = index.account_history(account, page.next, 100, False)
        entries.extend(e for _, e in page.entries)
    return entries


def _statement(index: HistoryIndex, fund: int, heights: tuple[int, int]) -> list[HistoryEntry]:
    out: list[HistoryEntry] = []
    start = None
    while True:
        page = index.fund_statement(fund, heights, start, 7, False)
        out.extend(e for _, e in page.entries)
        if page.next is None:
            return out
        start = page.next


# ---------------------------------------------------------------- the pure parts


def test_event_shapes_come_from_the_declarations() -> None:
    shapes = EventShapes.from_registry(registry())
    assert shapes.accounts[("balances", "Transferred")] == ("sender", "dest")
    assert shapes.accounts[("health", "OraclesSet")] == ("oracles",)  # a list of accounts
    assert shapes.accounts[("system", "EpochStarted")] == ()
    oracles = Event("health", "OraclesSet", {"bioregion": "x", "oracles": [ALICE, BOB]})
    assert shapes.accounts_of(oracles) == {ALICE, BOB}
    unknown = Event("probe", "Thing", {"who": CAROL, "n": 3, "short": b"ab"})
    assert shapes.accounts_of(unknown) == {CAROL}  # undeclared: any 32-byte field


def test_moved_counts_transfers_fees_and_dust_for_the_account_only() -> None:
    transfer = Event("balances", "Transferred", {"sender": ALICE, "dest": BOB, "amount": 7})
    assert moved(transfer, ALICE) == (0, 7)
    assert moved(transfer, BOB) == (7, 0)
    assert moved(transfer, CAROL) == (0, 0)
    assert moved(Event("payment", "FeePaid", {"who": ALICE, "fee": 3, "allowance": 0}), ALICE) == (
        0,
        3,
    )
    assert moved(Event("payment", "DustReaped", {"who": BOB, "amount": 2}), BOB) == (0, 2)
    assert moved(Event("trust", "TrustChanged", {"account": ALICE, "new": 5}), ALICE) == (0, 0)


def test_block_entries_split_an_item_by_account_and_learn_links_in_order() -> None:
    shapes = EventShapes.from_registry(registry())
    cash = bytes([9]) * 32
    created = Event(
        "funds",
        "FundCreated",
        {"fund": 4, "creator": ALICE, "cash_account": cash, "contribution": 10},
    )
    paid = Event("balances", "Transferred", {"sender": ALICE, "dest": cash, "amount": 10})
    disbursed = Event("loans", "Disbursed", {"loan": 8, "fund": 4, "recipient": BOB, "amount": 6})
    out_of_cash = Event("balances", "Transferred", {"sender": cash, "dest": BOB, "amount": 6})
    repaid = Event("loans", "Repaid", {"loan": 8, "payer": BOB, "interest": 1, "principal": 2})
    items = [
        Item(0, b"\x01" * 32, ALICE, "funds.create_fund", True, None, (created, paid)),
        Item(1, None, None, None, None, None, (disbursed,)),
        Item(2, None, None, None, None, None, (out_of_cash,)),
        Item(3, b"\x02" * 32, BOB, "loans.repay", True, None, (repaid,)),
    ]
    found = block_entries(
        height=5,
        time_ms=1000,
        block_hash=b"\xbb" * 32,
        items=items,
        shapes=shapes,
        link=lambda kind, ident: None,
        cash_fund=lambda account: None,
    )
    assert found.cash_accounts == {cash: 4}
    assert found.links == {("l", 8): 4}
    assert [e.position for e in found.funds[4]] == [0, 1, 2, 3]  # the repayment via its loan
    assert [(e.amount_in, e.amount_out) for e in found.funds[4]] == [
        (10, 0),
        (0, 0),
        (0, 6),
        (0, 0),
    ]
    assert [e.position for e in found.accounts[BOB]] == [1, 2, 3]
    assert [(e.amount_in, e.amount_out) for e in found.accounts[BOB]] == [(0, 0), (6, 0), (0, 0)]
    assert [e.events for e in found.accounts[ALICE]] == [(created, paid)]
    assert found.accounts[ALICE][0].amount_out == 10


def test_an_entry_survives_its_encoding() -> None:
    entry = HistoryEntry(
        height=3,
        time_ms=99,
        block_hash=b"\x05" * 32,
        position=2,
        extrinsic=None,
        signer=None,
        call=None,
        success=None,
        error=None,
        events=(Event("commons", "Granted", {"fund": 1, "amount": 5}),),
        amount_in=5,
        amount_out=0,
        balance=12,
    )
    assert HistoryEntry.decode(entry.encode()) == entry


# ---------------------------------------------------------------- over real chains


def test_each_transfer_is_once_in_both_histories_in_chain_order(tmp_path: Path) -> None:
    builder = ChainBuilder(validators=1, accounts=4)
    keys = [account_key(i) for i in range(4)]
    sent: list[tuple[bytes, int, int]] = []
    for round_ in range(6):
        block = [
            builder.transfer(keys[i], keys[(i + round_ + 1) % 4].public, 1000 + round_)
            for i in range(4)
            if (i + round_ + 1) % 4 != i
        ]
        built = builder.add_block(block)
        sent.extend(
            (r.extrinsic_hash, built.block.header.height, n) for n, r in enumerate(built.receipts)
        )
    index = _indexed(builder, LevelDBKV(tmp_path / "history"))
    assert index.height == builder.chain.height
    for key in keys:
        entries = _all(index, key.public)
        hashes = [e.extrinsic for e in entries]
        assert len(hashes) == len(set(hashes))
        assert [(e.height, e.position) for e in entries] == sorted(
            (e.height, e.position) for e in entries
        )
        signed = [e for e in entries if e.signer == key.public]
        received = [e for e in entries if e.signer != key.public]
        assert all(e.amount_out > 0 for e in signed)
        assert all(e.amount_in > 0 and e.amount_out == 0 for e in received)
    counts = Counter(
        e.extrinsic for key in keys for e in _all(index, key.public) if e.extrinsic is not None
    )
    assert set(counts) == {h for h, _, _ in sent}
    assert set(counts.values()) == {2}


def test_adding_a_block_twice_changes_nothing_and_a_gap_is_refused() -> None:
    chain = community().builder.chain
    index = HistoryIndex(MemoryKV(), chain.runtime.registry, chain.genesis_hash)
    blocks = chain.blocks
    for height in (1, 2):
        block = blocks.block_by_height(height)
        assert block is not None
        assert index.add_block(block, blocks.receipts_at(height), blocks.events_at(height) or [])
    kv = index.kv
    assert isinstance(kv, MemoryKV)
    before = dict(kv.data)
    block = blocks.block_by_height(2)
    assert block is not None
    assert not index.add_block(block, blocks.receipts_at(2), blocks.events_at(2) or [])
    assert kv.data == before
    later = blocks.block_by_height(5)
    assert later is not None
    with pytest.raises(HistoryError, match="at height 2, cannot index block 5"):
        index.add_block(later, blocks.receipts_at(5), blocks.events_at(5) or [])


def test_a_funds_book_ends_at_the_cash_the_state_holds() -> None:
    chain = community().builder.chain
    index = _indexed(community())
    state = chain.trie.reader(chain.state_root)
    for fund in (0, 1):
        book = _statement(index, fund, (0, chain.height))
        assert book, f"fund {fund} has an empty book"
        cash = free_balance(state, funds_api.cash_account(fund))
        assert book[-1].balance == cash
        running = 0
        for entry in book:
            running += entry.amount_in - entry.amount_out
            assert entry.balance == running
    names = {
        (e.pallet, e.name)
        for entry in _statement(index, 0, (0, chain.height))
        for e in entry.events
    }
    for expected in [
        ("funds", "FundCreated"),
        ("funds", "FunderJoined"),
        ("loans", "Disbursed"),
        ("loans", "Repaid"),  # named by its loan only
        ("loans", "WrittenOff"),
        ("federation", "AgreementFormed"),
        ("commons", "Granted"),
        ("balances", "Transferred"),
    ]:
        assert expected in names, f"{expected} missing from fund 0's book"
    assert not {p for p, _ in names} - {"funds", "loans", "federation", "commons", "balances"}


def test_a_statement_between_heights_pages_either_way() -> None:
    chain = community().builder.chain
    index = _indexed(community())
    whole = _statement(index, 0, (0, chain.height))
    part = _statement(index, 0, (7, 11))
    assert part == [e for e in whole if 7 <= e.height <= 11]
    first = index.fund_statement(0, (7, 11), None, 2, False)
    assert first.opening_balance == next((e.balance for e in reversed(whole) if e.height < 7), 0)
    backwards: list[HistoryEntry] = []
    start = None
    while True:
        page = index.fund_statement(0, (7, 11), start, 3, True)
        backwards.extend(e for _, e in page.entries)
        if page.next is None:
            break
        start = page.next
    assert backwards == list(reversed(part))
    assert index.fund_statement(0, (10**9, 10**9 + 1), None, 5, False).entries == []
    assert index.fund_statement(77, (0, chain.height), None, 5, False).total == 0


def test_trust_changes_and_loans_reach_the_members_history() -> None:
    community_chain = community()
    index = _indexed(community_chain)
    lucia = account_key(5).public  # the first borrower (replay_fixture_community)
    names = {(e.pallet, e.name) for entry in _all(index, lucia) for e in entry.events}
    assert {
        ("trust", "TrustChanged"),
        ("loans", "Disbursed"),
        ("credit", "RequestSubmitted"),
    } <= names


def test_a_rebuilt_index_is_identical_and_another_chain_is_not_reused(tmp_path: Path) -> None:
    chain = community().builder.chain
    first = _indexed(community())
    again = _indexed(community())
    assert isinstance(first.kv, MemoryKV) and isinstance(again.kv, MemoryKV)
    assert first.kv.data == again.kv.data
    assert again.reset() > 0
    assert again.height == 0
    again.catch_up(chain.blocks)
    assert again.kv.data == first.kv.data
    other = HistoryIndex(first.kv, chain.runtime.registry, b"\x00" * 32)
    assert other.height == 0 and len(first.kv.data) == 2  # version and height only


def test_following_the_chain_catches_up_a_block_it_missed() -> None:
    chain = community().builder.chain
    index = HistoryIndex(MemoryKV(), chain.runtime.registry, chain.genesis_hash)
    blocks = chain.blocks
    first = blocks.block_by_height(1)
    assert first is not None
    index.follow(blocks, first, blocks.receipts_at(1), blocks.events_at(1) or [])
    assert index.height == 1
    head = blocks.block_by_height(chain.height)
    assert head is not None  # blocks 2.. were never given: following the head catches up
    index.follow(
        blocks, head, blocks.receipts_at(chain.height), blocks.events_at(chain.height) or []
    )
    assert index.height == chain.height
    assert isinstance(index.kv, MemoryKV)
    again = _indexed(community())
    assert isinstance(again.kv, MemoryKV)
    assert index.kv.data == again.kv.data


def test_indexing_at_commit_and_rebuilding_from_the_store_write_the_same_bytes() -> None:
    built = community().builder
    live = HistoryIndex(MemoryKV(), built.chain.runtime.registry, built.chain.genesis_hash)
    for block in built.built:  # the executed blocks, as a node indexes them when it commits
        live.add_block(block.block, block.receipts, block.events)
    rebuilt = _indexed(community())
    assert isinstance(live.kv, MemoryKV) and isinstance(rebuilt.kv, MemoryKV)
    assert live.kv.data == rebuilt.kv.data


def test_an_index_reopened_midway_writes_what_one_pass_writes() -> None:
    # The funds' cash accounts are kept in memory (a store lookup per balance event
    # was the index's largest cost): a reopened index must reload them from its store,
    # or cash moved after the reopening would be missing from the funds' books.
    chain = community().builder.chain
    whole = _indexed(community())
    kv = MemoryKV()
    first = HistoryIndex(kv, chain.runtime.registry, chain.genesis_hash)
    middle = chain.height // 2
    for height in range(1, middle + 1):
        block = chain.blocks.block_by_height(height)
        first.add_block(block, chain.blocks.receipts_at(height), chain.blocks.events_at(height))
    assert any(key.startswith(b"c/") for key in kv.data), "no fund created in the first half"
    reopened = HistoryIndex(kv, chain.runtime.registry, chain.genesis_hash)
    assert reopened.height == middle
    reopened.catch_up(chain.blocks)
    assert isinstance(whole.kv, MemoryKV)
    assert kv.data == whole.kv.data


class _FailingWrites(MemoryKV):
    """A store whose next write fails, as a full disk would."""

    fail = False
    accounts_written = 0  # by the last write

    def write(self, batch: WriteBatch, sync: bool = False) -> None:
        if self.fail:
            raise OSError("disk full")
        super().write(batch, sync=sync)
        self.accounts_written = sum(1 for key in batch.ops if key.startswith(b"A/"))


def test_the_writers_remembered_counts_follow_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer remembers the accounts' entry counts (a store read per account per
    # block was a fifth of indexing a transfer): bounded, emptied when full, advanced
    # only by a write that happened, and never different from the store's.
    chain = community().builder.chain
    whole = _indexed(community())
    monkeypatch.setattr(history_module, "MAX_REMEMBERED_COUNTS", 3)
    kv = _FailingWrites()
    index = HistoryIndex(kv, chain.runtime.registry, chain.genesis_hash)
    for height in range(1, chain.height + 1):
        block = chain.blocks.block_by_height(height)
        receipts, events = chain.blocks.receipts_at(height), chain.blocks.events_at(height)
        kv.fail = True
        with pytest.raises(OSError):
            index.add_block(block, receipts, events)
        kv.fail = False
        assert index.add_block(block, receipts, events)
        for account, count in index._counts.items():
            assert index._count(b"A/" + account) == count
        assert len(index._counts) <= max(3, kv.accounts_written)
    assert kv.data == whole.kv.data
