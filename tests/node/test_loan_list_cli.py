"""``credichain loan list`` and ``credit list --mine`` on the real runtime (issue 21)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import encode_address
from node.cli import common as common_cli
from node.cli.credit import credit_app
from node.cli.loan import loan_app
from node.cli.wallet import store_key
from tests.node.wallet_fakes import serve_chain
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    LUCIA,
    approve,
    fund_zine,
    ok,
    request_args,
    submit_valid,
)
from tests.pallets.helpers import FERDIE
from tests.rpc.query_helpers import query_registry


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    chain = fund_zine()
    approve(chain, submit_valid(chain, [LUCIA, ANA, BEN]))  # loan 0: Lucía, Ana, Ben
    ok(chain, FERDIE, "credit", "submit", **request_args([FERDIE], 100))  # request 1: no loan
    serve_chain(monkeypatch, chain, query_registry(), common_cli)
    store_key(tmp_path, "lucia", LUCIA, True, "cc")
    store_key(tmp_path, "ferdie", FERDIE, True, "cc")
    runner = CliRunner()

    def invoke(app: Any, *args: str) -> Any:
        result = runner.invoke(app, ["--rpc", "http://test", "--keystore", str(tmp_path), *args])
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_loan_list_shows_a_funds_loans_and_filters_by_borrower(run: Callable[..., Any]) -> None:
    loans = json.loads(run(loan_app, "list", "0", "--json").stdout)
    assert [loan["id"] for loan in loans] == [0]
    assert loans[0]["status"] == "active" and loans[0]["outstanding"] == "300"
    assert encode_address(LUCIA.public) in loans[0]["borrowers"]
    mine = json.loads(run(loan_app, "list", "0", "--borrower", "lucia", "--json").stdout)
    assert [loan["id"] for loan in mine] == [0]
    table = run(loan_app, "list", "0")
    assert "lucia" in table.stdout  # a known key is shown by its name


def test_credit_list_mine_keeps_the_requests_a_key_submitted(run: Callable[..., Any]) -> None:
    everyone = json.loads(run(credit_app, "list", "0", "--json").stdout)
    assert [r["id"] for r in everyone] == [0, 1]
    mine = json.loads(run(credit_app, "list", "0", "--mine", "ferdie", "--json").stdout)
    assert [r["id"] for r in mine] == [1]
    assert "ferdie" in run(credit_app, "list", "0", "--mine", "ferdie").stdout
