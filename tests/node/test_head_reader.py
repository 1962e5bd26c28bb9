"""The head's remembered state reads (issue 23): ``Runtime.reader``/``Runtime.committed``,
called by ``Chain.commit_block`` after its write.

Three chains on LevelDB share one localnet genesis: the builder (it builds
and commits every block, with the head memory), a validator with the head
memory that commits the builder's blocks, and a validator whose runtime never
hears of a commit (``committed`` does nothing), so every read goes to the
trie. Over blocks of transfers, to funded and to fresh accounts, the three
agree on every state root, receipt, event and change; after each commit the
head's reader is the remembered one, for its root only, and answers every key
of the state, the ones the block touched included, as ``trie.reader`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.crypto import Keypair, blake2b256
from ledger.overlay import CachedReader
from ledger.trie import TrieReader
from ledger.types import Receipt
from node.daemon.chain import Chain, Executed
from node.testing.replay_fixture import ChainBuilder
from pallets.executive.executor import BlockResult
from pallets.executive.verify import BatchVerifier

BLOCKS = 6


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[ChainBuilder]:
    built = ChainBuilder(validators=4, accounts=6, path=tmp_path / "builder")
    yield built
    built.close()


def _open(path: Path, builder: ChainBuilder) -> Chain:
    return Chain.open(path, builder.genesis, verifier=BatchVerifier(1))


def _forgetful(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Chain:
    """``chain`` with a runtime that is never told of a commit: no head memory."""

    def committed(result: BlockResult) -> None:
        del result

    monkeypatch.setattr(chain.runtime, "committed", committed)
    return chain


def _block_of_transfers(builder: ChainBuilder, height: int) -> list[bytes]:
    """Transfers among the funded accounts and to two accounts never seen before."""
    fresh = [Keypair.from_seed(blake2b256(b"head-reader/%d/%d" % (height, n))) for n in range(2)]
    extrinsics = builder.transfers(4 + height, amount=height)
    a, b = builder.accounts[height % 6], builder.accounts[(height + 3) % 6]
    extrinsics.append(builder.transfer(a, fresh[0].public, 10**9 + height))
    extrinsics.append(builder.transfer(b, fresh[1].public, 10**9))
    return extrinsics


def _fee_of(receipt: Receipt) -> int:
    (fee,) = [
        e.attrs["fee"] for e in receipt.events if (e.pallet, e.name) == ("payment", "FeePaid")
    ]
    assert isinstance(fee, int) and fee > 500
    return fee


def _same_result(a: BlockResult, b: BlockResult) -> None:
    assert a.state_root == b.state_root
    assert a.receipts == b.receipts
    assert a.events == b.events
    assert dict(a.changes) == dict(b.changes)
    assert a.weight == b.weight


def _check_head(chain: Chain, result: BlockResult, older: list[bytes]) -> None:
    root = chain.state_root
    runtime = chain.runtime
    head = runtime.reader(root)
    assert isinstance(head, CachedReader)
    assert head.root == root == result.state_root
    assert runtime.reader(root) is head
    plain = chain.trie.reader(root)
    everything = dict(plain.iterate(b""))
    for key, value in result.changes.items():  # what the block wrote or deleted
        assert head.get(key) == plain.get(key) == value
    for key, value in everything.items():  # every key, touched or not, twice
        assert head.get(key) == value
        assert head.get(key) == value
    for key in (b"", b"\x00", b"never written", blake2b256(root)):
        assert head.get(key) == plain.get(key)
    assert list(head.iterate(b"")) == sorted(everything.items())
    for old_root in older:  # an older version is read from the trie, unremembered
        reader = runtime.reader(old_root)
        assert isinstance(reader, TrieReader)
        assert not isinstance(reader, CachedReader)
        assert dict(reader.iterate(b"")) == dict(chain.trie.reader(old_root).iterate(b""))


def test_blocks_execute_alike_with_and_without_the_head_memory(
    builder: ChainBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remembering = _open(tmp_path / "remembering", builder)
    forgetful = _forgetful(_open(tmp_path / "forgetful", builder), monkeypatch)
    roots = [remembering.state_root]
    dusty = Keypair.from_seed(blake2b256(b"head-reader/dusty"))
    deleted = 0
    try:
        assert remembering.runtime.reader(roots[0]).__class__ is TrieReader  # nothing committed
        for height in range(1, BLOCKS + 1):
            extrinsics = _block_of_transfers(builder, height)
            if height == 2:  # fund an account with its next fee plus some dust
                fee = _fee_of(builder.built[0].receipts[0])
                extrinsics.append(builder.transfer(builder.accounts[5], dusty.public, fee + 500))
            if height == 3:  # its fee leaves dust, which is reaped: its balance key is deleted
                extrinsics.append(builder.transfer(dusty, builder.accounts[0].public, 1))
            built = builder.add_block(extrinsics)
            ours: Executed = remembering.commit_block(built.block, built.commit)
            theirs: Executed = forgetful.commit_block(built.block, built.commit)
            _same_result(ours.result, theirs.result)
            assert ours.result.state_root == built.block.header.state_root
            assert (ours.result.receipts, ours.result.events) == (built.receipts, built.events)
            assert remembering.state_root == forgetful.state_root == builder.chain.state_root
            _check_head(remembering, ours.result, roots)
            _check_head(builder.chain, ours.result, roots)
            plain = forgetful.runtime.reader(forgetful.state_root)
            assert isinstance(plain, TrieReader)
            roots.append(remembering.state_root)
            deleted += sum(value is None for value in ours.result.changes.values())
        assert deleted > 0  # the head memory was advanced over a deletion too
        assert any(e.name == "DustReaped" for r in builder.built[2].receipts for e in r.events)
    finally:
        remembering.close()
        forgetful.close()


def test_a_proposal_built_on_the_remembered_head_is_what_a_forgetful_node_builds(
    builder: ChainBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forgetful = _forgetful(_open(tmp_path / "forgetful", builder), monkeypatch)
    try:
        for height in range(1, BLOCKS + 1):
            extrinsics = _block_of_transfers(builder, height)
            # read the head the way the pool does before the block, then build on it
            head = builder.chain.runtime.reader(builder.chain.state_root)
            for raw_key, _ in list(
                builder.chain.trie.reader(builder.chain.state_root).iterate(b"")
            )[:50]:
                head.get(raw_key)
            built = builder.add_block(extrinsics)
            executed = forgetful.commit_block(built.block, built.commit)
            assert executed.result.state_root == built.block.header.state_root
            assert (executed.result.receipts, executed.result.events) == (
                built.receipts,
                built.events,
            )
    finally:
        forgetful.close()


def test_a_reopened_chain_starts_without_memory_and_remembers_from_its_next_block(
    builder: ChainBuilder, tmp_path: Path
) -> None:
    path = tmp_path / "validator"
    chain = _open(path, builder)
    for height in range(1, 3):
        built = builder.add_block(_block_of_transfers(builder, height))
        chain.commit_block(built.block, built.commit)
    before = chain.state_root
    chain.close()
    chain = _open(path, builder)
    try:
        assert chain.state_root == before
        assert isinstance(chain.runtime.reader(before), TrieReader)  # nothing remembered yet
        built = builder.add_block(_block_of_transfers(builder, 3))
        executed = chain.commit_block(built.block, built.commit)
        assert executed.result.parent_root == before
        _check_head(chain, executed.result, [before])
    finally:
        chain.close()
