"""Typed records (pallets/support/records.py) and the funds pallet's records and keys.

The typed form must store exactly the bytes the dict form stored: the state
roots of every chain ever built depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

import pytest

from ledger import codec
from ledger.overlay import MemoryState, StateOverlay
from pallets.funds.storage import (
    EXIT_PROGRESS,
    EXIT_PROGRESS_RECORD,
    FUND,
    FUNDER,
    FUNDERS,
    FUNDS,
    PROPOSAL,
    REMOVAL_VOTES,
)
from pallets.funds.types import (
    AccountFund,
    ExitKey,
    ExitProgress,
    Fund,
    FundAccount,
    Funder,
    FundStatus,
    Proposal,
    ProposalDue,
    ProposalKind,
    ProposalStatus,
    Purpose,
    RemovalVote,
)
from pallets.support.argtypes import U32, Text
from pallets.support.declare import RuntimeFault
from pallets.support.records import CompositeKey, TypedRecord, U32Part, enum_type, keys_under
from pallets.support.storage import CorruptState

A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
H = b"\x77" * 32

FUND_EXAMPLE = Fund(
    name="FundZine",
    scope="zines and small presses",
    bioregion=7,
    policy_hash=H,
    conduct_hash=b"\x78" * 32,
    contribution=1_000,
    rate_bps=450,
    purposes=(Purpose.CREATIVE_PROJECT, Purpose.EDUCATIONAL_INITIATIVE),
    status=FundStatus.ACTIVE,
    creator=A,
    created=1_700_000_000,
    funders=5,
    outstanding=3_000,
    interest_income=12,
    losses=0,
    expenses=120,
    exits_paid=0,
)
FUNDER_EXAMPLE = Funder(joined=1_700_000_000, paid=1_000, leaving_since=None, removed=False)
PROPOSAL_EXAMPLE = Proposal(
    fund=3,
    kind=ProposalKind.EXPENSE,
    proposer=A,
    subject=B,
    amount=250,
    rate_bps=0,
    apply_to_open=False,
    reason_hash=H,
    created=100,
    ends=200,
    status=ProposalStatus.OPEN,
    objector=None,
)


@pytest.mark.parametrize(
    ("record", "value"),
    [
        (FUND, FUND_EXAMPLE),
        (FUND, replace(FUND_EXAMPLE, bioregion=None, status=FundStatus.FORMING)),
        (FUNDER, FUNDER_EXAMPLE),
        (FUNDER, replace(FUNDER_EXAMPLE, leaving_since=1_800_000_000, removed=True)),
        (PROPOSAL, PROPOSAL_EXAMPLE),
        (PROPOSAL, replace(PROPOSAL_EXAMPLE, status=ProposalStatus.REJECTED, objector=C)),
        (EXIT_PROGRESS_RECORD, ExitProgress(claim=1_000, paid=400)),
    ],
)
def test_each_record_round_trips_through_the_stored_array(
    record: TypedRecord[object], value: object
) -> None:
    raw = record.wire(value)
    assert record.record.check(raw, "state") == raw  # what the storage item accepts
    assert codec.decode(codec.encode(raw)) == raw
    back = record.unwire(codec.decode(codec.encode(raw)))
    assert back == value
    assert record.wire(back) == raw


def test_enums_come_back_as_enums_and_go_out_as_plain_strings() -> None:
    raw = FUND.wire(FUND_EXAMPLE)
    assert raw[7] == ["creative_project", "educational_initiative"]
    assert type(raw[8]) is str and raw[8] == "active"
    fund = FUND.unwire(raw)
    assert fund.status is FundStatus.ACTIVE
    assert fund.purposes == (Purpose.CREATIVE_PROJECT, Purpose.EDUCATIONAL_INITIATIVE)
    assert type(PROPOSAL.wire(PROPOSAL_EXAMPLE)[1]) is str


def test_a_fund_stores_the_bytes_the_dict_form_stored() -> None:
    # The array the dict form (RecordType) wrote, field by field, by hand.
    old_array = [
        "FundZine",
        "zines and small presses",
        7,
        H,
        b"\x78" * 32,
        1_000,
        450,
        ["creative_project", "educational_initiative"],
        "active",
        A,
        1_700_000_000,
        5,
        3_000,
        12,
        0,
        120,
        0,
    ]
    assert codec.encode(FUND.wire(FUND_EXAMPLE)) == codec.encode(old_array)
    state = StateOverlay(MemoryState())
    FUNDS.put(state, 4, FUND_EXAMPLE)
    assert state.get(b"funds/fund/" + (4).to_bytes(4, "big")) == codec.encode(old_array)
    assert FUNDS.get(state, 4) == FUND_EXAMPLE
    assert FUND.as_dict(FUND_EXAMPLE)["status"] == "active"
    assert list(FUND.as_dict(FUND_EXAMPLE)) == list(FUND.names)


def test_a_wrong_enum_string_in_the_state_is_refused_by_name() -> None:
    raw = FUND.wire(FUND_EXAMPLE)
    raw[8] = "dormant"
    with pytest.raises(CorruptState, match=r"fund\.status: 'dormant' is not a FundStatus"):
        FUND.unwire(raw)
    raw = FUND.wire(FUND_EXAMPLE)
    raw[7] = ["creative_project", "astrology"]
    with pytest.raises(CorruptState, match=r"fund\.purposes\[\]: 'astrology' is not a Purpose"):
        FUND.unwire(raw)
    # Through the storage item: the declared Enum refuses it before decoding.
    bad = FUND.wire(FUND_EXAMPLE)
    bad[8] = "dormant"
    state = MemoryState({FUNDS.key(0): codec.encode(bad)})
    with pytest.raises(CorruptState, match="'dormant' is not one of forming, active"):
        FUNDS.get(state, 0)


def test_a_record_declaration_is_checked() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        n: Annotated[int, U32]

    @dataclass(frozen=True, slots=True)
    class Untyped:
        n: int

    @dataclass(frozen=True, slots=True)
    class WrongEnum:
        status: Annotated[FundStatus, enum_type(ProposalStatus)]

    @dataclass(frozen=True, slots=True)
    class Fine:
        n: Annotated[int, U32]
        label: Annotated[str, Text(8)]

    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        TypedRecord("no_slots", NoSlots)
    with pytest.raises(TypeError, match=r"untyped\.n: annotate it"):
        TypedRecord("untyped", Untyped)
    with pytest.raises(TypeError, match="enum_type"):
        TypedRecord("wrong_enum", WrongEnum)
    fine = TypedRecord("fine", Fine)
    assert fine.wire(Fine(3, "x")) == [3, "x"]
    with pytest.raises(CorruptState, match="1 fields stored, 2 declared"):
        fine.unwire([3])


def test_composite_keys_build_the_old_concatenations() -> None:
    assert FundAccount(3, A).encode() == (3).to_bytes(4, "big") + A
    assert AccountFund(A, 3).encode() == A + (3).to_bytes(4, "big")
    assert ProposalDue(200, 9).encode() == (200).to_bytes(8, "big") + (9).to_bytes(8, "big")
    assert RemovalVote(3, B, C).encode() == (3).to_bytes(4, "big") + B + C
    exit_key = ExitKey(3, 1_700_000_000, A)
    assert exit_key.encode() == (3).to_bytes(4, "big") + (1_700_000_000).to_bytes(8, "big") + A
    for key in (FundAccount(3, A), AccountFund(A, 3), ProposalDue(200, 9), exit_key):
        assert type(key).decode(key.encode()) == key
    assert RemovalVote.head(3, B) == (3).to_bytes(4, "big") + B
    with pytest.raises(CorruptState, match="FundAccount key of 35 bytes"):
        FundAccount.decode(b"\x00" * 35)


def test_typed_maps_keep_their_keys_and_scan_by_leading_parts() -> None:
    state = StateOverlay(MemoryState())
    for fund, account in ((1, B), (2, A), (1, A)):
        FUNDERS.put(state, FundAccount(fund, account), FUNDER_EXAMPLE)
    assert state.get(b"funds/funder/" + (1).to_bytes(4, "big") + A) == codec.encode(
        [1_700_000_000, 1_000, None, False]
    )
    assert list(keys_under(state, FUNDERS, FundAccount.head(1))) == [
        FundAccount(1, A),
        FundAccount(1, B),
    ]
    REMOVAL_VOTES.put(state, RemovalVote(1, B, C), True)
    REMOVAL_VOTES.put(state, RemovalVote(1, A, C), True)
    assert [v.target for v in keys_under(state, REMOVAL_VOTES, RemovalVote.head(1, B))] == [B]
    EXIT_PROGRESS.put(state, ExitKey(1, 5, A), ExitProgress(10, 4))
    assert list(EXIT_PROGRESS.items(state)) == [(ExitKey(1, 5, A), ExitProgress(10, 4))]


def test_a_key_part_must_fit() -> None:
    @dataclass(frozen=True, slots=True)
    class OneFund(CompositeKey):
        fund: U32Part

    with pytest.raises(RuntimeFault, match=r"OneFund\.fund must be a non-negative int"):
        OneFund(-1).encode()
    with pytest.raises(RuntimeFault, match=r"FundAccount\.account must be 32 bytes"):
        FundAccount(1, b"short").encode()
