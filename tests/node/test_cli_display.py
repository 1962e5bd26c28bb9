"""How the CLI shows values to people (node/cli/display.py), and what ``--json`` keeps raw.

The formatting rules one by one (amount, time, duration, account, nothing);
the walk of a query's declared result type; that the field names listed as
times, durations and amounts are plain integers of declared queries; then
the commands, through typer's runner against a TestChain (the real runtime
and the real query methods, tests/node/wallet_fakes.py): tables and signing
summaries in human units, ``--json`` untouched, negative and malformed
amounts refused with the reason, the pre-submit balance check in token units.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, blake2b256, encode_address
from node.cli import common as common_cli
from node.cli.display import (
    AMOUNT_FIELDS,
    DURATION_FIELDS,
    TIME_FIELDS,
    View,
    cell,
    format_amount,
    format_duration,
    format_time,
    result_type,
    runtime,
)
from node.cli.fund import fund_app
from node.cli.gov import gov_app
from node.cli.loan import loan_app
from node.cli.query import query_app
from node.cli.wallet import app as wallet_app
from node.cli.wallet import store_key
from node.daemon.rpc_queries import register_payment_queries
from pallets.balances.storage import FREE
from pallets.support.argtypes import ACCOUNT, AMOUNT, U64, ArgType, Int, List, Optional, Record
from pallets.support.queries import TEXT, Dynamic, Map, Struct
from rpc.queries import register_queries
from rpc.registry import MethodRegistry
from tests.node.wallet_fakes import ChainClient, serve_chain
from tests.pallets.credit_helpers import LUCIA, approve, fund_zine, submit_valid
from tests.pallets.helpers import ALICE, BOB, TestChain
from tests.rpc.query_helpers import query_registry

CAROL = Keypair.from_seed(blake2b256(b"cli-display-test/carol"))
VIEW = View(6, "CRED", "cc", {ALICE.public: "alice"})
NOV_14_2023 = 1_700_000_000  # 2023-11-14 22:13:20 UTC


# ------------------------------------------------------------- one value


def test_amounts_have_the_tokens_decimals_and_symbol() -> None:
    assert format_amount(5_000_000_000, 6, "CRED") == "5,000.000000 CRED"
    assert format_amount(1, 6, "CRED") == "0.000001 CRED"
    assert format_amount(0, 6, "CRED") == "0.000000 CRED"
    assert format_amount(12, 0, "X") == "12 X"
    assert VIEW.leaf(AMOUNT, "12500000", "balance") == "12.500000 CRED"  # JSON: a string


def test_times_are_utc_dates_or_local_ones() -> None:
    assert format_time(NOV_14_2023) == "2023-11-14 22:13:20 UTC"
    assert format_time(1_796_514_909) == "2026-12-05 23:55:09 UTC"
    assert format_time(0) == "-"  # a record's time that has not come yet
    assert format_time(2**64 - 1) == str(2**64 - 1)  # beyond any calendar: the number


def test_local_time_names_the_zone() -> None:
    with pytest.MonkeyPatch.context() as zone:
        zone.setenv("TZ", "XYZ-2")  # POSIX: two hours east of UTC, called XYZ
        time.tzset()
        local = format_time(NOV_14_2023, local=True)
        view = View(6, "CRED", "cc", local_time=True).time(NOV_14_2023)
    time.tzset()
    assert local == "2023-11-15 00:13:20 XYZ" and view == local


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59, "59s"), (90, "1m 30s"), (3_600, "1h"), (3_605, "1h 5s"),
     (3 * 86_400 + 4 * 3_600, "3d 4h"), (14 * 86_400, "14d")],
)  # fmt: skip
def test_durations_are_exact_days_hours_minutes_seconds(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_accounts_are_keystore_names_where_known() -> None:
    alice, bob = encode_address(ALICE.public), encode_address(BOB.public)
    assert VIEW.account(alice) == "alice"
    assert VIEW.account(bob) == bob  # not in the keystore: the address
    assert VIEW.account("not an address") == "not an address"
    assert VIEW.argument(ACCOUNT, ALICE.public) == f"{alice} (alice)"  # a summary shows both
    assert VIEW.argument(ACCOUNT, BOB.public) == bob


def test_signing_summaries_give_both_forms_of_an_amount_and_a_duration() -> None:
    assert VIEW.argument(AMOUNT, 1_500_000) == "1.500000 CRED (1500000 minor units)"
    assert VIEW.argument(Int("duration", 1, 10**9), 90) == "1m 30s (90 s)"
    assert VIEW.argument(U64, 90) == "90"
    assert VIEW.argument(Optional(AMOUNT), None) == "-"
    assert VIEW.argument(List(ACCOUNT, 4), []) == "-"


# ------------------------------------------------------------- declared types


def test_the_declared_result_type_decides_each_field() -> None:
    kind = Struct(
        "view",
        (
            ("cash", AMOUNT),
            ("created", U64),  # a time: by its name
            ("voters", U64),  # a count: by its type
            ("creator", ACCOUNT),
            ("due", Optional(U64)),
            ("rows", List(Struct("row", (("paid", AMOUNT), ("round_length", U64))), 8)),
            ("by", Map(AMOUNT)),
            ("record", Record("r", (("closed", U64), ("extension", U64)))),
            ("ok", U64),
        ),
    )
    value = {
        "cash": "5000000000",
        "created": NOV_14_2023,
        "voters": NOV_14_2023,
        "creator": encode_address(ALICE.public),
        "due": None,
        "rows": [{"paid": "1", "round_length": 1_209_600}],
        "by": {"creative_project": "2000000"},
        "record": {"closed": 0, "extension": 3_600},
        "ok": True,
    }
    assert VIEW.shown(kind, value) == {
        "cash": "5,000.000000 CRED",
        "created": "2023-11-14 22:13:20 UTC",
        "voters": str(NOV_14_2023),
        "creator": "alice",
        "due": "-",
        "rows": [{"paid": "0.000001 CRED", "round_length": "14d"}],
        "by": {"creative_project": "2.000000 CRED"},
        "record": {"closed": "-", "extension": "1h"},
        "ok": "yes",
    }


def test_a_name_says_time_only_for_a_plain_integer() -> None:
    kind = Struct("s", (("created", TEXT), ("due", AMOUNT), ("since", ACCOUNT)))
    alice = encode_address(ALICE.public)
    value = {"created": "yesterday", "due": "7", "since": alice}
    assert VIEW.shown(kind, value) == {"created": "yesterday", "due": "0.000007 CRED",
                                       "since": "alice"}  # fmt: skip
    assert VIEW.shown(None, {"created": NOV_14_2023})["created"].endswith("UTC")  # undeclared


def test_a_proposals_call_is_typed_by_the_call_it_names() -> None:
    call = {"pallet": "commons", "function": "mint", "raw": "0x00",
            "args": {"fund": None, "amount": "5000000"}}  # fmt: skip
    shown = VIEW.shown(Dynamic(), call)
    assert shown["args"] == {"fund": "-", "amount": "5.000000 CRED"}
    assert shown["raw"] == "0x00"


def _plain_int_fields(kind: ArgType, found: set[str], name: str = "") -> None:
    if isinstance(kind, Optional | List | Map):
        _plain_int_fields(kind.of, found, name)
    elif isinstance(kind, Struct | Record):
        for field, inner in kind.fields:
            _plain_int_fields(inner, found, field)
    elif isinstance(kind, Int) and kind.label not in ("amount", "duration"):
        found.add(name)


def test_every_listed_name_is_a_plain_integer_field_of_a_declared_query() -> None:
    found: set[str] = set()
    for query in runtime().queries:
        _plain_int_fields(query.result, found)
    assert found >= TIME_FIELDS, sorted(TIME_FIELDS - found)
    assert found >= DURATION_FIELDS, sorted(DURATION_FIELDS - found)
    assert found >= AMOUNT_FIELDS, sorted(AMOUNT_FIELDS - found)
    assert not TIME_FIELDS & DURATION_FIELDS and not TIME_FIELDS & AMOUNT_FIELDS
    assert result_type("funds_get") is not None and result_type("funds_nothing") is None


def test_table_cells_keep_records_and_lists_readable() -> None:
    assert cell(["alice", "bob"]) == "alice, bob"
    assert cell([]) == "-" and cell({}) == "-" and cell(None) == "-"
    assert cell({"a": "1", "b": ["x", "y"]}) == "a: 1\nb: [x, y]"
    assert cell([{"a": "1"}, {"a": "2"}]) == "a=1\na=2"


# ------------------------------------------------------------- the commands


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestChain]:
    test_chain = fund_zine(contribution=5_000_000_000)  # 5 000 CRED a funder
    approve(test_chain, submit_valid(test_chain, [LUCIA], 100))  # loan 0
    serve_chain(monkeypatch, test_chain, query_registry(), common_cli)
    yield test_chain


@pytest.fixture
def cli(chain: TestChain, tmp_path: Path) -> Callable[..., Any]:
    for name, key in {"alice": ALICE, "lucia": LUCIA, "carol": CAROL}.items():
        store_key(tmp_path, name, key, True, "cc")
    runner = CliRunner()

    def run(app: Any, *args: str) -> Any:
        options = ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys",
                   "--yes", "--no-wait"]  # fmt: skip
        if app is query_app:
            options = options[:4]
        return runner.invoke(app, [*options, *args])

    return run


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_fund_show_in_human_units_and_raw_with_json(cli: Callable[..., Any]) -> None:
    raw = json.loads(ok(cli(fund_app, "show", "0", "--json")).stdout)
    assert raw["contribution"] == "5000000000" and isinstance(raw["created"], int)
    assert raw["creator"] == encode_address(ALICE.public)  # --json: the node's JSON
    table = ok(cli(fund_app, "show", "0")).stdout
    assert "5,000.000000 CRED" in table and "5000000000" not in table
    assert format_time(raw["created"]) in table and str(raw["created"]) not in table
    assert raw["created"] >= NOV_14_2023 and "2023-11-14 22:13:" in table
    creator = next(line for line in table.splitlines() if "│ creator " in line)
    assert "alice" in creator and raw["creator"] not in creator
    rows = ok(cli(fund_app, "list")).stdout
    assert "25,000.000000 CRED" in rows  # size: five funders


def test_loan_schedule_dates_and_local_time(cli: Callable[..., Any]) -> None:
    raw = json.loads(ok(cli(loan_app, "schedule", "0", "--json")).stdout)
    dues = [row["due"] for row in raw]
    assert all(isinstance(due, int) for due in dues) and raw[0]["principal"] == "33"
    table = ok(cli(loan_app, "schedule", "0")).stdout
    assert all(format_time(due) in table for due in dues) and "0.000033 CRED" in table
    with pytest.MonkeyPatch.context() as zone:
        zone.setenv("TZ", "XYZ-2")  # two hours east of UTC
        time.tzset()
        local = ok(cli(loan_app, "--local-time", "schedule", "0")).stdout
    time.tzset()
    assert format_time(dues[0] + 7_200).replace("UTC", "XYZ") in local and "UTC" not in local
    shown = ok(cli(loan_app, "show", "0")).stdout
    assert "1m 30s" in shown and "lucia" in shown  # term: a duration; recipient: a name


def test_query_get_is_typed_by_the_declaration(cli: Callable[..., Any]) -> None:
    raw = json.loads(ok(cli(query_app, "get", "balances_totalIssuance", "--json")).stdout)
    human = ok(cli(query_app, "get", "balances_totalIssuance")).stdout.strip()
    assert human == format_amount(int(raw["result"]), 6, "CRED")
    trust = ok(cli(query_app, "get", "trust_get", "fund=0", "address=lucia")).stdout
    assert "CRED" in trust
    gov = ok(cli(query_app, "get", "gov_round")).stdout
    assert "UTC" in gov and "round_length" in gov


def test_signing_summaries_show_token_units(cli: Callable[..., Any]) -> None:
    result = ok(cli(gov_app, "propose", "call", "alice", "commons", "mint",
                    '{"fund": null, "amount": 5000000}'))  # fmt: skip
    assert "amount=5.000000 CRED (5000000 minor units)" in result.output
    assert "(alice)" in result.output  # the signer: address and keystore name


@pytest.mark.parametrize(
    ("args", "message"),
    [(("wallet", "transfer", "alice", "carol", "-5"), "must be positive"),
     (("wallet", "transfer", "alice", "carol", "-0.5"), "must be positive"),
     (("wallet", "transfer", "alice", "carol", "5.1234567"), "more than 6 decimals"),
     (("wallet", "transfer", "alice", "carol", "1,5"), "without separators"),
     (("wallet", "transfer", "alice", "carol", "five"), "not a number"),
     (("loan", "repay", "lucia", "0", "-5"), "must be positive"),
     (("fund", "create", "alice", "--name", "N", "--purpose", "creative_project",
       "--contribution", "-5"), "must be positive")],
)  # fmt: skip
def test_negative_and_malformed_amounts_are_refused_with_the_reason(
    cli: Callable[..., Any], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    if args[0] == "wallet":
        options = ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys", "--yes"]
        result = CliRunner().invoke(wallet_app, [*args[1:], *options])
    else:
        result = cli({"loan": loan_app, "fund": fund_app}[args[0]], *args[1:])
    assert result.exit_code == 1, result.output
    assert message in result.output and "No such option" not in result.output
    assert ChainClient.receipts == []  # nothing was signed or sent


def test_a_mistyped_option_is_still_named(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        wallet_app, ["transfer", "alice", "carol", "5", "--jsn", "--keystore", str(tmp_path)]
    )
    assert result.exit_code == 2 and "No such option" in result.output


def test_the_balance_check_speaks_in_token_units(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chain = TestChain(fees=True)
    registry = MethodRegistry()
    register_payment_queries(registry)
    register_queries(registry, runtime())
    serve_chain(monkeypatch, chain, registry, common_cli)
    store_key(tmp_path, "bob", BOB, True, "cc")
    free = FREE.get(chain.state(), BOB.public)
    result = CliRunner().invoke(
        wallet_app,
        ["transfer", "bob", encode_address(ALICE.public), str(free // 10**6), "--yes",
         "--localnet-keys", "--keystore", str(tmp_path), "--rpc", "http://test"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"is {format_amount(free, 6, 'CRED')}: less than the amount" in result.stderr
    assert format_amount(free // 10**6 * 10**6, 6, "CRED") in result.stderr
    assert ChainClient.receipts == []


# ------------------------------------------------------------- the chain's error texts

SEEN = View(6, "CRED", "cc")


@pytest.mark.parametrize(
    ("node_text", "shown"),
    [
        (
            "balance 12500000 is less than the amount 1000000000",
            "balance 12.500000 CRED is less than the amount 1,000.000000 CRED",
        ),
        (
            "the payment 5000000 exceeds what is owed (4000000)",
            "the payment 5.000000 CRED exceeds what is owed (4.000000 CRED)",
        ),
        (
            "reviews open at 1796514909, it is 1796514000",
            "reviews open at 2026-12-05 23:55:09 UTC, it is 2026-12-05 23:40:00 UTC",
        ),
        (
            "outstanding 10 + amount 20 exceeds 3000 bps of the fund's size 5000000000",
            "outstanding 0.000010 CRED + amount 0.000020 CRED exceeds 3000 bps of the fund's "
            "size 5,000.000000 CRED",
        ),
        # counts, ids, rounds and basis points stay numbers
        ("voting on proposal 0 closed with round 10", "voting on proposal 0 closed with round 10"),
        ("fund 3 has 12 funders already", "fund 3 has 12 funders already"),
    ],
)
def test_error_texts_are_shown_in_human_units(node_text: str, shown: str) -> None:
    assert SEEN.message(node_text) == shown


def test_a_failed_receipt_is_described_in_human_units_and_json_keeps_the_node_text() -> None:
    error = {"pallet": "balances", "code": "InsufficientBalance", "rule": None,
             "message": "balance 12500000 is less than the amount 1000000000"}  # fmt: skip
    result = {"hash": "0x00", "status": "finalized", "height": 7, "blockHash": "0x01",
              "success": False, "error": error}  # fmt: skip
    described = common_cli.describe_outcome(result, SEEN)
    assert "FAILED: balances.InsufficientBalance: balance 12.500000 CRED is less" in described
    assert "amount 1000000000" in common_cli.describe_outcome(result)  # no view: as the node said
    assert error["message"] == "balance 12500000 is less than the amount 1000000000"
