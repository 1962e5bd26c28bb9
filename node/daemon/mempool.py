"""The transaction pool: admission, per-sender nonce order, limits, selection.

Theory of operation
-------------------
Pure and synchronous (no trio, no clock): the node calls it from its event
loop and feeds it the chain's head.

*Admission* (``submit``) refuses, with a ``MempoolError(code, reason)`` whose
code is the RPC refusal code of spec/rpc.md: a hash already in the pool or
recently committed (1013), a hash banned after it proved invalid (1012), an
extrinsic the runtime would refuse (1010, the reason from the runtime's own
``validate_extrinsic``, run against the head state for inclusion at the next
height, with nonces up to ``max_future_nonce`` ahead allowed), a nonce that a
pooled extrinsic of the same sender already uses, or no room (1014).

*Fees* (P1, as Substrate's pool does with transaction-payment): admission
asks the runtime's payment for a quote against the head state, counting
what the signer's pooled extrinsics will already cost (fees, and community
allowance, P2); a signer who cannot pay all of it is refused with 1010
``cannot pay fee``. Each entry keeps its quote; its *priority* is its fee
(what it would pay without the allowance) per unit of weight, scaled.

*Order.* Each sender has a queue keyed by nonce. Entries whose nonces run
without a gap from the sender's state nonce are *ready*; the rest wait in
the bounded *future* queue until the gap fills or they expire.

*Limits* hold in count and bytes, overall and per sender; the future queue
has its own cap. When the pool is full, a ready extrinsic may evict future
ones (newest first: they are the least likely to be included), then the
lowest-priority last entries of other senders, if their priority is below
its own; otherwise the newcomer is refused (1014, priority too low).

*After each block* (``on_block``): included hashes leave the pool and are
remembered (a bounded set) so a re-submission is told "already imported";
the senders the block touched get their nonce re-read and their stale
entries dropped; expired entries (``valid_until`` below the next height)
leave; bans expire after ``ban_blocks`` blocks.

*Selection* (``select``) returns ready extrinsics, each sender's in nonce
order, always taking next the highest-priority head among the senders'
ready queues (ties by arrival), so a higher fee per weight goes first and
one busy sender's run is interleaved with the others at equal priority.

A block builder that finds an entry's signer cannot pay any more (its
balance moved since admission) reports it; the entry leaves the pool
without a ban, since money may arrive later.
"""

from __future__ import annotations

import contextlib
import heapq
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger.crypto import blake2b256
from ledger.overlay import StateReader
from pallets.executive.validate import (
    BAD_SIGNATURE,
    CANNOT_PAY,
    CheckedExtrinsic,
    InvalidExtrinsic,
    ValidationRules,
    decode_extrinsic,
    validate_extrinsic,
)
from pallets.support.payment import CannotPay, FeeQuote
from pallets.system.api import account_nonce
from pallets.system.hooks import epoch_at
from pallets.system.storage import TIME

INVALID: Final = 1010
UNKNOWN: Final = 1011
BANNED: Final = 1012
ALREADY_IMPORTED: Final = 1013
POOL_FULL: Final = 1014
PRIORITY_SCALE: Final = 1_000_000  # priority = fee x scale // weight, an integer


class MempoolError(Exception):
    """A refused extrinsic: ``code`` as in spec/rpc.md, ``reason`` for the client."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MempoolLimits:
    max_count: int = 50_000
    max_bytes: int = 64 << 20
    max_per_sender: int = 1000
    max_bytes_per_sender: int = 4 << 20
    max_future_nonce: int = 64  # how far a nonce may run ahead of the state's
    max_future: int = 10_000  # entries waiting for a nonce gap to fill, overall
    remember_committed: int = 100_000  # hashes of recently included extrinsics
    ban_blocks: int = 60

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 0:
                raise ValueError(f"mempool limit {name} must not be negative")


@dataclass(slots=True)
class PoolEntry:
    hash: bytes
    raw: bytes
    signer: bytes
    nonce: int
    valid_until: int
    seq: int  # arrival order
    fee: int = 0  # what its signer pays when it is included (0 under the allowance)
    free_weight: int = 0  # community allowance it uses (P2)
    priority: int = 0  # fee per weight, scaled (higher goes first)

    @property
    def size(self) -> int:
        return len(self.raw)


@dataclass(slots=True)
class _Sender:
    state_nonce: int
    entries: dict[int, PoolEntry] = field(default_factory=dict)
    bytes: int = 0
    fees: int = 0  # sum of the entries' fees
    free_weight: int = 0  # sum of the entries' allowance

    def ready_end(self) -> int:
        """The first nonce not covered by a gap-free run from the state nonce."""
        nonce = self.state_nonce
        while nonce in self.entries:
            nonce += 1
        return nonce


@dataclass(frozen=True, slots=True)
class BlockUpdate:
    """What ``on_block`` removed, for subscriptions (``inBlock``, ``dropped``...)."""

    included: tuple[bytes, ...]
    stale: tuple[bytes, ...]
    expired: tuple[bytes, ...]


class Mempool:
    def __init__(
        self,
        rules: ValidationRules,
        state: StateReader,
        height: int,
        limits: MempoolLimits | None = None,
    ) -> None:
        self.rules = rules
        self.limits = limits or MempoolLimits()
        self._state = state
        self._height = height
        # (block time, epoch) of the head, read once per head: every fee quote needs them.
        self._head_time: tuple[int, int] | None = None
        self._by_hash: dict[bytes, PoolEntry] = {}
        self._senders: dict[bytes, _Sender] = {}
        self._expiry: list[tuple[int, int, bytes]] = []  # (valid_until, seq, hash)
        self._committed: OrderedDict[bytes, None] = OrderedDict()
        self._banned: dict[bytes, int] = {}  # hash -> last banned height
        self._bytes = 0
        self._seq = 0

    # ---------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    @property
    def bytes_used(self) -> int:
        return self._bytes

    @property
    def future_count(self) -> int:
        return sum(len(s.entries) - (s.ready_end() - s.state_nonce) for s in self._senders.values())

    def get(self, tx_hash: bytes) -> bytes | None:
        entry = self._by_hash.get(tx_hash)
        return None if entry is None else entry.raw

    def pending(self) -> list[bytes]:
        """Every pooled extrinsic, in order of arrival."""
        return [e.raw for e in sorted(self._by_hash.values(), key=lambda e: e.seq)]

    def next_nonce(self, account: bytes) -> int:
        """The nonce a wallet should use next, counting ready pooled extrinsics."""
        sender = self._senders.get(account)
        if sender is None:
            return account_nonce(self._state, account)
        return sender.ready_end()

    # ---------------------------------------------------------------- admission

    def submit(self, raw: bytes) -> bytes:
        """Admit ``raw`` or raise ``MempoolError``; returns the extrinsic hash."""
        if not isinstance(raw, bytes):
            raise MempoolError(INVALID, "malformed: an extrinsic is bytes")
        tx_hash = blake2b256(raw)
        if tx_hash in self._by_hash:
            raise MempoolError(ALREADY_IMPORTED, "already imported")
        if tx_hash in self._committed:
            raise MempoolError(ALREADY_IMPORTED, "already imported: in a recent block")
        if tx_hash in self._banned:
            raise MempoolError(BANNED, "temporarily banned")
        try:
            checked = validate_extrinsic(
                raw,
                self._state,
                self.rules,
                height=self._height + 1,
                max_future_nonce=self.limits.max_future_nonce,
            )
        except InvalidExtrinsic as exc:
            if exc.kind == BAD_SIGNATURE:  # costly to check: do not check it twice
                self._banned[tx_hash] = self._height
            raise MempoolError(INVALID, exc.reason) from exc
        signer, nonce = checked.signer, checked.nonce
        sender = self._senders.get(signer) or _Sender(checked.state_nonce)
        quote = self._quote(checked, sender)
        if nonce in sender.entries:
            raise MempoolError(
                POOL_FULL, f"priority too low: nonce {nonce} of this sender is already pooled"
            )
        limits = self.limits
        if len(sender.entries) >= limits.max_per_sender:
            raise MempoolError(POOL_FULL, f"sender has {limits.max_per_sender} pooled already")
        if sender.bytes + len(raw) > limits.max_bytes_per_sender:
            raise MempoolError(POOL_FULL, "sender's pooled extrinsics exceed their byte limit")
        is_future = nonce != sender.ready_end()
        if is_future and self.future_count >= limits.max_future:
            raise MempoolError(POOL_FULL, "pool full: too many extrinsics wait for a nonce gap")
        priority = 0 if quote is None else priority_of(quote)
        self._make_room(len(raw), is_future, signer, priority)
        self._seq += 1
        entry = PoolEntry(
            tx_hash,
            raw,
            signer,
            nonce,
            checked.extrinsic.valid_until,
            self._seq,
            fee=0 if quote is None else quote.due,
            free_weight=0 if quote is None else quote.free_weight,
            priority=priority,
        )
        self._senders[signer] = sender
        sender.entries[nonce] = entry
        sender.bytes += entry.size
        sender.fees += entry.fee
        sender.free_weight += entry.free_weight
        self._by_hash[tx_hash] = entry
        self._bytes += entry.size
        heapq.heappush(self._expiry, (entry.valid_until, entry.seq, tx_hash))
        return tx_hash

    def _quote(self, checked: CheckedExtrinsic, sender: _Sender) -> FeeQuote | None:
        """The fee of ``checked`` on top of the sender's pooled ones; 1010 if unpayable."""
        payment = self.rules.registry.payment
        if payment is None:
            return None
        if self._head_time is None:
            time = TIME.get(self._state)
            self._head_time = (time, epoch_at(self._state, time))
        time, epoch = self._head_time
        try:
            return payment.quote(
                self._state,
                time,
                checked.signer,
                checked.call,
                checked.weight,
                len(checked.raw),
                reserved_free_weight=sender.free_weight,
                reserved_fees=sender.fees,
                epoch=epoch,
            )
        except CannotPay as exc:
            raise MempoolError(INVALID, f"{CANNOT_PAY}: {exc.detail}") from exc

    def _make_room(self, size: int, is_future: bool, signer: bytes, priority: int) -> None:
        """Evict until ``size`` more bytes fit: future entries, then cheaper senders' tails."""
        limits = self.limits

        def fits(count: int, used: int) -> bool:
            return count < limits.max_count and used + size <= limits.max_bytes

        count, used = len(self._by_hash), self._bytes
        if fits(count, used):
            return
        if is_future:
            raise MempoolError(POOL_FULL, "pool full")
        plan: list[PoolEntry] = []
        for victim in sorted(self._future_entries(), key=lambda e: e.seq, reverse=True):
            if fits(count, used):
                break
            plan.append(victim)
            count, used = count - 1, used - victim.size
        planned = {e.hash for e in plan}
        while not fits(count, used):
            tail = self._cheapest_tail(signer, planned)
            if tail is None:
                raise MempoolError(POOL_FULL, "pool full")
            if tail.priority >= priority:
                raise MempoolError(POOL_FULL, "pool full: priority too low")
            plan.append(tail)
            planned.add(tail.hash)
            count, used = count - 1, used - tail.size
        for victim in plan:
            self._remove(victim)

    def _cheapest_tail(self, newcomer: bytes, planned: set[bytes]) -> PoolEntry | None:
        """The lowest-priority last entry of any other sender, not yet planned for eviction.

        Only a sender's last entry may go: evicting an earlier one would strand the rest.
        """
        best: PoolEntry | None = None
        for account, sender in self._senders.items():
            if account == newcomer:
                continue
            tail = max(
                (n for n, e in sender.entries.items() if e.hash not in planned), default=None
            )
            if tail is None:
                continue
            entry = sender.entries[tail]
            if best is None or (entry.priority, -entry.seq) < (best.priority, -best.seq):
                best = entry
        return best

    def _future_entries(self) -> Iterator[PoolEntry]:
        for sender in self._senders.values():
            end = sender.ready_end()
            yield from (e for n, e in sender.entries.items() if n > end)

    # ---------------------------------------------------------------- removal

    def _remove(self, entry: PoolEntry) -> None:
        del self._by_hash[entry.hash]
        self._bytes -= entry.size
        sender = self._senders[entry.signer]
        del sender.entries[entry.nonce]
        sender.bytes -= entry.size
        sender.fees -= entry.fee
        sender.free_weight -= entry.free_weight
        if not sender.entries:
            del self._senders[entry.signer]

    def report_invalid(self, raw: bytes, error: InvalidExtrinsic) -> None:
        """The block builder found ``raw`` invalid: drop it, and ban it if it never can be.

        An entry whose signer can no longer pay leaves without a ban (P1).
        """
        tx_hash = blake2b256(raw)
        entry = self._by_hash.get(tx_hash)
        if (error.permanent or error.kind == CANNOT_PAY) and entry is not None:
            self._remove(entry)
        if error.permanent:
            self._banned[tx_hash] = self._height

    def on_block(
        self, state: StateReader, height: int, included: Sequence[bytes] | None
    ) -> BlockUpdate:
        """Move to a new head. ``included=None`` (after a sync gap) re-reads every sender."""
        self._state, self._height = state, height
        self._head_time = None
        included_hashes: list[bytes] = []
        touched: set[bytes] = set()
        for raw in included or ():
            tx_hash = blake2b256(raw)
            included_hashes.append(tx_hash)
            self._committed[tx_hash] = None
            entry = self._by_hash.get(tx_hash)
            if entry is not None:
                touched.add(entry.signer)
                self._remove(entry)
            else:
                # A committed block holds only valid extrinsics; skip anything else.
                with contextlib.suppress(InvalidExtrinsic):
                    touched.add(decode_extrinsic(raw, len(raw)).signer)
        while len(self._committed) > self.limits.remember_committed:
            self._committed.popitem(last=False)
        if included is None:
            touched = set(self._senders)
        stale: list[bytes] = []
        for signer in sorted(touched):
            sender = self._senders.get(signer)
            if sender is None:
                continue
            sender.state_nonce = account_nonce(state, signer)
            for nonce in sorted(n for n in sender.entries if n < sender.state_nonce):
                stale.append(sender.entries[nonce].hash)
                self._remove(sender.entries[nonce])
        expired: list[bytes] = []
        while self._expiry and self._expiry[0][0] < height + 1:
            _, _, tx_hash = heapq.heappop(self._expiry)
            entry = self._by_hash.get(tx_hash)
            if entry is not None:
                expired.append(tx_hash)
                self._remove(entry)
        horizon = height - self.limits.ban_blocks
        self._banned = {h: at for h, at in self._banned.items() if at > horizon}
        return BlockUpdate(tuple(included_hashes), tuple(stale), tuple(expired))

    # ---------------------------------------------------------------- selection

    def select(self, max_count: int, max_bytes: int) -> list[bytes]:
        """Ready extrinsics for a block: per sender in nonce order, highest priority first.

        Among heads of equal priority, the sender that has had fewer taken so far
        goes first (then the earliest arrival), so equal payers share the block.
        """
        heads: list[tuple[int, int, int, int, Iterator[PoolEntry], PoolEntry]] = []
        for order, sender in enumerate(self._senders.values()):
            run = _ready_run(sender)
            first = next(run, None)
            if first is not None:
                heads.append((-first.priority, 0, first.seq, order, run, first))
        heapq.heapify(heads)
        chosen: list[bytes] = []
        used = 0
        while heads and len(chosen) < max_count:
            _, taken, arrival, order, run, entry = heapq.heappop(heads)
            if used + entry.size > max_bytes:
                continue  # this sender is done: its later nonces depend on this one
            chosen.append(entry.raw)
            used += entry.size
            following = next(run, None)
            if following is not None:
                key = (-following.priority, taken + 1, arrival, order)
                heapq.heappush(heads, (*key, run, following))
        return chosen


def _ready_run(sender: _Sender) -> Iterator[PoolEntry]:
    nonce = sender.state_nonce
    while nonce in sender.entries:
        yield sender.entries[nonce]
        nonce += 1


def priority_of(quote: FeeQuote) -> int:
    """Fee per unit of weight, scaled to an integer (Substrate orders its pool the same way)."""
    return quote.inclusion_fee * PRIORITY_SCALE // max(1, quote.weight)
