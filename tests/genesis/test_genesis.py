"""Genesis documents: validation naming the field, determinism, block 0, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from genesis import (
    GenesisError,
    build_genesis,
    genesis_hash,
    genesis_state,
    load_genesis,
    parse_genesis,
)
from genesis.localnet import localnet_doc, read_key_file
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.kv import MemoryKV
from ledger.merkle import merkle_root
from ledger.trie import StateTrie
from node.cli.genesis import app
from pallets.support.params import PARAMS, param, param_key

KEY = Keypair.from_seed(blake2b256(b"genesis-test"))


def base(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "chain": "testnet",
        "genesis_time": 1_700_000_000,
        "validators": [{"public_key": KEY.public.hex(), "address": "10.0.0.1:30333", "power": 5}],
        "balances": [{"account": encode_address(blake2b256(b"x")), "amount": "1000"}],
    }
    doc.update(changes)
    return doc


def refusal(data: Any) -> str:
    with pytest.raises(GenesisError) as info:
        parse_genesis(data)
    return str(info.value)


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({"chain": ""}, "chain", "at least 1"),
        ({"genesis_time": -1}, "genesis_time", "greater than or equal to 0"),
        ({"address_prefix": "CC"}, "address_prefix", "pattern"),
        ({"token_decimals": 40}, "token_decimals", "less than or equal to 18"),
        ({"validators": []}, "validators", "at least 1"),
        (
            {"validators": [{"public_key": "zz", "address": "h:1", "power": 1}]},
            "validators.0.public_key",
            "not a valid bech32m",
        ),
        (
            {"validators": [{"public_key": KEY.public.hex(), "address": "nohost", "power": 1}]},
            "validators.0.address",
            "HOST:PORT",
        ),
        (
            {"validators": [{"public_key": KEY.public.hex(), "address": "h:1", "power": 0}]},
            "validators.0.power",
            "greater than or equal to 1",
        ),
        ({"balances": [{"account": "cc1qqqq", "amount": "1"}]}, "balances.0.account", "bech32m"),
        (
            {"balances": [{"account": "0x" + "00" * 32, "amount": "1.5"}]},
            "balances.0.amount",
            "decimal string",
        ),
        (
            {"balances": [{"account": "0x" + "00" * 32, "amount": 2**64}]},
            "balances.0.amount",
            "outside",
        ),
        ({"params": {"funds": {"min_funders": 0}}}, "params.funds.min_funders", "greater"),
        ({"params": {"funds": {"min_funderz": 5}}}, "params.funds.min_funderz", "Extra inputs"),
        ({"params": {"credit": {"review_max": "14"}}}, "params.credit.review_max", "integer"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
def test_a_malformed_genesis_names_the_field(changes: dict[str, Any], field: str, why: str) -> None:
    message = refusal(base(**changes))
    assert f"{field}: " in message and why in message, message


def test_whole_document_checks_name_what_is_wrong() -> None:
    two = [{"public_key": KEY.public.hex(), "address": "h:1", "power": 1}] * 2
    assert "validators.1.public_key repeats validators.0" in refusal(base(validators=two))
    account = "0x" + "11" * 32
    twice = [{"account": account, "amount": 1}, {"account": account, "amount": 2}]
    assert "balances.1.account repeats balances.0" in refusal(base(balances=twice))
    params = {"credit": {"review_min": 100, "review_max": 50}}
    assert "credit.review_min must not exceed credit.review_max" in refusal(base(params=params))
    rich = [{"account": "0x" + "22" * 32, "amount": 2**64 - 1}]
    assert "total supply" in refusal(base(balances=rich, commons_pool="1"))
    other_prefix = encode_address(blake2b256(b"x"), "xx")
    assert "not this chain's 'cc'" in refusal(
        base(balances=[{"account": other_prefix, "amount": 1}])
    )


def test_dev_accounts_only_in_a_localnet() -> None:
    alice = encode_address(Keypair.dev("alice").public)
    data = base(balances=[{"account": alice, "amount": "5"}])
    message = refusal(data)
    assert "balances.0.account is the dev account 'alice'" in message
    assert "localnet" in message
    assert parse_genesis({**data, "localnet": True}).localnet


def test_params_default_to_the_spec_and_localnet_shortens_periods() -> None:
    doc = parse_genesis(base())
    values = doc.param_values()
    assert values["funds"]["min_funders"] == 5
    assert values["funds"]["growth_min_utilization"] == 3300
    assert values["funds"]["min_membership"] == 365 * 86_400
    assert values["funds"]["exit_period"] == 90 * 86_400
    assert values["funds"]["consent_period"] == 7 * 86_400
    assert values["trust"]["trust_initial"] == 1000
    assert values["credit"]["max_credit"] == 1000
    assert values["credit"]["max_utilization"] == 6600
    assert values["credit"]["min_reviewers"] == 3
    assert values["credit"]["review_min"] == 7 * 86_400
    assert values["credit"]["review_max"] == 14 * 86_400
    assert values["loans"]["default_after"] == 90 * 86_400
    assert values["governance"]["voice_credits"] == 100
    assert sum(values["health"].values()) == 10_000
    local = parse_genesis(base(localnet=True, params={"funds": {"min_funders": 2}}))
    assert local.param_values()["funds"]["consent_period"] == 30
    assert local.param_values()["funds"]["min_funders"] == 2  # explicit beats the preset
    state = genesis_state(doc)
    for p in PARAMS:
        assert param_key(p.section, p.name) in state


def test_the_same_genesis_always_gives_the_same_hash(tmp_path: Path) -> None:
    doc = parse_genesis(base())
    first = genesis_hash(doc)
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(doc.to_json_dict()))
    assert genesis_hash(load_genesis(path)) == first  # the round trip through JSON
    assert genesis_hash(parse_genesis(base())) == first
    assert genesis_hash(parse_genesis(base(genesis_time=1_700_000_001))) != first
    assert genesis_hash(parse_genesis(base(chain="othernet"))) != first  # the name is state


def test_block_zero() -> None:
    doc = parse_genesis(base())
    trie = StateTrie(MemoryKV())
    block, root = build_genesis(doc, trie)
    header = block.header
    assert header.height == 0 and block.extrinsics == () and block.last_commit is None
    assert header.timestamp_ms == 1_700_000_000_000
    assert header.parent_hash == bytes(32) and header.proposer == bytes(32)
    assert header.state_root == root and trie.root_at(0) == root
    assert header.validators_hash == doc.validator_set().hash == header.next_validators_hash
    assert header.extrinsics_root == merkle_root([]) == header.receipts_root
    reader = trie.reader(root)
    assert dict(reader.iterate(b"")) == genesis_state(doc)
    assert param(reader, "system", "epoch_length") == 86_400


def test_load_genesis_refuses_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(bad)
    bad.write_text("[]")
    with pytest.raises(GenesisError, match="document"):
        load_genesis(bad)


def test_cli_new_and_show(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "net"
    result = runner.invoke(
        app, ["new", "--validators", "3", "--out", str(out), "--genesis-time", "1700000000"]
    )
    assert result.exit_code == 0, result.output
    doc = load_genesis(out / "genesis.json")
    assert doc.localnet and len(doc.validators) == 3
    keys = [read_key_file(out / "keys" / f"validator-{i}.json") for i in range(3)]
    assert {k.public for k in keys} == {v.public_key for v in doc.validators}
    assert (out / "keys" / "validator-0.json").stat().st_mode & 0o777 == 0o600
    funded = {b.account for b in doc.balances}
    for name in ("alice", "bob", "charlie", "dave", "eve", "ferdie"):
        assert Keypair.dev(name).public in funded
    shown = runner.invoke(app, ["show", str(out / "genesis.json")])
    assert shown.exit_code == 0
    assert f"0x{genesis_hash(doc).hex()}" in shown.output
    again = runner.invoke(app, ["new", "--validators", "1", "--out", str(out)])
    assert again.exit_code == 1 and "exists" in again.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(base(genesis_time="soon")))
    refused = runner.invoke(app, ["show", str(broken)])
    assert refused.exit_code == 1 and "genesis_time" in refused.output


def test_localnet_doc_is_deterministic_for_fixed_keys() -> None:
    one = localnet_doc([KEY], genesis_time=5)
    two = localnet_doc([KEY], genesis_time=5)
    assert genesis_hash(one) == genesis_hash(two)


def test_a_validator_key_must_be_a_usable_ed25519_key() -> None:
    validators = [{"public_key": "00" * 32, "address": "h:1", "power": 1}]
    message = refusal(base(validators=validators))
    assert "validators.0.public_key: not a valid Ed25519 public key" in message
    bech = encode_address(KEY.public)
    validators = [{"public_key": bech, "address": "h:1", "power": 1}]
    assert parse_genesis(base(validators=validators)).validators[0].public_key == KEY.public
