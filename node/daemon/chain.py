"""The node's chain: block store, state trie, runtime and validator sets, on LevelDB.

Theory of operation
-------------------
``Chain`` owns one LevelDB database holding the trie nodes, the block store
and the validator set of every height. It answers the three questions
consensus asks of a node:

* ``build_block`` (we propose): the header's time is the BFT time of the
  parent's commit (genesis time + 1 ms at height 1), the header names the
  round we propose in (``proposal_round``) and carries our VRF proof over
  ``block_vrf_alpha(genesis, height, round, parent's output)`` (C6), the
  runtime packs extrinsics from the pool, and the result is kept until the
  block commits;
* ``validate_block`` (a peer proposed, or block sync fetched it): every
  header field is recomputed (parent link, last commit against the set of
  h−1, BFT time, validator hashes, evidence, the proposer of
  ``proposal_round``, which may not be later than the round the block is
  considered in or committed in) and the block is executed, which first
  verifies the VRF proof against the parent's output (``Runtime._begin``);
  any difference makes it invalid, with the reason;
* ``commit_block``: the block's trie nodes, the block, its commit, receipts
  and the validator set of h+2 go to LevelDB in one synced batch, so a crash
  leaves the node at h−1 or h, never between.

Validator sets: the set of height h+2 is fixed by executing block h (a change
the runtime returns with ``apply_at = h+2``; otherwise the set of h+1 carries
on). Block h+1's header commits to it as ``next_validators_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog

from consensus import InvalidCommit, ProposerSelector, bft_time, check_vote, verify_commit
from consensus.verify import InvalidMessage
from genesis.build import genesis_header, genesis_state
from genesis.schema import GenesisDoc
from ledger import codec, vrf
from ledger.blockstore import BlockStore
from ledger.crypto import Keypair
from ledger.kv import KVStore, LevelDBKV, MemoryKV, WriteBatch
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import (
    EMPTY_HASH,
    GENESIS_VRF_OUTPUT,
    Block,
    Commit,
    Evidence,
    Header,
    ValidatorSet,
    block_vrf_alpha,
    evidence_root,
)
from pallets.construct import build_runtime
from pallets.executive.executor import BlockEnv, BlockResult, InvalidBlock, Runtime
from pallets.executive.verify import BatchVerifier

log = structlog.get_logger("node.daemon.chain")

VALIDATORS_PREFIX: Final = b"n/vs/"
# Results of executed but not yet committed blocks kept at most (proposals of
# several rounds at one height); cleared at every commit.
MAX_PENDING_RESULTS: Final = 32


# Each piece of evidence makes the runtime rebuild the validator set (G6), so a
# block carries at most this many, and at most one against any one validator:
# a byzantine proposer cannot make a block's unmetered work grow with the
# number of double votes it can sign.
MAX_EVIDENCE_PER_BLOCK: Final = 16


def check_evidence_bounds(evidence: tuple[Evidence, ...]) -> None:
    """Refuse a block with too much evidence or two proofs against one validator."""
    if len(evidence) > MAX_EVIDENCE_PER_BLOCK:
        raise InvalidBlock(
            f"evidence: {len(evidence)} items, at most {MAX_EVIDENCE_PER_BLOCK} per block"
        )
    offenders = [item.vote_a.validator for item in evidence]
    if len(set(offenders)) != len(offenders):
        raise InvalidBlock("evidence: more than one proof against one validator")


def select_evidence(pool: dict[bytes, Evidence]) -> tuple[Evidence, ...]:
    """What a proposer includes: per offender the proof with the lowest hash, by hash."""
    chosen: dict[bytes, Evidence] = {}
    for key in sorted(pool):
        item = pool[key]
        chosen.setdefault(item.vote_a.validator, item)
    ordered = sorted(chosen.values(), key=lambda item: item.hash)
    return tuple(ordered[:MAX_EVIDENCE_PER_BLOCK])


class ChainError(RuntimeError):
    """The local store is unusable (another chain's data, corruption)."""


def _height_key(height: int) -> bytes:
    return VALIDATORS_PREFIX + height.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class Executed:
    block: Block
    result: BlockResult


class Chain:
    def __init__(
        self,
        kv: KVStore,
        genesis: GenesisDoc,
        *,
        verifier: BatchVerifier | None = None,
    ) -> None:
        self.kv = kv
        self.genesis = genesis
        self.trie = StateTrie(kv)
        self.blocks = BlockStore(kv)
        self.genesis_set = genesis.validator_set()
        self._pending: dict[bytes, Executed] = {}
        self._selector: ProposerSelector | None = None
        self._init_genesis()
        self.genesis_hash = self.header_at(0).hash
        self.runtime: Runtime = build_runtime(self.genesis_hash, self.trie, verifier=verifier)
        self.head: Header = self.header_at(self.blocks.height() or 0)

    @classmethod
    def open(
        cls, path: Path, genesis: GenesisDoc, *, verifier: BatchVerifier | None = None
    ) -> Chain:
        return cls(LevelDBKV(path), genesis, verifier=verifier)

    def close(self) -> None:
        self.kv.close()

    # ------------------------------------------------------------ genesis

    def _init_genesis(self) -> None:
        expected = self._genesis_block()
        stored = self.blocks.block_by_height(0)
        if stored is not None:
            if stored.hash != expected.hash:
                raise ChainError(
                    f"the database holds another chain: genesis 0x{stored.hash.hex()}, "
                    f"the genesis file gives 0x{expected.hash.hex()}"
                )
            return
        batch = WriteBatch()
        staged = self.trie.stage(EMPTY_ROOT, genesis_state(self.genesis), 0)
        self.trie.add_to_batch(staged, batch)
        self.blocks.stage_block(expected, None, [], [], batch)
        encoded_set = codec.encode(self.genesis_set.to_wire())
        batch.put(_height_key(1), encoded_set)
        batch.put(_height_key(2), encoded_set)
        self.kv.write(batch, sync=True)
        log.info("genesis written", hash="0x" + expected.hash.hex())

    def _genesis_block(self) -> Block:
        staged = StateTrie(MemoryKV()).stage(EMPTY_ROOT, genesis_state(self.genesis), 0)
        return Block(genesis_header(self.genesis, staged.root), (), None, ())

    # ------------------------------------------------------------ queries

    @property
    def height(self) -> int:
        return self.head.height

    @property
    def state_root(self) -> bytes:
        return self.head.state_root

    def header_at(self, height: int) -> Header:
        block = self.blocks.block_by_height(height)
        if block is None:
            raise ChainError(f"no block at height {height}")
        return block.header

    def validators_for(self, height: int) -> ValidatorSet:
        """The set that finalizes ``height`` (known up to the head + 2)."""
        raw = self.kv.get(_height_key(max(height, 1)))
        if raw is None:
            raise ChainError(f"validator set of height {height} is not known yet")
        return ValidatorSet.from_wire(codec.decode(raw))

    def proposer_for(self, height: int, round_: int) -> bytes:
        """The proposer of (height, round) under the set of ``height`` (memoised per set)."""
        validators = self.validators_for(height)
        selector = self._selector
        if selector is None or selector.validator_set != validators:
            selector = self._selector = ProposerSelector(validators)
        return selector.proposer(height, round_)

    def vrf_output_of(self, header: Header) -> bytes:
        """The VRF output of a stored header (verified when it was committed)."""
        if header.height == 0:
            return GENESIS_VRF_OUTPUT
        return vrf.proof_to_hash(header.vrf_proof)

    def block_time_for(self, height: int, last_commit: Commit | None) -> int:
        """The header timestamp block ``height`` must carry."""
        if height == 1 or last_commit is None:
            return self.header_at(0).timestamp_ms + 1
        return bft_time(last_commit, self.validators_for(height - 1))

    # ------------------------------------------------------------ build

    def build_block(
        self,
        *,
        proposer: Keypair,
        round_: int,
        last_commit: Commit | None,
        candidates: list[bytes],
        evidence: tuple[Evidence, ...] = (),
        max_count: int | None = None,
        max_bytes: int | None = None,
    ) -> Executed:
        """Our block for ``round_``, with our VRF proof for (chain, height, round, parent)."""
        height = self.height + 1
        parent_output = self.vrf_output_of(self.head)
        alpha = block_vrf_alpha(self.genesis_hash, height, round_, parent_output)
        env = BlockEnv(
            height=height,
            timestamp_ms=self.block_time_for(height, last_commit),
            parent_hash=self.head.hash,
            last_commit_hash=EMPTY_HASH if last_commit is None else last_commit.hash,
            proposer=proposer.public,
            proposal_round=round_,
            vrf_proof=vrf.prove(proposer, alpha),
            parent_vrf_output=parent_output,
        )
        result = self.runtime.build_block(
            self.state_root,
            env,
            candidates,
            max_count=max_count,
            max_bytes=max_bytes,
            evidence=evidence,
        )
        header = result.header(
            validators_hash=self.validators_for(height).hash,
            next_validators_hash=self._next_set(height, result).hash,
            evidence_root=evidence_root(evidence),
        )
        block = Block(header, result.extrinsics, last_commit, evidence)
        executed = Executed(block, result)
        self._remember(executed)
        return executed

    def _next_set(self, height: int, result: BlockResult) -> ValidatorSet:
        """The set of height+1 (already fixed by block height−1)."""
        del result  # the set of h+1 never depends on block h itself (H+2 rule)
        return self.validators_for(height + 1)

    # ------------------------------------------------------------ validate

    def validate_block(self, block: Block, *, round_: int | None = None) -> Executed:
        """Check every header field and execute; ``InvalidBlock`` says what is wrong.

        ``round_`` is the round the block is considered in (a proposal's, or
        the round of the commit that finalized it): the block was proposed in
        ``header.proposal_round`` <= that round.
        """
        header = block.header
        if round_ is not None and header.proposal_round > round_:
            raise InvalidBlock(
                f"proposal_round {header.proposal_round} is later than round {round_}"
            )
        known = self._pending.get(block.hash)
        if known is not None:
            return known
        height = self.height + 1
        if header.height != height:
            raise InvalidBlock(f"height {header.height}, expected {height}")
        if header.parent_hash != self.head.hash:
            raise InvalidBlock("parent_hash does not link to our head")
        self._check_last_commit(block, height)
        expected_time = self.block_time_for(height, block.last_commit)
        if header.timestamp_ms != expected_time:
            raise InvalidBlock(
                f"timestamp {header.timestamp_ms} ms, BFT time of the last commit is "
                f"{expected_time} ms"
            )
        if header.timestamp_ms <= self.head.timestamp_ms:
            raise InvalidBlock("timestamp does not increase")
        validators = self.validators_for(height)
        if header.validators_hash != validators.hash:
            raise InvalidBlock("validators_hash is not the set of this height")
        if header.next_validators_hash != self.validators_for(height + 1).hash:
            raise InvalidBlock("next_validators_hash is not the set of the next height")
        if validators.power_of(header.proposer) == 0:
            raise InvalidBlock("proposer is not a validator")
        if header.proposer != self.proposer_for(height, header.proposal_round):
            raise InvalidBlock(f"proposer is not the proposer of round {header.proposal_round}")
        if header.evidence_root != evidence_root(block.evidence):
            raise InvalidBlock("evidence_root does not match the evidence")
        check_evidence_bounds(block.evidence)
        for item in block.evidence:
            self.check_evidence(item)
        result = self.runtime.execute_block(self.state_root, block, self.vrf_output_of(self.head))
        executed = Executed(block, result)
        self._remember(executed)
        return executed

    def _check_last_commit(self, block: Block, height: int) -> None:
        commit = block.last_commit
        if height == 1:
            if commit is not None or block.header.last_commit_hash != EMPTY_HASH:
                raise InvalidBlock("block 1 carries no last commit")
            return
        if commit is None:
            raise InvalidBlock("last_commit is missing")
        if commit.height != height - 1 or commit.block_hash != self.head.hash:
            raise InvalidBlock("last_commit is not for the parent block")
        if block.header.last_commit_hash != commit.hash:
            raise InvalidBlock("last_commit_hash does not match the last commit")
        try:
            verify_commit(commit, self.validators_for(height - 1), self.genesis_hash)
        except InvalidCommit as exc:
            raise InvalidBlock(f"last_commit: {exc}") from exc

    def check_evidence(self, evidence: Evidence) -> None:
        a, b = evidence.vote_a, evidence.vote_b
        if (a.validator, a.height, a.round, a.vote_type) != (
            b.validator,
            b.height,
            b.round,
            b.vote_type,
        ) or a.block_hash == b.block_hash:
            raise InvalidBlock("evidence: the two votes do not conflict")
        if a.height > self.height + 1:
            raise InvalidBlock("evidence: from a future height")
        validators = self.validators_for(a.height)
        try:
            check_vote(a, validators, self.genesis_hash)
            check_vote(b, validators, self.genesis_hash)
        except InvalidMessage as exc:
            raise InvalidBlock(f"evidence: {exc}") from exc

    def _remember(self, executed: Executed) -> None:
        if len(self._pending) >= MAX_PENDING_RESULTS:
            self._pending.pop(next(iter(self._pending)))
        self._pending[executed.block.hash] = executed

    def pending_block(self, block_hash: bytes) -> Block | None:
        executed = self._pending.get(block_hash)
        return None if executed is None else executed.block

    # ------------------------------------------------------------ commit

    def commit_block(self, block: Block, commit: Commit) -> Executed:
        """Write ``block`` (validated or built here) with ``commit``, atomically and synced."""
        if commit.block_hash != block.hash or commit.height != block.header.height:
            raise ChainError("commit_block: the commit is not for this block")
        executed = self._pending.get(block.hash)
        if executed is None:
            executed = self.validate_block(block, round_=commit.round)
        elif block.header.proposal_round > commit.round:
            raise ChainError("commit_block: committed before the round it was proposed in")
        height = block.header.height
        result = executed.result
        batch = WriteBatch()
        self.runtime.commit(result, batch)
        self.blocks.stage_block(block, commit, list(result.receipts), list(result.events), batch)
        change = result.validator_change
        if change is not None and change.apply_at != height + 2:
            raise ChainError(f"validator change for {change.apply_at}, expected {height + 2}")
        next_next = change.validators if change is not None else self.validators_for(height + 1)
        batch.put(_height_key(height + 2), codec.encode(next_next.to_wire()))
        self.kv.write(batch, sync=True)
        self.runtime.committed(result)
        self.head = block.header
        self._pending.clear()
        if change is not None:
            log.info("validator set changes", at=height + 2, size=len(change.validators.validators))
        return executed
