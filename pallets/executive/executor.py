"""Block execution: the runtime API the node calls.

Theory of operation
-------------------
A block runs on a ``StateOverlay`` over its parent's state (a trie version):

1. **Begin.** The block must extend its parent (height + 1, time not going
   back). Each pallet's ``on_initialize`` hook runs, in pallet-index order;
   then the block's equivocation evidence (checked by the node before) is
   handed to the system pallet, which removes each offender at H + 2 (G6).
2. **Extrinsics, in order.** Each passes ``validate_extrinsic`` against the
   state as it is at that point (so nonces advance within the block). Its
   signer pays its fee (P1, ``runtime/payment.py``; a signer who cannot pay
   makes it invalid) and its nonce is incremented, both in the block's layer,
   so they stand whatever the call does; its call runs in a new overlay
   layer with its declared operations as a budget; its weight (time,
   ``runtime/weights.py``) counts against the block's limit. A
   ``DispatchFailure`` drops the layer and its events and gives a failed receipt carrying the
   pallet's error code and rule; success commits the layer and its events.
3. **End.** ``on_finalize`` hooks, then, when the block's time enters a new
   epoch (every ``system.epoch_length`` seconds from genesis), every pallet's
   ``on_epoch(epoch_index)``.
4. **Result.** The overlay's net changes are staged on the trie (nothing is
   written) giving the state root; with the receipts and hook events this is
   a ``BlockResult``. ``commit`` adds the staged trie nodes to the node's
   write batch, so the block's state, blocks and receipts land atomically.

The node uses three entry points: ``build_block`` (proposer: packs
candidates, skipping the invalid ones and reporting them), ``execute_block``
(validator: a proposed or synced block; an invalid extrinsic, an exceeded
limit or a header root that differs makes the block invalid) and ``commit``.

Block context: height, BFT time ``timestamp_ms // 1000``, the proposer,
``seed = H("credichain/block-seed/1" || parent_hash || last_commit_hash)``
and ``vrf_output``. The parent hash commits to the parent's state and the
last commit to the precommits that finalized it; the proposer of the parent
could grind the parent's content to bias ``seed``, so pallets that need
unpredictability (C6) use ``vrf_output`` instead: ``_begin`` verifies the
header's VRF proof (the proposer's RFC 9381 proof over the chain, height,
proposal round and the parent's output, ``ledger.types.block_vrf_alpha``)
before anything runs, and refuses the block (``InvalidVrf``) when it does not
verify. The output is unique for the proposer's key and that input: a
proposer can withhold its block, never pick among outputs.

Everything here is deterministic: integer arithmetic, block time only,
sorted iteration (the overlay's), bounded work (weights and block limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ledger.crypto import blake2b256
from ledger.kv import WriteBatch
from ledger.merkle import merkle_root
from ledger.overlay import CachedReader, StateOverlay, StateReader
from ledger.types import (
    Block,
    Event,
    Evidence,
    Extrinsic,
    Header,
    Receipt,
    ValidatorSet,
    events_root,
    extrinsics_root,
    receipts_root,
    verify_block_vrf,
)
from pallets.executive.invariants import check_invariants
from pallets.executive.registry import PalletRegistry
from pallets.executive.validate import (
    CheckedExtrinsic,
    InvalidExtrinsic,
    ValidationRules,
    decode_extrinsic,
    signing_payload,
    validate_extrinsic,
)
from pallets.executive.verify import BatchVerifier
from pallets.support.context import SEED_DOMAIN, BlockInfo, CallContext, ReadContext
from pallets.support.declare import ROOT, DispatchFailure, Origin, RuntimeFault
from pallets.support.params import param
from pallets.support.payment import CANNOT_PAY, CannotPay
from pallets.system import api as system_api
from pallets.system.hooks import advance_epoch, epoch_at
from pallets.system.storage import NUMBER, TIME, VALIDATOR_CHANGES

EMPTY_LIST_ROOT: Final = merkle_root([])


class StagedCommit(Protocol):
    @property
    def root(self) -> bytes: ...


class StateTrie(Protocol):
    """What the runtime needs of ``ledger.trie.StateTrie``."""

    def reader(self, root: bytes) -> StateReader: ...

    def stage(self, root: bytes, changes: Mapping[bytes, bytes | None], version: int) -> Any: ...

    def add_to_batch(self, staged: Any, batch: WriteBatch) -> None: ...


class InvalidBlock(Exception):
    """A block that no honest proposer builds; the message says why."""


class InvalidVrf(InvalidBlock):
    """The header's VRF proof is missing, malformed, or not for this block (C6)."""


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """What the node knows about a block before executing it."""

    height: int
    timestamp_ms: int
    parent_hash: bytes
    last_commit_hash: bytes
    proposer: bytes
    proposal_round: int
    vrf_proof: bytes
    parent_vrf_output: bytes  # the parent header's VRF output (zeros for block 1)

    @classmethod
    def from_header(cls, header: Header, parent_vrf_output: bytes) -> BlockEnv:
        return cls(
            header.height,
            header.timestamp_ms,
            header.parent_hash,
            header.last_commit_hash,
            header.proposer,
            header.proposal_round,
            header.vrf_proof,
            parent_vrf_output,
        )


@dataclass(frozen=True, slots=True)
class ValidatorChange:
    """A validator set scheduled by this block, taking effect at ``apply_at`` (H + 2)."""

    apply_at: int
    validators: ValidatorSet


@dataclass(frozen=True, slots=True)
class BlockLimits:
    max_extrinsics: int
    max_bytes: int
    max_weight: int
    max_extrinsic_bytes: int

    @classmethod
    def read(cls, state: StateReader) -> BlockLimits:
        return cls(
            param(state, "system", "max_block_extrinsics"),
            param(state, "system", "max_block_bytes"),
            param(state, "system", "max_block_weight"),
            param(state, "system", "max_extrinsic_bytes"),
        )


@dataclass(frozen=True, slots=True)
class BlockResult:
    env: BlockEnv
    parent_root: bytes
    extrinsics: tuple[bytes, ...]
    receipts: tuple[Receipt, ...]
    events: tuple[Event, ...]  # emitted by hooks; each extrinsic's are in its receipt
    changes: Mapping[bytes, bytes | None]
    staged: Any  # the trie's StagedCommit
    state_root: bytes
    weight: int
    validator_change: ValidatorChange | None
    vrf_output: bytes  # verified: the output the next block's VRF input chains on
    rejected: tuple[tuple[bytes, InvalidExtrinsic], ...] = field(default=())

    @property
    def extrinsics_root(self) -> bytes:
        return extrinsics_root(self.extrinsics)

    @property
    def receipts_root(self) -> bytes:
        return receipts_root(self.receipts)

    @property
    def events_root(self) -> bytes:
        return events_root(self.events)

    def header(
        self,
        *,
        validators_hash: bytes,
        next_validators_hash: bytes,
        evidence_root: bytes = EMPTY_LIST_ROOT,
    ) -> Header:
        """The header of this block (for the proposer)."""
        return Header(
            height=self.env.height,
            timestamp_ms=self.env.timestamp_ms,
            parent_hash=self.env.parent_hash,
            last_commit_hash=self.env.last_commit_hash,
            extrinsics_root=self.extrinsics_root,
            evidence_root=evidence_root,
            state_root=self.state_root,
            receipts_root=self.receipts_root,
            events_root=self.events_root,
            validators_hash=validators_hash,
            next_validators_hash=next_validators_hash,
            proposer=self.env.proposer,
            proposal_round=self.env.proposal_round,
            vrf_proof=self.env.vrf_proof,
        )


class _Run:
    """One block in progress."""

    def __init__(
        self, overlay: StateOverlay, env: BlockEnv, info: BlockInfo, limits: BlockLimits
    ) -> None:
        self.overlay = overlay
        self.env = env
        self.info = info
        self.limits = limits
        self.extrinsics: list[bytes] = []
        self.receipts: list[Receipt] = []
        self.events: list[Event] = []
        self.bytes = 0
        self.weight = 0


class Runtime:
    def __init__(
        self,
        registry: PalletRegistry,
        genesis_hash: bytes,
        trie: StateTrie,
        *,
        verifier: BatchVerifier | None = None,
    ) -> None:
        self.registry = registry
        self.verifier = verifier or BatchVerifier(1)
        self.rules = ValidationRules(registry, genesis_hash, self.verifier)
        self.trie = trie
        self._head: CachedReader | None = None  # set by ``committed``

    # -- queries

    def reader(self, root: bytes) -> StateReader:
        """The committed state at ``root``: the head's remembered reader if it is the head."""
        head = self._head
        if head is not None and head.root == root:
            return head
        return self.trie.reader(root)

    def committed(self, result: BlockResult) -> None:
        """``result`` is now the head (its trie nodes are written): carry the read memory.

        Only a node that follows one chain calls this; without it every read
        goes to the trie, with the same results.
        """
        head = self._head
        if head is None or head.root != result.parent_root:
            head = CachedReader(self.trie.reader(result.parent_root), result.parent_root)
        self._head = head.advanced(
            self.trie.reader(result.state_root), result.state_root, result.changes
        )

    def state(self, root: bytes) -> ReadContext:
        """The state at ``root``, read with this runtime's wiring (for queries and checks)."""
        return ReadContext(self.reader(root), wiring=self.registry.wiring)

    def metadata(self) -> dict[str, Any]:
        return self.registry.metadata()

    def check_invariants(self, root: bytes) -> list[str]:
        return check_invariants(self.registry, self.trie.reader(root))

    # -- the three entry points

    def build_block(
        self,
        parent_root: bytes,
        env: BlockEnv,
        candidates: Iterable[bytes],
        *,
        max_count: int | None = None,
        max_bytes: int | None = None,
        evidence: Sequence[Evidence] = (),
    ) -> BlockResult:
        """Pack ``candidates`` (in order) into a block, skipping any that is invalid
        here or does not fit; ``rejected`` lists the invalid ones with the reason."""
        run = self._begin(parent_root, env, evidence)
        limits = run.limits
        count_cap = min(limits.max_extrinsics, max_count or limits.max_extrinsics)
        bytes_cap = min(limits.max_bytes, max_bytes or limits.max_bytes)
        pending = list(candidates)
        decoded, signature_ok, rejected = self._predecode(pending, limits.max_extrinsic_bytes)
        for raw in pending:
            if len(run.extrinsics) >= count_cap:
                break
            if raw in rejected or run.bytes + len(raw) > bytes_cap:
                continue
            try:
                checked = self._validate(run, raw, decoded.get(raw), signature_ok.get(raw))
            except InvalidExtrinsic as exc:
                rejected[raw] = exc
                continue
            if run.weight + checked.weight > limits.max_weight:
                continue
            try:
                self._apply(run, checked)
            except InvalidExtrinsic as exc:  # its signer cannot pay the fee (P1)
                rejected[raw] = exc
        return self._finish(parent_root, run, tuple(rejected.items()))

    def execute_block(
        self, parent_root: bytes, block: Block, parent_vrf_output: bytes
    ) -> BlockResult:
        """Execute a proposed or synced block and check its header's VRF proof and roots."""
        result = self.execute(
            parent_root,
            BlockEnv.from_header(block.header, parent_vrf_output),
            block.extrinsics,
            block.evidence,
        )
        header = block.header
        for name, ours, theirs in (
            ("extrinsics_root", result.extrinsics_root, header.extrinsics_root),
            ("state_root", result.state_root, header.state_root),
            ("receipts_root", result.receipts_root, header.receipts_root),
            ("events_root", result.events_root, header.events_root),
        ):
            if ours != theirs:
                raise InvalidBlock(f"{name} is 0x{theirs.hex()}, execution gives 0x{ours.hex()}")
        return result

    def execute(
        self,
        parent_root: bytes,
        env: BlockEnv,
        extrinsics: Sequence[bytes],
        evidence: Sequence[Evidence] = (),
    ) -> BlockResult:
        """Execute exactly ``extrinsics``; ``InvalidBlock`` if any may not be included."""
        run = self._begin(parent_root, env, evidence)
        limits = run.limits
        if len(extrinsics) > limits.max_extrinsics:
            raise InvalidBlock(
                f"{len(extrinsics)} extrinsics, the limit is {limits.max_extrinsics}"
            )
        decoded, signature_ok, rejected = self._predecode(extrinsics, limits.max_extrinsic_bytes)
        for index, raw in enumerate(extrinsics):
            if raw in rejected:
                raise InvalidBlock(f"extrinsic {index}: {rejected[raw].reason}")
            try:
                checked = self._validate(run, raw, decoded[raw], signature_ok[raw])
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {index}: {exc.reason}") from exc
            if run.bytes + len(raw) > limits.max_bytes:
                raise InvalidBlock(f"extrinsics exceed {limits.max_bytes} bytes")
            if run.weight + checked.weight > limits.max_weight:
                raise InvalidBlock(f"extrinsics exceed the weight limit {limits.max_weight}")
            try:
                self._apply(run, checked)
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {index}: {exc.reason}") from exc
        return self._finish(parent_root, run, ())

    def commit(self, result: BlockResult, batch: WriteBatch) -> None:
        """Add the block's trie nodes to ``batch`` (the node writes it atomically)."""
        self.trie.add_to_batch(result.staged, batch)

    # -- steps

    def _begin(self, parent_root: bytes, env: BlockEnv, evidence: Sequence[Evidence]) -> _Run:
        base = self.reader(parent_root)
        previous = NUMBER.get(base)
        if env.height != previous + 1:
            raise InvalidBlock(f"height {env.height} does not follow the parent's {previous}")
        if env.timestamp_ms // 1000 < TIME.get(base):
            raise InvalidBlock("block time goes back before the parent's")
        vrf_output = verify_block_vrf(
            self.rules.genesis_hash,
            env.height,
            env.proposal_round,
            env.proposer,
            env.vrf_proof,
            env.parent_vrf_output,
        )
        if vrf_output is None:
            raise InvalidVrf(
                f"vrf_proof does not verify: not the proposer's proof for height {env.height}, "
                f"round {env.proposal_round} on this chain and parent (C6)"
            )
        overlay = StateOverlay(base)
        info = BlockInfo(
            height=env.height,
            timestamp_ms=env.timestamp_ms,
            parent_hash=env.parent_hash,
            last_commit_hash=env.last_commit_hash,
            proposer=env.proposer,
            seed=blake2b256(SEED_DOMAIN + env.parent_hash + env.last_commit_hash),
            epoch=epoch_at(base, env.timestamp_ms // 1000),
            vrf_output=vrf_output,
        )
        run = _Run(overlay, env, info, BlockLimits.read(base))
        for pallet in self.registry.pallets:
            if pallet.hooks.on_initialize is not None:
                self._hook(run, f"{pallet.name}.on_initialize", pallet.hooks.on_initialize)
        if evidence:
            self._hook(
                run,
                "system.punish_equivocation",
                lambda ctx: system_api.punish_equivocation(ctx, evidence),
            )
        return run

    def _predecode(
        self, extrinsics: Sequence[bytes], max_bytes: int
    ) -> tuple[dict[bytes, Extrinsic], dict[bytes, bool], dict[bytes, InvalidExtrinsic]]:
        """Decode all, then verify all signatures in one batch (on the verifier's threads)."""
        decoded: dict[bytes, Extrinsic] = {}
        rejected: dict[bytes, InvalidExtrinsic] = {}
        for raw in extrinsics:
            try:
                decoded[raw] = decode_extrinsic(raw, max_bytes)
            except InvalidExtrinsic as exc:
                rejected[raw] = exc
        genesis = self.rules.genesis_hash
        order = list(decoded)
        verdicts = self.verifier.verify_many(
            [
                (ext.signer, signing_payload(raw, ext, genesis), ext.signature)
                for raw, ext in ((raw, decoded[raw]) for raw in order)
            ]
        )
        return decoded, dict(zip(order, verdicts, strict=True)), rejected

    def _validate(
        self, run: _Run, raw: bytes, decoded: Extrinsic | None, signature_ok: bool | None
    ) -> CheckedExtrinsic:
        return validate_extrinsic(
            raw,
            run.overlay,
            self.rules,
            height=run.info.height,
            max_bytes=run.limits.max_extrinsic_bytes,
            decoded=decoded,
            signature_ok=signature_ok,
        )

    def _charge(self, run: _Run, checked: CheckedExtrinsic) -> tuple[Event, ...]:
        """Take the fee in the block's layer, so it stays paid if the call fails (P1)."""
        payment = self.registry.payment
        if payment is None:
            return ()
        ctx = CallContext(
            run.overlay, run.info, Origin.signed(checked.signer), None, wiring=self.registry.wiring
        )
        try:
            payment.charge(ctx, checked.signer, checked.call, checked.weight, len(checked.raw))
        except CannotPay as exc:
            raise InvalidExtrinsic(CANNOT_PAY, exc.detail) from exc
        return tuple(ctx.events)

    def _apply(self, run: _Run, checked: CheckedExtrinsic) -> None:
        """Charge, bump the nonce, dispatch; ``InvalidExtrinsic`` (unpaid) leaves no trace."""
        overlay = run.overlay
        fee_events = self._charge(run, checked)
        system_api.bump_nonce(overlay, checked.signer, checked.state_nonce)
        overlay.open_layer()
        ctx = CallContext(
            overlay,
            run.info,
            Origin.signed(checked.signer),
            checked.operations,
            wiring=self.registry.wiring,
        )
        try:
            checked.call.fn(ctx, **checked.args)
        except DispatchFailure as failure:
            overlay.drop_layer()
            receipt = Receipt(checked.hash, False, failure.error, fee_events)
        else:
            overlay.commit_layer()
            receipt = Receipt(checked.hash, True, None, fee_events + tuple(ctx.events))
        run.extrinsics.append(checked.raw)
        run.receipts.append(receipt)
        run.bytes += len(checked.raw)
        run.weight += checked.weight

    def _hook(self, run: _Run, name: str, hook: Any, *args: Any) -> None:
        ctx = CallContext(run.overlay, run.info, Origin(ROOT), None, wiring=self.registry.wiring)
        try:
            hook(ctx, *args)
        except DispatchFailure as failure:  # a hook must not fail: that is a bug
            raise RuntimeFault(f"hook {name} failed: {failure}") from failure
        run.events.extend(ctx.events)

    def _finish(
        self,
        parent_root: bytes,
        run: _Run,
        rejected: tuple[tuple[bytes, InvalidExtrinsic], ...],
    ) -> BlockResult:
        for pallet in self.registry.pallets:
            if pallet.hooks.on_finalize is not None:
                self._hook(run, f"{pallet.name}.on_finalize", pallet.hooks.on_finalize)
        started: list[int | None] = []
        self._hook(run, "system.advance_epoch", lambda ctx: started.append(advance_epoch(ctx)))
        if started[0] is not None:
            for pallet in self.registry.pallets:
                if pallet.hooks.on_epoch is not None:
                    self._hook(run, f"{pallet.name}.on_epoch", pallet.hooks.on_epoch, started[0])
        changes = run.overlay.changes()
        staged = self.trie.stage(parent_root, changes, run.info.height)
        apply_at = run.info.height + system_api.VALIDATOR_DELAY
        change = None
        if changes.get(VALIDATOR_CHANGES.key(apply_at)) is not None:
            scheduled = system_api.scheduled_validator_set(run.overlay, apply_at)
            if scheduled is None:
                raise RuntimeFault("a scheduled validator change vanished")
            change = ValidatorChange(apply_at, scheduled)
        return BlockResult(
            env=run.env,
            parent_root=parent_root,
            extrinsics=tuple(run.extrinsics),
            receipts=tuple(run.receipts),
            events=tuple(run.events),
            changes=changes,
            staged=staged,
            state_root=staged.root,
            weight=run.weight,
            validator_change=change,
            vrf_output=run.info.vrf_output,
            rejected=rejected,
        )
