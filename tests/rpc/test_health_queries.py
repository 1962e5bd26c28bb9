"""The health_* and commons_* RPC queries: views of a real runtime state, parameter
checks naming the wrong parameter, and registration in the node's method list.
"""

from __future__ import annotations

import pytest

from ledger.crypto import encode_address
from node.daemon.rpc_queries import node_registry
from pallets.health.storage import COMPONENTS
from rpc.errors import RpcError
from rpc.registry import parse_params
from tests.pallets.health_helpers import chain, epoch_now, govern_ok, observe, to_epoch
from tests.pallets.helpers import ALICE, BOB, TestChain
from tests.rpc.query_helpers import query_json


def _with_a_round() -> tuple[TestChain, int]:
    c = chain(people=False)  # the six dev accounts are the members
    first = epoch_now(c)
    assert observe(c, ALICE, [6000, 4000, 5000, 7000, 3000]).success
    assert observe(c, BOB, [8000, 4000, 5000, 7000, 3000]).success
    to_epoch(c, first + 1)
    return c, first


def test_health_get_and_history_views() -> None:
    c, first = _with_a_round()
    assert observe(c, BOB, [1, 2, 3, 4, 5]).success
    view = query_json(c.state(), "health_get", bioregion="localnet")
    assert view is not None
    assert view["components"] == dict(zip(COMPONENTS, [7000, 4000, 5000, 7000, 3000], strict=True))
    assert (
        view["score"]
        == (2000 * 7000 + 2500 * 4000 + 2000 * 5000 + 2000 * 7000 + 1500 * 3000) // 10_000
    )
    assert view["oracles"] == sorted(encode_address(k.public, "cc") for k in (ALICE, BOB))
    assert view["open_epoch"] == first + 1
    assert view["observed_this_epoch"] == [encode_address(BOB.public, "cc")]
    # alice and bob, two of the localnet's six members, signed in the closed epoch
    assert view["measures"] == {"epoch": first, "credit_velocity": 0, "participation": 3333}
    assert query_json(c.state(), "health_get", bioregion="atlantis") is None
    (row,) = query_json(c.state(), "health_history", bioregion="localnet", limit=10) or []
    assert row["epoch"] == first and row["observations"] == 2 and row["score"] == view["score"]
    assert query_json(c.state(), "health_history", bioregion="atlantis", limit=10) is None


def test_commons_views() -> None:
    c = chain(people=False)  # the six dev accounts are the members
    govern_ok(c, "commons", "mint", fund=None, amount=1_000)
    pool = query_json(c.state(), "commons_pool")
    assert pool["minted_total"] == "1000" and pool["redistribution_share_bps"] == 100
    assert pool["account"].startswith("cc1")
    issuance = query_json(c.state(), "commons_issuance")
    assert issuance["minted"] == "1000" and issuance["year"] == 0
    assert int(issuance["remaining"]) == int(issuance["cap"]) - 1000
    assert query_json(c.state(), "commons_redistributions", limit=5) == []


def test_queries_are_registered_and_refuse_bad_parameters() -> None:
    registry = node_registry("cc")
    names = set(registry.names(include_unsafe=False))
    assert {
        "health_bioregions", "health_get", "health_history",
        "commons_pool", "commons_redistributions", "commons_issuance",
    } <= names  # fmt: skip
    health_get = registry.get("health_get")
    assert health_get is not None
    assert parse_params(health_get, ["cascadia"], "cc").bioregion == "cascadia"
    with pytest.raises(RpcError) as bad:
        parse_params(health_get, ["Not An Id"], "cc")
    assert "bioregion" in str(bad.value.data)
    history = registry.get("health_history")
    assert history is not None
    with pytest.raises(RpcError) as too_many:
        parse_params(history, {"bioregion": "localnet", "limit": 10_000}, "cc")
    assert "limit" in str(too_many.value.data)
