"""``credichain fund|credit|loan`` and the credit RPC queries, end to end on a TestChain.

The CLI talks JSON-RPC through ``RpcClient``; here that client is replaced by
``ChainClient`` (tests/node/wallet_fakes.py), which executes submitted
extrinsics as blocks of a ``TestChain`` (the real runtime) and answers queries
through the real ``MethodRegistry`` methods generated from the runtime's
declared queries, with a minimal backend (best block, headers by hash, state
by hash) so that ``at`` reads historical state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import blake2b256, encode_address
from node.cli import common as common_cli
from node.cli.credit import credit_app
from node.cli.fund import fund_app
from node.cli.loan import loan_app
from node.cli.wallet import store_key
from pallets.governance.allowlist import encode_call
from pallets.governance.storage import PROPOSAL, PROPOSALS
from rpc.documents import register_document_methods
from rpc.registry import CallContext, parse_params
from tests.node.wallet_fakes import ChainBackend, ChainClient, serve_chain
from tests.pallets.credit_helpers import ANA, BEN, FUNDERS, LUCIA, fund_zine, request, wait
from tests.pallets.helpers import FERDIE, TestChain
from tests.rpc.query_helpers import query_registry

NAMES = {"alice": FUNDERS[0], "bob": FUNDERS[1], "charlie": FUNDERS[2], "dave": FUNDERS[3],
         "eve": FUNDERS[4], "lucia": LUCIA, "ana": ANA, "ben": BEN, "ferdie": FERDIE}  # fmt: skip
APPS = {"fund": fund_app, "credit": credit_app, "loan": loan_app}


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestChain]:
    test_chain = TestChain()
    test_chain.execute([test_chain.transfer(FERDIE, k.public, 10**9) for k in (LUCIA, ANA, BEN)])
    registry = query_registry()
    register_document_methods(registry)  # F10: the CLI puts texts off chain
    serve_chain(monkeypatch, test_chain, registry, common_cli)
    yield test_chain


@pytest.fixture
def cli(chain: TestChain, tmp_path: Path) -> Any:
    for name, key in NAMES.items():
        store_key(tmp_path, name, key, True, "cc")
    runner = CliRunner()

    def run(app_name: str, *args: str, ok: bool = True) -> Any:
        app = APPS[app_name]
        common = ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys",
                  "--yes", "--no-wait"]  # fmt: skip
        result = runner.invoke(app, [*common, *args])
        if ok:
            assert result.exit_code == 0, result.output
        ChainClient.backend.record()
        return result

    return run


def _last_ok() -> None:
    receipt = ChainClient.receipts[-1]
    assert receipt.success, receipt.error


def test_a_microcredit_from_fund_to_repayment_through_the_cli(cli: Any, chain: TestChain) -> None:
    cli("fund", "create", "alice", "--name", "FundZine", "--contribution", "0.001",
        "--purpose", "creative_project", "--rate-bps", "500")  # fmt: skip
    _last_ok()
    for name in ("bob", "charlie", "dave", "eve"):
        cli("fund", "join", name, "0")
        _last_ok()
    shown = json.loads(cli("fund", "show", "0", "--json").stdout)
    assert shown["status"] == "active" and shown["cash"] == "5000" and shown["funders"] == 5
    assert shown["creator"] == encode_address(FUNDERS[0].public)
    listed = json.loads(cli("fund", "list", "--json").stdout)
    assert [f["name"] for f in listed] == ["FundZine"]
    trust = json.loads(cli("fund", "trust", "0", "lucia", "--json").stdout)
    assert trust == {
        "trust": "100", "in_use": "0", "available": "100", "local": "100", "initial": "100"
    }  # fmt: skip

    cli("credit", "submit", "lucia", "0", "--amount", "0.0003", "--purpose", "creative_project",
        "--term", "90", "--installments", "3", "--borrower", "ana", "--borrower", "ben",
        "--what", "print the fanzine")  # fmt: skip
    _last_ok()
    cli("credit", "sign", "ana", "0")
    cli("credit", "sign", "ben", "0")
    _last_ok()
    wait(chain, 1)
    wait(chain, 1)
    ChainClient.backend.record()
    redraw = json.loads(cli("credit", "redraw", "0", "--json").stdout)
    assert [d["matches"] for d in redraw["draws"]] == [True]
    assert "matches" in cli("credit", "redraw", "0").stdout
    listed = json.loads(cli("credit", "list", "0", "--status", "in_review", "--json").stdout)
    assert [r["id"] for r in listed] == [0]
    wait(chain, 20)
    reviewers = request(chain, 0)["reviewers"]
    names = {k.public: n for n, k in NAMES.items()}
    for reviewer in reviewers:
        cli("credit", "review", names[reviewer], "0", "approve")
        _last_ok()
    detail = json.loads(cli("credit", "show", "0", "--json").stdout)
    assert detail["status"] == "approved" and detail["approval"]["amount"] == "300"
    trust = json.loads(cli("fund", "trust", "0", "lucia", "--json").stdout)
    assert (trust["in_use"], trust["available"]) == ("100", "0")  # T5: all of it at stake
    schedule = json.loads(cli("loan", "schedule", "0", "--json").stdout)
    assert [row["principal"] for row in schedule] == ["100", "100", "100"]
    assert "schedule of loan 0" in cli("loan", "schedule", "0").stdout
    loan = json.loads(cli("loan", "show", "0", "--json").stdout)
    assert loan["outstanding"] == "300" and loan["late"] is False
    cli("loan", "repay", "lucia", "0", "0.0003")
    _last_ok()
    loan = json.loads(cli("loan", "show", "0", "--json").stdout)
    assert loan["status"] == "repaid"
    report = json.loads(cli("fund", "report", "0", "--json").stdout)
    assert report["outstanding"] == "0" and report["cash"] == "5000"
    assert "utilization_bps" in cli("fund", "report", "0").stdout
    trust = json.loads(cli("fund", "trust", "0", "lucia", "--json").stdout)
    assert trust["trust"] == "200"


def test_loan_repay_all_settles_in_one_call(cli: Any, chain: TestChain) -> None:
    """``loan repay ID all`` signs loans.settle: the loan closes exactly, in one payment."""
    from node.cli.loan import SETTLE_MARGIN_SECONDS, settle_ceiling
    from pallets.loans import api as loans_api
    from pallets.loans.interest import accrue
    from tests.pallets.credit_helpers import approve, submit_valid

    amount = 3 * 10**10
    fund_zine(chain, rate_bps=10_000, contribution=10**11)
    approve(chain, submit_valid(chain, [LUCIA, ANA, BEN], amount))
    wait(chain, 30)
    ChainClient.backend.record()
    shown = json.loads(cli("loan", "show", "0", "--json").stdout)
    assert int(shown["owed_now"]) > amount  # interest accrued every second
    before = chain.state()
    cli("loan", "repay", "ferdie", "0", "all")
    _last_ok()
    receipt = ChainClient.receipts[-1]
    paid = next(e for e in receipt.events if e.name == "Repaid")
    owed = paid.attrs["interest"] + paid.attrs["principal"]
    assert paid.attrs["principal"] == amount and owed > int(shown["owed_now"])
    names = [e.name for e in receipt.events]
    assert "LoanClosedRepaid" in names
    loan = json.loads(cli("loan", "show", "0", "--json").stdout)
    assert loan["status"] == "repaid" and loan["owed_now"] == "0"
    # The ceiling signed: owed at the last block + one hour of interest (rounded up).
    margin, rest = accrue(amount, 10_000, SETTLE_MARGIN_SECONDS, 0)
    expected = int(shown["owed_now"]) + margin + (1 if rest else 0)
    assert settle_ceiling(amount, 10_000, int(shown["owed_now"])) == expected
    stored = loans_api.find_loan(before, 0)
    assert stored is not None and stored["status"] == "active"
    result = cli("loan", "repay", "ferdie", "0", "all", ok=False)
    assert result.exit_code == 1 and "repaid" in result.output


def test_every_call_has_a_command(cli: Any) -> None:
    from pallets.credit.calls import calls as credit_calls
    from pallets.funds.calls import calls as fund_calls
    from pallets.loans.calls import calls as loan_calls

    renamed = {"vote_removal": "vote-removal", "declare_conflict": "conflict",
               "answer_conflict": "answer-conflict", "vote_writeoff": "write-off",
               "settle": "repay", "purge_document": "purge-document"}  # fmt: skip
    for app, calls in (("fund", fund_calls), ("credit", credit_calls), ("loan", loan_calls)):
        typer_app = APPS[app]
        names = {c.name for c in typer_app.registered_commands}
        for call in calls.defs:
            assert renamed.get(call.name, call.name) in names, (app, call.name)


def test_bad_input_is_refused_with_a_clear_message(cli: Any) -> None:
    result = cli("fund", "create", "alice", "--name", "X", "--contribution", "1",
                 "--purpose", "gardening", ok=False)  # fmt: skip
    assert result.exit_code == 1 and "gardening" in result.output
    result = cli("fund", "create", "alice", "--name", "X", "--contribution", "1.0000001",
                 "--purpose", "creative_project", ok=False)  # fmt: skip
    assert result.exit_code == 1 and "decimals" in result.output
    result = cli("fund", "show", "7", ok=False)
    assert result.exit_code == 1 and "not found" in result.output
    result = cli("credit", "review", "alice", "0", "maybe", ok=False)
    assert result.exit_code == 1 and "verdict" in result.output
    result = cli("fund", "object", "alice", "0", "--reason", "0x12", ok=False)
    assert result.exit_code == 1 and "32 bytes" in result.output


def test_a_failed_call_is_reported_by_its_receipt(cli: Any) -> None:
    cli("fund", "join", "bob", "3")
    receipt = ChainClient.receipts[-1]
    assert not receipt.success and receipt.error is not None
    assert receipt.error.code == "UnknownFund"


def test_queries_read_historical_state_with_at(chain: TestChain) -> None:
    fund_zine(chain)
    registry = query_registry()
    backend = ChainBackend(chain)
    before = chain.parent_hash
    chain.execute([chain.sign(FUNDERS[0], "funds", "create", _second_fund())])
    backend.record()
    ctx = CallContext(backend, None, registry, "cc", None)  # type: ignore[arg-type]
    method = registry.get("funds_list")
    assert method is not None
    now = method.handler(ctx, parse_params(method, {}, "cc"))
    then = method.handler(ctx, parse_params(method, {"at": "0x" + before.hex()}, "cc"))
    assert (len(now), len(then)) == (2, 1)
    listing = registry.get("credit_listRequests")
    assert listing is not None
    with pytest.raises(Exception, match="status"):
        parse_params(listing, {"fund": 0, "status": "sleeping"}, "cc")


def _second_fund() -> dict[str, Any]:
    from tests.pallets.credit_helpers import create_args

    return create_args(name="Second")


def test_signing_summary_shows_hashes_as_hex_and_accounts_as_addresses() -> None:
    from node.cli.display import View, runtime

    def declared(pallet: str, function: str, arg: str) -> Any:
        call = runtime().call(pallet, function)
        assert call is not None
        return dict(call.args)[arg]

    digest = bytes(range(32))
    view = View(6, "CRED", "cc")
    assert view.argument(declared("funds", "create", "policy_hash"), digest) == "0x" + digest.hex()
    shown = view.argument(declared("credit", "submit", "borrowers"), [digest])
    assert shown.startswith("cc1")


def test_submit_puts_the_texts_off_chain_and_show_reads_them_back(
    cli: Any, chain: TestChain, tmp_path: Path
) -> None:
    """F10: the request carries hashes; `credit show` shows the texts, then "redacted"."""
    fund_zine(chain)
    ChainClient.backend.record()
    budget = tmp_path / "budget.pdf"
    budget.write_bytes(b"%PDF\xff\x00 paper 180, printing 120")
    cli("credit", "submit", "lucia", "0", "--amount", "0.0003", "--purpose", "creative_project",
        "--term", "90", "--installments", "3", "--borrower", "ana", "--borrower", "ben",
        "--what", "print the fanzine", "--good", "sales at three fairs",
        "--bad", "one fair and savings", "--why", "two friends vouch",
        "--document", str(budget))  # fmt: skip
    _last_ok()
    stored = request(chain, 0)
    assert stored["what_hash"] == blake2b256(b"print the fanzine")
    assert stored["documents"] == [blake2b256(budget.read_bytes())]
    shown = cli("credit", "show", "0").stdout
    for text in ("print the fanzine", "sales at three fairs", "one fair and savings",
                 "two friends vouch", f"(file, {len(budget.read_bytes())} bytes)"):  # fmt: skip
        assert text in shown, shown
    detail = json.loads(cli("credit", "show", "0", "--json").stdout)
    assert detail["what_hash"] == "0x" + blake2b256(b"print the fanzine").hex()
    ChainClient.backend.purge_document_here(blake2b256(b"sales at three fairs"))
    shown = cli("credit", "show", "0").stdout
    assert "redacted (purged by operator)" in shown and "sales at three fairs" not in shown
    assert "print the fanzine" in shown
    result = cli("credit", "submit", "lucia", "0", "--amount", "0.0003", "--purpose",
                 "creative_project", "--term", "90", "--good", "sales at three fairs",
                 ok=False)  # fmt: skip
    assert result.exit_code == 1 and "purged from this node" in result.output


def test_credit_purge_document_proposes_the_network_wide_purge(cli: Any, chain: TestChain) -> None:
    """F10: `credit purge-document KEY HASH` signs governance.propose(credit.purge_document)."""
    digest = blake2b256(b"two friends vouch")
    result = cli("credit", "purge-document", "alice", "0x" + digest.hex())
    _last_ok()
    assert "credit.purge_document(document=0x" + digest.hex() in " ".join(result.output.split())
    (proposal,) = [PROPOSAL.unwire(raw) for _, raw in PROPOSALS.items(chain.state())]
    assert (proposal["pallet"], proposal["function"], proposal["kind"]) == (
        "credit",
        "purge_document",
        "document",
    )
    assert proposal["call"] == encode_call("credit", "purge_document", {"document": digest})
    bad = cli("credit", "purge-document", "alice", "0x12", ok=False)
    assert bad.exit_code == 1 and "32 bytes" in bad.output
