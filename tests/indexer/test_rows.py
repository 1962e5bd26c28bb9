"""node/indexer/rows.py: blocks built by the real runtime turned into rows (no database)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ledger.crypto import Keypair, encode_address
from ledger.receipts import Event, Receipt
from node.indexer.rows import (
    HOOKS,
    POOL,
    FetchedBlock,
    RowError,
    block_rows,
    created_funds,
    movement,
    named_funds,
    named_loans,
)
from node.testing.replay_fixture import ChainBuilder
from tests.indexer.chain import fetched, genesis_block

A, B = Keypair.dev("alice").public, Keypair.dev("bob").public


def test_each_money_event_is_one_movement_and_nothing_else_is() -> None:
    assert movement(Event("balances", "Transferred", {"sender": A, "dest": B, "amount": 5})) == (
        "transfer",
        A,
        B,
        5,
    )
    assert movement(Event("balances", "Minted", {"dest": B, "amount": 7})) == ("mint", None, B, 7)
    assert movement(Event("balances", "Burned", {"source": A, "amount": 2})) == ("burn", A, None, 2)
    fee = Event("payment", "FeePaid", {"who": A, "fee": 30, "allowance": 0})
    assert movement(fee) == ("fee", A, POOL, 30)
    assert movement(Event("payment", "FeePaid", {"who": A, "fee": 0, "allowance": 900})) is None
    assert movement(Event("payment", "DustReaped", {"who": A, "amount": 3})) == ("dust", A, POOL, 3)
    assert movement(Event("loans", "Repaid", {"loan": 1, "payer": A, "interest": 1})) is None


def test_a_block_of_transfers_gives_its_rows_keyed_by_place() -> None:
    builder = ChainBuilder(validators=1, accounts=3)
    built = fetched(builder.add_block(builder.transfers(3, amount=11)))
    rows = block_rows(built, "cc")
    header = built.block.header
    assert rows.block == (
        1,
        "0x" + built.block.hash.hex(),
        "0x" + header.parent_hash.hex(),
        header.timestamp_ms,
        encode_address(header.proposer),
        header.proposal_round,
        "0x" + header.state_root.hex(),
        3,
        sum(len(r.events) for r in built.receipts) + len(built.hook_events),
    )
    assert [row[:2] for row in rows.extrinsics] == [(1, 0), (1, 1), (1, 2)]
    for row, receipt in zip(rows.extrinsics, built.receipts, strict=True):
        assert row[2] == "0x" + receipt.extrinsic_hash.hex()
        assert (row[6], row[7], row[9]) == ("balances", "transfer", True)
        assert json.loads(row[8])["amount"] == "11"  # the RPC's JSON form
        fees = [e.attrs["fee"] for e in receipt.events if e.name == "FeePaid"]
        assert row[14] == sum(fees)
    keys = [row[:3] for row in rows.events]
    assert len(keys) == len(set(keys)) == rows.block[8]
    transfers = [m for m in rows.movements if m[3] == "transfer"]
    assert [(m[4], m[6]) for m in transfers] == [
        (encode_address(builder.accounts[i].public), 11) for i in range(3)
    ]
    assert all(m[5] == encode_address(POOL) for m in rows.movements if m[3] == "fee")
    assert block_rows(built, "cc") == rows  # the same block, the same rows


def test_genesis_rows_hold_the_endowments_and_the_pool() -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    rows = block_rows(genesis_block(builder), "cc")
    assert rows.block[0] == 0
    assert (encode_address(POOL), "commons") in rows.module_accounts
    doc = builder.genesis.to_json_dict()
    assert {(b["account"], int(b["amount"])) for b in doc["balances"]} <= set(rows.genesis_balances)


def test_a_receipt_of_another_extrinsic_is_refused() -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    built = fetched(builder.add_block(builder.transfers(2)))
    swapped = replace(built, receipts=(built.receipts[1], built.receipts[0]))
    with pytest.raises(RowError, match="block 1 extrinsic 0: the receipt is of another"):
        block_rows(swapped, "cc")
    with pytest.raises(RowError, match="2 extrinsics but 1 receipts"):
        block_rows(replace(built, receipts=built.receipts[:1]), "cc")


def test_a_malformed_query_answer_names_the_block_and_the_field() -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    built = fetched(builder.add_block())
    bad = FetchedBlock(1, built.block, (), built.hook_events, reports={3: {"fund": 3}})
    with pytest.raises(RowError, match=r"block 1 funds_report\(3\): malformed"):
        block_rows(bad, "cc")


def test_the_loans_and_funds_an_event_names() -> None:
    events = [
        Event("loans", "Repaid", {"loan": 4, "payer": A, "interest": 1, "principal": 2}),
        Event("credit", "RequestSubmitted", {"request": 9, "fund": 2, "submitter": A}),
        Event("federation", "DebtPaid", {"debtor": 5, "creditor": 6, "amount": 1}),
        Event("credit", "Endorsed", {"request": 9, "by": A, "score": 3}),  # by: an account
        Event("balances", "Transferred", {"sender": A, "dest": B, "amount": 1}),
    ]
    assert named_loans(events) == {4}
    assert named_funds(events, {}) == {2, 5, 6}
    assert named_funds(events, {B: 8}) == {2, 5, 6, 8}  # money into fund 8's cash
    created = Event("funds", "FundCreated", {"fund": 1, "creator": A, "cash_account": B})
    assert created_funds([created, *events]) == {B: 1}


def test_hook_events_sit_at_extrinsic_index_minus_one() -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    built = fetched(builder.add_block(builder.transfers(1)))
    hook = Event("balances", "Minted", {"dest": B, "amount": 9})
    receipt = Receipt(built.receipts[0].extrinsic_hash, True, None, built.receipts[0].events)
    rows = block_rows(replace(built, receipts=(receipt,), hook_events=(hook,)), "cc")
    assert rows.events[-1][:5] == (1, HOOKS, 0, "balances", "Minted")
    assert rows.movements[-1] == (1, HOOKS, 0, "mint", None, encode_address(B), 9)
