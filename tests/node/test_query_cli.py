"""``credichain query`` on the real runtime: names from the keystore, hashes, lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli import common as common_cli
from node.cli.query import query_app
from node.cli.wallet import store_key
from tests.node.wallet_fakes import serve_chain
from tests.pallets.credit_helpers import LUCIA, fund_zine, submit_valid
from tests.rpc.query_helpers import query_registry


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    chain = fund_zine()
    submit_valid(chain, [LUCIA], 100)  # 100 alone: all of her trust is in use
    serve_chain(monkeypatch, chain, query_registry(), common_cli)
    store_key(tmp_path, "lucia", LUCIA, True, "cc")
    runner = CliRunner()
    options = ["--rpc", "http://test", "--keystore", str(tmp_path)]

    def invoke(*args: str) -> Any:
        return runner.invoke(query_app, [*options, *args])

    return invoke


def test_trust_of_a_key_name_and_a_request(run: Callable[..., Any]) -> None:
    result = run("get", "trust_get", "fund=0", "address=lucia", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["in_use"] == "100"
    request = run("get", "credit_getRequest", "request=0", "--json")
    assert json.loads(request.stdout)["amount"] == "100"
    table = run("get", "credit_getRequest", "request=0")
    assert table.exit_code == 0 and "credit_getRequest" in table.output
    absent = run("get", "credit_getRequest", "request=9")
    assert absent.exit_code == 1 and "nothing found" in absent.output


def test_every_declared_query_is_listed_and_unknown_ones_are_named(run: Callable[..., Any]) -> None:
    listed = json.loads(run("list", "--json").stdout)
    methods = {row["method"] for row in listed}
    assert {"trust_get", "credit_getRequest", "members_get", "gov_round"} <= methods
    assert len(methods) == len(common_cli.runtime().queries)
    unknown = run("get", "credit_nothing")
    assert unknown.exit_code == 1 and "no query 'credit_nothing'" in unknown.output
