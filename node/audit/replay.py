"""Replay: re-execute a whole chain from genesis in a fresh store and verify every block.

Theory of operation
-------------------
A ``Replayer`` owns a brand-new ``node.daemon.chain.Chain`` (in-memory, or on a
LevelDB directory when importing) built from the genesis document it is
given. Blocks come from a source (a node's store, an export file, a node's
RPC) as ``BlockRecord``s, in height order. For each block ``h`` it checks, in
this order, and stops at the first difference with a ``ReplayDivergence``
naming the height, the field, and the expected and found values:

1. the hash chain: height ``h``, ``parent_hash`` = hash of block h−1;
2. the block's own commit: for this block, more than 2/3 of the power of the
   validator set of ``h`` (``consensus.verify_commit``);
3. the ``last_commit`` carried in the block (the commit of h−1, checked
   against the set of h−1) and ``last_commit_hash``; BFT time;
4. ``validators_hash`` / ``next_validators_hash`` against the sets the replay
   derived itself: the genesis set for heights 1 and 2, then the set of h+2
   fixed by executing h (the H+2 rule);
5. the proposer is in the set and is the proposer of ``proposal_round``,
   which is not later than the round of the block's commit;
   ``evidence_root``; ``extrinsics_root``;
6. every extrinsic signature;
7. execution (``Chain.validate_block``): first the header's VRF proof
   (``vrf_proof``: the proposer's proof over the chain, height, proposal
   round and the parent's output, C6), then state, receipts and events roots;
8. the receipts and hook events the source stored (when it has them) equal the re-executed ones;
9. the runtime invariants (every pallet's ``try_state``) on the new state.

Signatures are checked ahead of execution: blocks are grouped in batches
(small ones first, so execution starts early, then up to BATCH_EXTRINSICS)
and a background thread verifies every extrinsic and commit signature of the
next BATCHES_AHEAD batches (on a ``BatchVerifier`` of ``threads`` threads;
PyNaCl releases the GIL) while the main thread executes the current one.
A bad signature is reported when its block's turn comes, after the checks of
the blocks before it. The runtime is given a verifier that
answers from those verdicts, so no signature is verified twice except the few
commit signatures ``verify_commit`` re-checks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from consensus import InvalidCommit, verify_commit
from genesis.schema import GenesisDoc
from ledger import codec
from ledger.crypto import verify
from ledger.kv import KVStore, MemoryKV
from ledger.types import (
    EMPTY_HASH,
    EXTRINSIC_LIMITS,
    Block,
    Commit,
    Event,
    Receipt,
    VoteType,
    evidence_root,
    extrinsics_root,
    vote_sign_bytes,
)
from node.audit.replay_summary import ChainSummary, summarize
from node.daemon.chain import Chain
from pallets.executive.executor import InvalidBlock, InvalidVrf
from pallets.executive.validate import InvalidExtrinsic, decode_extrinsic, signing_payload
from pallets.executive.verify import BatchVerifier, SignedItem

# A batch holds up to this many extrinsics (or BATCH_MAX_BLOCKS blocks): large
# enough to keep both verifier threads busy, small enough to bound memory.
BATCH_EXTRINSICS: Final = 4096
BATCH_MAX_BLOCKS: Final = 64
FIRST_BATCH_EXTRINSICS: Final = 256
# Batches verified ahead of the one executing (each holds its payloads in memory).
BATCHES_AHEAD: Final = 2


class ReplayDivergence(Exception):
    """The chain differs from what re-execution gives, at ``height``, in ``what``."""

    def __init__(
        self,
        height: int,
        what: str,
        *,
        expected: bytes | int | str | None = None,
        found: bytes | int | str | None = None,
        detail: str | None = None,
    ) -> None:
        self.height = height
        self.what = what
        self.expected = expected
        self.found = found
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        text = f"height {self.height}: {self.what}"
        if self.expected is not None or self.found is not None:
            text += f": expected {_show(self.expected)}, found {_show(self.found)}"
        if self.detail:
            text += f" ({self.detail})"
        return text


def _show(value: bytes | int | str | None) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return "nothing" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """One block as a source holds it; ``receipts`` is None when it stores none."""

    height: int
    block: Block
    commit: Commit
    receipts: Sequence[Receipt] | None = None
    events: Sequence[Event] | None = None  # the block hooks' events, when the source stores them


@dataclass(slots=True)
class ReplayReport:
    genesis_hash: bytes
    blocks: int = 0
    extrinsics: int = 0
    failed_extrinsics: int = 0
    validator_changes: int = 0
    signatures: int = 0
    head_hash: bytes = EMPTY_HASH
    state_root: bytes = EMPTY_HASH
    seconds: float = 0.0
    threads: int = 1
    summary: ChainSummary | None = None
    timings: dict[str, float] = field(default_factory=dict)


class _KnownSignatures(BatchVerifier):
    """The runtime's verifier during replay: verdicts verified ahead, else inline."""

    def __init__(self) -> None:
        super().__init__(1)
        self.good: set[SignedItem] = set()

    def verify_many(self, items: Sequence[SignedItem]) -> list[bool]:
        good = self.good
        return [item in good or verify(*item) for item in items]


@dataclass(slots=True)
class _Batch:
    records: list[BlockRecord]
    good: set[SignedItem]
    # height -> the first bad signature of that block, described
    bad: dict[int, ReplayDivergence]
    count: int


def _signed_items(
    record: BlockRecord, genesis_hash: bytes
) -> Iterator[tuple[SignedItem, tuple[str, str]]]:
    """Every signature of a block, each with (what, detail) to report if it is bad."""
    for index, raw in enumerate(record.block.extrinsics):
        try:
            ext = decode_extrinsic(raw, EXTRINSIC_LIMITS.max_size)
        except InvalidExtrinsic:
            continue  # execution names the malformed extrinsic
        item = (ext.signer, signing_payload(raw, ext, genesis_hash), ext.signature)
        yield item, (f"extrinsic {index} signature", f"invalid for signer 0x{ext.signer.hex()}")
    commits = [("commit", record.commit)]
    if record.block.last_commit is not None:
        commits.append(("last_commit", record.block.last_commit))
    for name, commit in commits:
        for sig in commit.signatures:
            message = vote_sign_bytes(
                genesis_hash,
                commit.height,
                commit.round,
                VoteType.PRECOMMIT,
                commit.block_hash,
                sig.timestamp_ms,
            )
            yield (
                (sig.validator, message, sig.signature),
                (f"{name} signature", f"bad precommit signature of 0x{sig.validator.hex()}"),
            )


def _verify_batch(
    records: list[BlockRecord], genesis_hash: bytes, verifier: BatchVerifier
) -> _Batch:
    items: list[SignedItem] = []
    failures: list[tuple[int, tuple[str, str]]] = []
    for record in records:
        for item, failure in _signed_items(record, genesis_hash):
            items.append(item)
            failures.append((record.height, failure))
    verdicts = verifier.verify_many(items)
    good: set[SignedItem] = set()
    bad: dict[int, ReplayDivergence] = {}
    for item, ok, (height, failure) in zip(items, verdicts, failures, strict=True):
        if ok:
            good.add(item)
        elif height not in bad:
            bad[height] = ReplayDivergence(height, failure[0], detail=failure[1])
    return _Batch(records, good, bad, len(items))


class _Batches:
    """The records in batches; a failure of the source (a record that does not
    decode, a damaged file) is kept in ``failure`` and ends the batches, so the
    blocks before it are verified first and the first divergence is reported."""

    def __init__(self, records: Iterable[BlockRecord]) -> None:
        self.records = records
        self.failure: Exception | None = None

    def __iter__(self) -> Iterator[list[BlockRecord]]:
        batch: list[BlockRecord] = []
        size = 0
        # Small first batches, so execution starts while the larger ones verify.
        limit = FIRST_BATCH_EXTRINSICS
        try:
            for record in self.records:
                batch.append(record)
                size += len(record.block.extrinsics)
                if size >= limit or len(batch) >= BATCH_MAX_BLOCKS:
                    yield batch
                    batch, size = [], 0
                    limit = min(2 * limit, BATCH_EXTRINSICS)
        except Exception as exc:  # re-raised by ``Replayer.run`` after the earlier blocks
            self.failure = exc
        if batch:
            yield batch


class Replayer:
    def __init__(
        self,
        genesis: GenesisDoc,
        *,
        kv: KVStore | None = None,
        threads: int = 2,
        invariants_every: int = 1,
        on_block: Callable[[int], None] | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if invariants_every < 1:
            raise ValueError("invariants_every must be at least 1")
        self.known = _KnownSignatures()
        self.chain = Chain(kv if kv is not None else MemoryKV(), genesis, verifier=self.known)
        self.genesis_hash = self.chain.genesis_hash
        self.threads = threads
        self.invariants_every = invariants_every
        self.on_block = on_block
        self.report = ReplayReport(self.genesis_hash, threads=threads)
        self.report.timings = {"wait_signatures": 0.0, "execute": 0.0, "invariants": 0.0}
        if self.chain.height != 0:
            raise ValueError("replay needs a fresh store (it holds blocks already)")

    def close(self) -> None:
        self.chain.close()

    def check_genesis(self, claimed: bytes) -> None:
        """The source's block 0 must be the one this genesis document gives."""
        if claimed != self.genesis_hash:
            raise ReplayDivergence(0, "genesis hash", expected=self.genesis_hash, found=claimed)

    def run(self, records: Iterable[BlockRecord]) -> ReplayReport:
        """Verify every record, in order; raise ``ReplayDivergence`` at the first difference."""
        started = time.perf_counter()
        with (
            BatchVerifier(self.threads) as verifier,
            ThreadPoolExecutor(1, thread_name_prefix="replay-prefetch") as ahead,
        ):
            pending: deque[Future[_Batch]] = deque()
            batches = _Batches(records)
            for records_batch in batches:
                pending.append(
                    ahead.submit(_verify_batch, records_batch, self.genesis_hash, verifier)
                )
                if len(pending) > BATCHES_AHEAD:
                    self._execute_batch(pending.popleft())
            while pending:
                self._execute_batch(pending.popleft())
        if batches.failure is not None:
            raise batches.failure
        if self.report.blocks and self.chain.height % self.invariants_every:
            self._check_invariants(self.chain.height)
        report = self.report
        report.head_hash = self.chain.head.hash
        report.state_root = self.chain.state_root
        report.summary = summarize(self.chain)
        report.seconds = time.perf_counter() - started
        return report

    def _execute_batch(self, pending: Future[_Batch]) -> None:
        waited = time.perf_counter()
        batch = pending.result()
        self.report.timings["wait_signatures"] += time.perf_counter() - waited
        self.known.good = batch.good
        self.report.signatures += batch.count
        for record in batch.records:
            self._replay_block(record, batch.bad.get(record.height))
        self.known.good = set()

    # ------------------------------------------------------------ one block

    def _replay_block(self, record: BlockRecord, bad_signature: ReplayDivergence | None) -> None:
        chain = self.chain
        block = record.block
        header = block.header
        height = chain.height + 1
        if record.height != height or header.height != height:
            raise ReplayDivergence(height, "block height", expected=height, found=header.height)
        if header.parent_hash != chain.head.hash:
            raise ReplayDivergence(
                height, "parent_hash", expected=chain.head.hash, found=header.parent_hash
            )
        self._check_own_commit(record, height)
        self._check_last_commit(block, height)
        self._check_header(block, height, record.commit.round)
        if bad_signature is not None:
            raise bad_signature
        started = time.perf_counter()
        try:
            executed = chain.validate_block(block, round_=record.commit.round)
        except InvalidVrf as exc:
            raise ReplayDivergence(height, "vrf_proof", detail=str(exc)) from exc
        except InvalidBlock as exc:
            raise ReplayDivergence(height, "execution", detail=str(exc)) from exc
        result = executed.result
        if record.receipts is not None:
            self._check_receipts(height, result.receipts, record.receipts)
        if record.events is not None:
            self._check_events(height, result.events, record.events)
        chain.commit_block(block, record.commit)
        self.report.timings["execute"] += time.perf_counter() - started
        report = self.report
        report.blocks += 1
        report.extrinsics += len(block.extrinsics)
        report.failed_extrinsics += sum(1 for r in result.receipts if not r.success)
        if result.validator_change is not None:
            report.validator_changes += 1
        if height % self.invariants_every == 0:
            self._check_invariants(height)
        if self.on_block is not None:
            self.on_block(height)

    def _check_own_commit(self, record: BlockRecord, height: int) -> None:
        commit = record.commit
        block_hash = record.block.hash
        if commit.height != height:
            raise ReplayDivergence(height, "commit height", expected=height, found=commit.height)
        if commit.block_hash != block_hash:
            raise ReplayDivergence(
                height, "commit block_hash", expected=block_hash, found=commit.block_hash
            )
        try:
            verify_commit(commit, self.chain.validators_for(height), self.genesis_hash)
        except InvalidCommit as exc:
            raise ReplayDivergence(height, "commit", detail=str(exc)) from exc

    def _check_last_commit(self, block: Block, height: int) -> None:
        header = block.header
        last = block.last_commit
        if height == 1:
            if last is not None or header.last_commit_hash != EMPTY_HASH:
                raise ReplayDivergence(
                    1, "last_commit_hash", expected=EMPTY_HASH, found=header.last_commit_hash
                )
            return
        if last is None:
            raise ReplayDivergence(height, "last_commit", detail="missing")
        previous = self.chain.head.hash
        if last.height != height - 1 or last.block_hash != previous:
            raise ReplayDivergence(
                height, "last_commit block_hash", expected=previous, found=last.block_hash
            )
        if header.last_commit_hash != last.hash:
            raise ReplayDivergence(
                height, "last_commit_hash", expected=last.hash, found=header.last_commit_hash
            )
        try:
            verify_commit(last, self.chain.validators_for(height - 1), self.genesis_hash)
        except InvalidCommit as exc:
            raise ReplayDivergence(height, "last_commit", detail=str(exc)) from exc

    def _check_header(self, block: Block, height: int, commit_round: int) -> None:
        chain = self.chain
        header = block.header
        expected_time = chain.block_time_for(height, block.last_commit)
        if header.timestamp_ms != expected_time:
            raise ReplayDivergence(
                height, "timestamp_ms (BFT time)", expected=expected_time, found=header.timestamp_ms
            )
        validators = chain.validators_for(height)
        if header.validators_hash != validators.hash:
            raise ReplayDivergence(
                height, "validators_hash", expected=validators.hash, found=header.validators_hash
            )
        following = chain.validators_for(height + 1).hash
        if header.next_validators_hash != following:
            raise ReplayDivergence(
                height,
                "next_validators_hash",
                expected=following,
                found=header.next_validators_hash,
            )
        if validators.power_of(header.proposer) == 0:
            raise ReplayDivergence(
                height, "proposer", detail=f"0x{header.proposer.hex()} is not a validator"
            )
        if header.proposal_round > commit_round:
            raise ReplayDivergence(
                height,
                "proposal_round",
                detail=f"{header.proposal_round}, after the commit's round {commit_round}",
            )
        expected_proposer = chain.proposer_for(height, header.proposal_round)
        if header.proposer != expected_proposer:
            raise ReplayDivergence(
                height, "proposer", expected=expected_proposer, found=header.proposer
            )
        root = evidence_root(block.evidence)
        if header.evidence_root != root:
            raise ReplayDivergence(
                height, "evidence_root", expected=root, found=header.evidence_root
            )
        root = extrinsics_root(block.extrinsics)
        if header.extrinsics_root != root:
            raise ReplayDivergence(
                height, "extrinsics_root", expected=root, found=header.extrinsics_root
            )

    def _check_receipts(
        self, height: int, ours: Sequence[Receipt], stored: Sequence[Receipt]
    ) -> None:
        if len(ours) != len(stored):
            raise ReplayDivergence(
                height, "number of stored receipts", expected=len(ours), found=len(stored)
            )
        for index, (mine, theirs) in enumerate(zip(ours, stored, strict=True)):
            if mine != theirs:
                raise ReplayDivergence(
                    height, f"stored receipt {index}", expected=mine.encode(), found=theirs.encode()
                )

    def _check_events(self, height: int, ours: Sequence[Event], stored: Sequence[Event]) -> None:
        # The header's events_root covers these, but a home serves its stored
        # copy over RPC: tallies, enactments, mints and grants are hook events.
        if len(ours) != len(stored):
            raise ReplayDivergence(
                height, "number of stored hook events", expected=len(ours), found=len(stored)
            )
        for index, (mine, theirs) in enumerate(zip(ours, stored, strict=True)):
            if mine != theirs:
                raise ReplayDivergence(
                    height,
                    f"stored hook event {index}",
                    expected=codec.encode(mine.to_wire()),
                    found=codec.encode(theirs.to_wire()),
                )

    def _check_invariants(self, height: int) -> None:
        started = time.perf_counter()
        problems = self.chain.runtime.check_invariants(self.chain.state_root)
        self.report.timings["invariants"] += time.perf_counter() - started
        if problems:
            raise ReplayDivergence(height, "invariants", detail="; ".join(problems))
