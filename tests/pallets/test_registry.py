"""Declarations and the metadata generated from them."""

from __future__ import annotations

import json

import pytest

from pallets import balances, construct, system
from pallets.executive.registry import PalletRegistry
from pallets.support.argtypes import U8
from pallets.support.context import CallContext
from pallets.support.declare import CallSet, ErrorSet, EventSet, Pallet, RuntimeFault
from pallets.support.storage import StorageSet
from tests.pallets.probe import probe_registry


def test_metadata_is_json_and_lists_every_declaration() -> None:
    metadata = construct.registry().metadata()
    again = json.loads(json.dumps(metadata))
    assert again == metadata
    pallets = {p["name"]: p for p in metadata["pallets"]}
    names = [p["name"] for p in metadata["pallets"]]
    assert names == [p.name for p in construct.PALLETS] and names[:2] == ["system", "balances"]
    transfer = pallets["balances"]["calls"][0]
    assert transfer["name"] == "transfer"
    assert transfer["index"] == 0
    assert [(a["name"], a["type"]) for a in transfer["args"]] == [
        ("dest", "account"),
        ("amount", "amount"),
    ]
    assert transfer["origin"] == "signed"
    assert transfer["weight"] == 9
    errors = {e["name"]: e for e in pallets["balances"]["errors"]}
    assert errors["InsufficientBalance"]["rule"] == "I2"
    assert errors["ZeroAmount"]["rule"] == "B1"
    storage = {s["name"]: s for s in pallets["balances"]["storage"]}
    assert storage["free"]["prefix"] == "0x" + b"balances/free/".hex()
    assert storage["free"]["key"] == "account"
    assert pallets["system"]["calls"][0]["name"] == "remark"
    assert "WeightExhausted" in {e["name"] for e in pallets["system"]["errors"]}
    params = {(p["section"], p["name"]): p for p in metadata["params"]}
    assert params[("funds", "min_funders")]["default"] == "5"
    assert params[("credit", "review_max")]["rule"] == "C8"
    assert pallets["balances"]["constants"]["commons_account"].startswith("0x")


def test_metadata_matches_the_declarations_exactly() -> None:
    """Nothing is written twice: every declared call/event/error appears once, in order."""
    metadata = probe_registry().metadata()
    probe = metadata["pallets"][2]
    assert [c["name"] for c in probe["calls"]] == [
        "hog",
        "count",
        "set_validators",
        "govern",
        "shapes",
        "relay",
    ]
    assert probe["calls"][3]["origin"] == "governance"
    assert probe["hooks"] == ["on_finalize", "on_epoch"]
    assert probe["constants"] == {"answer": "42"}
    assert [e["name"] for e in probe["events"]] == ["Counted", "EpochSeen"]


def test_duplicate_declarations_are_refused() -> None:
    calls = CallSet("dup")

    @calls.call(0, args=(("x", U8),), weight=1)
    def one(ctx: CallContext, x: int) -> None:
        """One."""

    with pytest.raises(RuntimeFault, match="declared twice"):

        @calls.call(0, args=(), weight=1)
        def two(ctx: CallContext) -> None:
            """Two."""

    errors = ErrorSet("dup")
    errors.define(0, "Bad", rule="X1", doc="bad")
    with pytest.raises(RuntimeFault, match="declared twice"):
        errors.define(1, "Bad", rule="X1", doc="bad")
    with pytest.raises(RuntimeFault, match="CamelCase"):
        errors.define(2, "not_camel", rule="", doc="")
    events = EventSet("dup")
    events.define("Done", (), doc="")
    with pytest.raises(RuntimeFault, match="repeated event"):
        events.define("Done", (), doc="")
    with pytest.raises(RuntimeFault, match="declares a field twice"):
        events.define("Twice", (("x", U8), ("x", U8)), doc="")
    storage = StorageSet("dup")
    storage.value("x", U8, default=0, doc="")
    with pytest.raises(RuntimeFault, match="declared twice"):
        storage.value("x", U8, default=0, doc="")


def test_registry_refuses_clashing_pallets() -> None:
    with pytest.raises(RuntimeFault, match="distinct"):
        PalletRegistry((system.PALLET, system.PALLET))
    with pytest.raises(RuntimeFault, match="params"):
        PalletRegistry((system.PALLET, Pallet(name="params", index=9, doc="")))
    with pytest.raises(RuntimeFault, match="declared for balances"):
        Pallet(name="other", index=3, doc="", calls=balances.PALLET.calls)


def test_call_lookup() -> None:
    registry = construct.registry()
    call = registry.call("balances", "transfer")
    assert call is not None and call.pallet == "balances"
    assert registry.call("balances", "steal") is None
    assert registry.call("nope", "transfer") is None
