"""Replay of the community chain (node/testing/replay_fixture_community.py): funds, credit, loans,
federation, members, governance, health and commons, through signed extrinsics and hooks.

The chain is built once per module in a stopped node's home (LevelDB); tests that
change something work on copies of it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genesis.build import dump_genesis, load_genesis
from ledger import codec
from ledger.crypto import Keypair
from ledger.kv import LevelDBKV
from ledger.types import Block, Event, Extrinsic, Receipt, extrinsics_root
from node.audit.replay import BlockRecord, Replayer
from node.daemon.chain import Chain
from node.testing.replay_fixture_community import (
    MINTED,
    NEWCOMER_POWER,
    VOICE_CREDITS,
    CommunityChain,
    all_events,
    build_community_chain,
    medians,
)
from pallets.balances.currency import total_issuance
from pallets.federation import api as federation_api
from pallets.federation.storage import LOSSES, TRUST
from pallets.governance import api as governance_api
from pallets.health import api as health_api
from pallets.loans import api as loans_api
from pallets.members import api as members_api
from pallets.support.params import param
from tests.node.replay_helpers import block_of, cli, commit_of, read_payloads, tamper, tree_digest


@dataclasses.dataclass(frozen=True)
class Built:
    chain: CommunityChain
    home: Path
    head: bytes
    state_root: bytes
    height: int


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("community") / "home"
    home.mkdir()
    chain = build_community_chain(home / "data" / "db")
    builder = chain.builder
    dump_genesis(builder.genesis, home / "genesis.json")
    facts = Built(
        chain, home, builder.chain.head.hash, builder.chain.state_root, builder.chain.height
    )
    builder.close()
    return facts


def copy_home(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(source, target)
    return target


def records(chain: CommunityChain) -> list[BlockRecord]:
    return [
        BlockRecord(b.block.header.height, b.block, b.commit, b.receipts)
        for b in chain.builder.built
    ]


def events_named(chain: CommunityChain, landmark: str, name: str) -> list[dict[str, Any]]:
    block = chain.built_at(chain.landmarks[landmark])
    return [e.attrs for e in all_events(block) if e.name == name]


# ---------------------------------------------------------------- (a) a clean replay


def test_the_community_chain_replays_clean_from_a_home(built: Built) -> None:
    before = tree_digest(built.home)
    result = cli("replay", "--home", built.home, "--threads", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"blocks             {built.height}" in out
    assert f"head               0x{built.head.hex()}" in out
    assert f"state root         0x{built.state_root.hex()}" in out
    assert "(1 failed dispatch)" in out  # the over-budget ballot, kept in the chain
    assert "validator changes  1" in out and "validators now     5" in out
    for line in ("funds              2", "credit requests    2", "loans              2"):
        assert line in out
    assert "open loans         0" in out
    assert tree_digest(built.home) == before


def test_every_block_is_checked_and_the_replayed_state_holds_each_pallets_effects(
    built: Built,
) -> None:
    """The invariants run after every block; the re-executed state (not the builder's)
    shows what each landmark stands for."""
    chain, marks = built.chain, built.chain.landmarks
    replayer = Replayer(chain.builder.genesis, threads=1)
    runtime = replayer.chain.runtime
    checked: list[bytes] = []
    original = runtime.check_invariants

    def counting(root: bytes) -> list[str]:
        checked.append(root)
        return original(root)

    runtime.check_invariants = counting  # type: ignore[method-assign]
    report = replayer.run(records(chain))
    assert report.blocks == built.height and report.state_root == built.state_root
    assert len(checked) == built.height  # once per block, each on that block's state
    assert checked[-1] == built.state_root
    assert (
        checked[marks["enactment"] - 1]
        == chain.built_at(marks["enactment"]).block.header.state_root
    )

    replayed = replayer.chain
    state = runtime.state(replayed.state_root)
    # members (G1): Lucía registered by the registrar, and she voted
    lucia = chain.builder.accounts[5]
    assert members_api.member_bioregion(state, lucia.public) == "localnet"
    # governance (G3-G6): four proposals passed and enacted; the new validator signs
    statuses = [governance_api.find_proposal(state, pid) for pid in range(4)]
    assert [p["status"] for p in statuses if p is not None] == ["enacted"] * 4
    assert governance_api.ballot(state, 2, lucia.public) == 5
    voted_in = statuses[2]["round"] if statuses[2] is not None else -1
    assert governance_api.spent(state, voted_in, lucia.public) == 25  # 5 votes cost 25
    assert param(state, "governance", "voice_credits") == VOICE_CREDITS
    assert (
        replayed.validators_for(replayed.height).power_of(chain.newcomer.public) == NEWCOMER_POWER
    )
    assert replayed.validators_for(marks["enactment"] + 1).power_of(chain.newcomer.public) == 0
    # health (H2/H3): the median of the two oracles' epoch-0 observations
    history = dict(health_api.history(state, "localnet"))
    assert history[0]["components"] == medians() and history[0]["observations"] == 2
    assert health_api.fund_bioregion(state, 0) == "localnet"
    # commons (R2/R3): minted into the pool; redistributed to fund 0 at the epoch end
    (granted,) = events_named(chain, "epoch_end", "Granted")
    assert granted["fund"] == 0 and granted["need"] == 10_000 - history[0]["score"]
    (created,) = events_named(chain, "enactment", "CreditCreated")
    assert created["amount"] == MINTED
    genesis = chain.builder.genesis
    at_genesis = sum(int(entry.amount) for entry in genesis.balances) + int(genesis.commons_pool)
    assert total_issuance(state) == at_genesis + MINTED  # redistribution creates nothing
    # credit, loans, federation (C6, L4, L6, X3): one repaid, one written off and shared
    first, second = (loans_api.find_loan(state, loan) for loan in (0, 1))
    assert first is not None and first["status"] == "repaid"
    assert second is not None and (second["status"], second["missing"]) == ("written_off", 299)
    (shared,) = events_named(chain, "writeoff", "LossShared")
    assert (shared["partner"], shared["share"], shared["paid"]) == (1, 149, 149)
    books = federation_api.between(state, 0, 1)
    assert books["agreement"] is not None and books["agreement"]["options"] == LOSSES | TRUST
    assert books["ledgers"][1] == {"shared": 149, "paid": 149, "owed": 0}  # fund 1 paid fund 0
    assert federation_api.loss(state, 1) is not None
    replayer.close()


def test_two_builds_give_the_same_chain(built: Built) -> None:
    again = build_community_chain()
    assert again.builder.chain.head.hash == built.head
    assert again.landmarks == built.chain.landmarks
    again.builder.close()


# ---------------------------------------------------------------- (b) tampering


def test_a_changed_stored_governance_receipt_is_named(built: Built, tmp_path: Path) -> None:
    """The home claims a ballot cost less than it did: replay names block and receipt."""
    home = copy_home(built.home, tmp_path)
    height = built.chain.landmarks["votes"]
    kv = LevelDBKV(home / "data" / "db", create=False)
    blocks = Chain(kv, load_genesis(home / "genesis.json")).blocks
    receipt = blocks.receipts_at(height)[0]
    *fee, voted = receipt.events  # the fee's event (P1) opens every receipt
    assert [e.name for e in fee] == ["FeePaid"]
    assert (voted.name, voted.attrs["cost"]) == ("Voted", 9)
    cheaper = Event(voted.pallet, voted.name, {**voted.attrs, "cost": 1})
    forged = Receipt(receipt.extrinsic_hash, receipt.success, receipt.error, (*fee, cheaper))
    key = b"b/r" + height.to_bytes(8, "big") + (0).to_bytes(4, "big")
    assert kv.get(key) == receipt.encode()
    kv.put(key, forged.encode())
    kv.close()
    result = cli("replay", "--home", home)
    assert result.exit_code == 1, result.output
    assert f"DIVERGENCE height {height}: stored receipt 0: expected 0x" in result.stderr


def _export(built: Built, tmp_path: Path) -> Path:
    out = tmp_path / "community.cce"
    result = cli("export", "--home", built.home, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _reseal(
    built: Built, payloads: list[list[Any]], height: int, change: Callable[[Block], Block]
) -> None:
    """Validators (a byzantine supermajority: the test holds their keys) sign a changed
    block at ``height``; the blocks after it are left as they were."""
    record = payloads[height]
    block = change(block_of(record))
    validators = built.chain.builder.genesis.validator_set()
    assert height < built.chain.landmarks["new_set_signs"]  # the genesis set still signs
    delay = commit_of(record).signatures[0].timestamp_ms - block.header.timestamp_ms
    record[2] = block.encode()
    record[3] = built.chain.builder.sign_commit(
        block, validators=validators, delay_ms=delay
    ).encode()


def _rewrite_a_ballot(built: Built) -> tuple[int, Callable[[list[list[Any]]], None]]:
    """Ferdie (whose key the test holds) re-signs his ballot against the mint as -10,
    and the validators sign the vote block with it."""
    ferdie = Keypair.dev("ferdie")
    height = built.chain.landmarks["votes"]

    def change(block: Block) -> Block:
        index = next(
            i
            for i, raw in enumerate(block.extrinsics)
            if Extrinsic.decode(raw).signer == ferdie.public
        )
        old = Extrinsic.decode(block.extrinsics[index])
        assert old.call.args == {"proposal": 1, "votes": -1}
        call = dataclasses.replace(old.call, args={**old.call.args, "votes": -10})
        raw = Extrinsic.create(
            ferdie, old.nonce, old.valid_until, call, built.chain.builder.genesis_hash
        ).encode()
        extrinsics = (*block.extrinsics[:index], raw, *block.extrinsics[index + 1 :])
        header = dataclasses.replace(block.header, extrinsics_root=extrinsics_root(extrinsics))
        return dataclasses.replace(block, header=header, extrinsics=extrinsics)

    return height, lambda payloads: _reseal(built, payloads, height, change)


def _hide_the_new_validator(built: Built) -> tuple[int, Callable[[list[list[Any]]], None]]:
    """The block after the enactment commits to the old set for H+2, hiding the validator
    governance added."""
    height = built.chain.landmarks["enactment"] + 1
    old_set = built.chain.builder.genesis.validator_set()

    def change(block: Block) -> Block:
        header = dataclasses.replace(block.header, next_validators_hash=old_set.hash)
        return dataclasses.replace(block, header=header)

    return height, lambda payloads: _reseal(built, payloads, height, change)


TAMPERING = {"ballot": _rewrite_a_ballot, "validator": _hide_the_new_validator}


def test_a_changed_stored_hook_event_is_named(built: Built, tmp_path: Path) -> None:
    """The home claims governance minted more than it did (a hook event): replay names it."""
    home = copy_home(built.home, tmp_path)
    height = built.chain.landmarks["enactment"]
    kv = LevelDBKV(home / "data" / "db", create=False)
    key = b"b/e" + height.to_bytes(8, "big")
    events = [Event.from_wire(e) for e in codec.decode(kv.get(key) or b"")]
    index = next(i for i, e in enumerate(events) if e.name == "CreditCreated")
    forged = events[index]
    events[index] = Event(forged.pallet, forged.name, {**forged.attrs, "amount": 10**12})
    kv.put(key, codec.encode([e.to_wire() for e in events]))
    kv.close()
    result = cli("replay", "--home", home)
    assert result.exit_code == 1, result.output
    assert f"DIVERGENCE height {height}: stored hook event {index}: expected 0x" in result.stderr


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("ballot", r"execution \(state_root is 0x[0-9a-f]{64}, execution gives 0x"),
        ("validator", r"next_validators_hash: expected 0x[0-9a-f]{64}, found 0x"),
    ],
)
def test_a_rewritten_governance_block_is_the_first_divergence(
    built: Built, tmp_path: Path, kind: str, message: str
) -> None:
    out = _export(built, tmp_path)
    height, change = TAMPERING[kind](built)
    tamper(out, change)
    # the blocks after it no longer link to it: only the first difference is reported
    payloads = read_payloads(out)
    assert block_of(payloads[height + 1]).header.parent_hash != block_of(payloads[height]).hash
    result = cli("replay", "--file", out)
    assert result.exit_code == 1, result.output
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(f"DIVERGENCE height {height}: ")
    assert re.search(message, first), first


# ---------------------------------------------------------------- (c) export and import


def test_export_import_round_trip_verifies_and_serves_the_same_chain(
    built: Built, tmp_path: Path
) -> None:
    out = _export(built, tmp_path)
    root = f"state root         0x{built.state_root.hex()}"
    replayed = cli("replay", "--file", out, "--genesis", built.home / "genesis.json")
    assert replayed.exit_code == 0 and root in replayed.stdout, replayed.output
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    shutil.copy(built.home / "genesis.json", auditor / "genesis.json")
    imported = cli("import", out, "--home", auditor, "--threads", "1")
    assert imported.exit_code == 0 and root in imported.stdout, imported.output
    theirs = Chain(
        LevelDBKV(auditor / "data" / "db", create=False), load_genesis(auditor / "genesis.json")
    )
    ours = Chain(
        LevelDBKV(built.home / "data" / "db", create=False),
        load_genesis(built.home / "genesis.json"),
    )
    try:
        assert (theirs.height, theirs.head.hash, theirs.state_root) == (
            built.height,
            built.head,
            built.state_root,
        )
        for height in (built.chain.landmarks["votes"], built.chain.landmarks["writeoff"]):
            assert theirs.blocks.receipts_at(height) == ours.blocks.receipts_at(height)
        enactment = built.chain.landmarks["enactment"]
        assert theirs.blocks.events_at(enactment) == ours.blocks.events_at(enactment)
        state = theirs.runtime.state(theirs.state_root)
        record = governance_api.find_proposal(state, 2)
        assert record is not None and record["status"] == "enacted"
    finally:
        theirs.close()
        ours.close()
    again = cli("replay", "--home", auditor)
    assert again.exit_code == 0 and root in again.stdout, again.output
