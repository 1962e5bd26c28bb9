"""The history index: per account and per fund, what the chain did to it, in chain order.

Theory of operation
-------------------
The chain's state says what an account holds, not how it came to hold it; the
blocks say both, but only block by block. This index turns the blocks into
two lists, kept in their own LevelDB beside the chain (``HOME/data/history``):

* per account, one entry per extrinsic it signed or whose events name it
  (any event field declared ``account``: transfers in and out, fees, loans,
  trust changes, ...), and per block-hook event that names it;
* per fund, its public book (F10): the entries whose ``funds``, ``loans``,
  ``federation`` or ``commons`` events name the fund (a field ``fund``,
  ``partner``, ``low``, ``high``, ``debtor`` or ``creditor``; federation's
  ``AgreementEnded.by``), name one of its loans (learnt from ``Disbursed``)
  or one of its consent proposals (from ``ProposalMade``), and every
  ``balances`` event that moves its cash account (learnt from
  ``FundCreated``), with the cash after each entry. A cash account is moved
  only by ``balances`` events (it never pays fees), so the running balance is
  exact; the tests check it against the state.

An entry (``rpc.history.HistoryEntry``) is one extrinsic, at position = its
index in the block, or one block-hook event, at position = the block's
extrinsic count + its index among the hook events: ``(height, position)`` is
chain order (the chain does not record which hook emitted an event; they are
listed after the extrinsics).

Keys (big-endian integers, so key order is chain order)::

    v                        format version, genesis hash
    m                        the last indexed height
    A/<account 32>           [entries]
    a/<account 32><n 8>      entry n of the account
    F/<fund 4>               [entries, cash]
    f/<fund 4><n 8>          entry n of the fund
    c/<account 32>           fund whose cash account this is
    l/<loan 8>, p/<id 8>     fund of a loan, of a consent proposal

Entries are numbered 0, 1, 2, ... per subject in chain order, so a page is
``limit`` point reads from a number (the RPC cursor), either way, and a
statement's height range is a binary search over numbers. One block is one
atomic write that also moves ``m``: indexing a block at or below ``m`` does
nothing (idempotent), a gap is refused. The write is not synced: the chain's
own write is, and on start ``catch_up`` indexes every block from ``m + 1``
to the chain's head from the block store, so a crash never leaves the index
behind for good. A version or genesis that differs from the store's
rebuilds it from scratch, and ``credichain node reindex`` does the same for
a stopped node.

Pure core: ``block_entries`` computes what a block adds from the block, its
receipts, its hook events and the links known so far; ``HistoryIndex`` is
the thin shell that numbers and stores them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from ledger import codec
from ledger.blockstore import BlockStore
from ledger.codec import expect_int
from ledger.kv import KVStore, WriteBatch
from ledger.types import Block, DispatchError, Event, Extrinsic, Receipt
from pallets.executive.registry import PalletRegistry
from pallets.executive.validate import DECODED
from pallets.support.argtypes import ACCOUNT, ArgType, List, Optional
from rpc.history import HistoryEntry, HistoryPage

log = structlog.get_logger("node.daemon.history")

FORMAT_VERSION: Final = 2
# Pallets whose events belong to a fund's book (F10: "every movement of a fund").
BOOK_PALLETS: Final = frozenset({"funds", "loans", "federation", "commons"})
FUND_FIELDS: Final = frozenset({"fund", "partner", "low", "high", "debtor", "creditor"})
EXTRA_FUND_FIELDS: Final = {("federation", "AgreementEnded"): "by"}
# (pallet, field) -> the link map naming its fund; (pallet, event) -> (map, id field) learnt.
LINKED_FIELDS: Final = {
    ("loans", "loan"): "l",
    ("federation", "loan"): "l",
    ("funds", "proposal"): "p",
}
LINK_SOURCES: Final = {
    ("loans", "Disbursed"): ("l", "loan"),
    ("funds", "ProposalMade"): ("p", "proposal"),
}
CASH_SOURCE: Final = ("funds", "FundCreated")
# Balance movements: (pallet, event) -> (field credited, field debited, amount field).
MOVES: Final[Mapping[tuple[str, str], tuple[str | None, str | None, str]]] = {
    ("balances", "Transferred"): ("dest", "sender", "amount"),
    ("balances", "Minted"): ("dest", None, "amount"),
    ("balances", "Burned"): (None, "source", "amount"),
    ("payment", "FeePaid"): (None, "who", "fee"),
    ("payment", "DustReaped"): (None, "who", "amount"),
}  # fmt: skip
CASH_MOVES: Final = frozenset({("balances", "Transferred"), ("balances", "Minted"),
                               ("balances", "Burned")})  # fmt: skip

# Accounts whose entry count the writer remembers (about 100 bytes each).
MAX_REMEMBERED_COUNTS: Final = 100_000
_VERSION_KEY: Final = b"v"
_HEIGHT_KEY: Final = b"m"


class HistoryError(RuntimeError):
    """The index cannot take this block (a gap) or its store is unusable."""


def _is_account(kind: ArgType) -> bool:
    if isinstance(kind, (Optional, List)):
        return _is_account(kind.of)
    return kind == ACCOUNT


@dataclass(frozen=True, slots=True)
class EventPlan:
    """What indexing needs to know of one kind of event, worked out once per kind.

    ``accounts``: the fields that hold accounts (None: undeclared, any 32-byte
    field); ``move``: its balance movement's fields (``MOVES``), if any;
    ``may_book``: it can belong to a fund's book (a book pallet's event or a
    cash move); ``teaches``: it teaches a link or a cash account.
    """

    accounts: tuple[str, ...] | None
    move: tuple[str | None, str | None, str] | None
    may_book: bool
    teaches: bool

    @classmethod
    def of(cls, key: tuple[str, str], accounts: tuple[str, ...] | None) -> EventPlan:
        return cls(
            accounts=accounts,
            move=MOVES.get(key),
            may_book=key[0] in BOOK_PALLETS or key in CASH_MOVES,
            teaches=key in LINK_SOURCES or key == CASH_SOURCE,
        )


@dataclass(frozen=True, slots=True)
class EventShapes:
    """Which fields of each declared event hold accounts (from the runtime's declarations)."""

    accounts: Mapping[tuple[str, str], tuple[str, ...]]
    # Derived from ``accounts``, once: what indexing needs of each declared event.
    plans: Mapping[tuple[str, str], EventPlan] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plans = {key: EventPlan.of(key, names) for key, names in self.accounts.items()}
        object.__setattr__(self, "plans", plans)

    @classmethod
    def from_registry(cls, registry: PalletRegistry) -> EventShapes:
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        for pallet in registry.pallets:
            for event in pallet.events:
                names = tuple(n for n, kind in event.fields if _is_account(kind))
                found[(event.pallet, event.name)] = names
        return cls(found)

    def plan(self, event: Event) -> EventPlan:
        key = (event.pallet, event.name)
        known = self.plans.get(key)
        return known if known is not None else EventPlan.of(key, self.accounts.get(key))

    def accounts_of(self, event: Event) -> set[bytes]:
        """Every account an event names (an undeclared event: any 32-byte field)."""
        return set(_accounts_in(event, self.accounts.get((event.pallet, event.name))))


def _accounts_in(event: Event, names: tuple[str, ...] | None) -> Iterator[bytes]:
    """The accounts in ``event``'s fields ``names`` (None: any field), maybe repeated."""
    attrs = event.attrs
    for value in attrs.values() if names is None else [attrs.get(n) for n in names]:
        if isinstance(value, list):
            yield from (v for v in value if isinstance(v, bytes) and len(v) == 32)
        elif isinstance(value, bytes) and len(value) == 32:
            yield value


def _amount(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _move_of(
    event: Event, shape: tuple[str | None, str | None, str] | None
) -> tuple[Any, Any, int] | None:
    """(credited, debited, amount) of a balance movement of the ``MOVES`` shape ``shape``."""
    if shape is None:
        return None
    credited, debited, amount_field = shape
    attrs = event.attrs
    return (
        None if credited is None else attrs.get(credited),
        None if debited is None else attrs.get(debited),
        _amount(attrs.get(amount_field)),
    )


def moved(event: Event, account: bytes) -> tuple[int, int]:
    """(gained, lost) by ``account`` through ``event``'s balance movement, if it is one."""
    return _gained_lost(_move_of(event, MOVES.get((event.pallet, event.name))), account)


def _gained_lost(move: tuple[Any, Any, int] | None, account: bytes) -> tuple[int, int]:
    if move is None:
        return 0, 0
    credited, debited, amount = move
    return (amount if credited == account else 0), (amount if debited == account else 0)


@dataclass(frozen=True, slots=True)
class Item:
    """One extrinsic or one block-hook event of a block, before it is split by subject."""

    position: int
    extrinsic: bytes | None
    signer: bytes | None
    call: str | None
    success: bool | None
    error: DispatchError | None
    events: tuple[Event, ...]


def block_items(
    block: Block, receipts: Sequence[Receipt], hook_events: Sequence[Event]
) -> list[Item]:
    """The block's extrinsics, then its hook events, in chain order."""
    if len(receipts) != len(block.extrinsics):
        raise HistoryError(
            f"block {block.header.height}: {len(receipts)} receipts for "
            f"{len(block.extrinsics)} extrinsics"
        )
    items = []
    for index, (raw, receipt) in enumerate(zip(block.extrinsics, receipts, strict=True)):
        ext = DECODED.get(raw) or Extrinsic.decode(raw)  # decoded when it executed
        items.append(
            Item(
                position=index,
                extrinsic=receipt.extrinsic_hash,
                signer=ext.signer,
                call=f"{ext.call.pallet}.{ext.call.function}",
                success=receipt.success,
                error=receipt.error,
                events=receipt.events,
            )
        )
    base = len(block.extrinsics)
    for index, event in enumerate(hook_events):
        items.append(Item(base + index, None, None, None, None, None, (event,)))
    return items


Links = Callable[[str, int], int | None]


@dataclass(slots=True)
class BlockEntries:
    """What one block adds: entries by account and by fund, and links learnt."""

    accounts: dict[bytes, list[HistoryEntry]] = field(default_factory=dict)
    funds: dict[int, list[HistoryEntry]] = field(default_factory=dict)
    links: dict[tuple[str, int], int] = field(default_factory=dict)
    cash_accounts: dict[bytes, int] = field(default_factory=dict)


def _funds_named(event: Event, link: Links) -> set[int]:
    if event.pallet not in BOOK_PALLETS:
        return set()
    found: set[int] = set()
    names = set(FUND_FIELDS)
    extra = EXTRA_FUND_FIELDS.get((event.pallet, event.name))
    if extra is not None:
        names.add(extra)
    for name in names:
        value = event.attrs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    for (pallet, name), kind in LINKED_FIELDS.items():
        value = event.attrs.get(name)
        if pallet == event.pallet and isinstance(value, int) and not isinstance(value, bool):
            fund = link(kind, value)
            if fund is not None:
                found.add(fund)
    return found


def _entry(
    where: tuple[int, int, bytes], item: Item, events: list[Event], gained: int, lost: int
) -> HistoryEntry:
    height, time_ms, block_hash = where
    return HistoryEntry(
        height=height,
        time_ms=time_ms,
        block_hash=block_hash,
        position=item.position,
        extrinsic=item.extrinsic,
        signer=item.signer,
        call=item.call,
        success=item.success,
        error=item.error,
        events=tuple(events),
        amount_in=gained,
        amount_out=lost,
    )


class _Splitter:
    """Links and cash accounts known before the block, plus those the block teaches."""

    def __init__(self, link: Links, cash_fund: Callable[[bytes], int | None]) -> None:
        self.out = BlockEntries()
        self._link = link
        self._cash_fund = cash_fund

    def linked(self, kind: str, ident: int) -> int | None:
        known = self.out.links.get((kind, ident))
        return known if known is not None else self._link(kind, ident)

    def cash_of(self, account: Any) -> int | None:
        if not isinstance(account, bytes):
            return None
        known = self.out.cash_accounts.get(account)
        return known if known is not None else self._cash_fund(account)

    def learn(self, event: Event) -> None:
        key = (event.pallet, event.name)
        source = LINK_SOURCES.get(key)
        if source is not None:
            kind, id_field = source
            ident, fund = event.attrs.get(id_field), event.attrs.get("fund")
            if isinstance(ident, int) and isinstance(fund, int):
                self.out.links[(kind, ident)] = fund
        if key == CASH_SOURCE:
            cash, fund = event.attrs.get("cash_account"), event.attrs.get("fund")
            if isinstance(cash, bytes) and isinstance(fund, int):
                self.out.cash_accounts[cash] = fund

    def funds_of(self, event: Event) -> set[int]:
        funds = _funds_named(event, self.linked)
        shape = MOVES.get((event.pallet, event.name))
        if shape is not None and (event.pallet, event.name) in CASH_MOVES:
            for name in (shape[0], shape[1]):
                fund = None if name is None else self.cash_of(event.attrs.get(name))
                if fund is not None:
                    funds.add(fund)
        return funds

    def cash_moved(self, event: Event, fund: int) -> tuple[int, int]:
        """(gained, lost) by the fund's cash account through ``event``."""
        key = (event.pallet, event.name)
        if key not in CASH_MOVES:
            return 0, 0
        credited, debited, amount_field = MOVES[key]
        amount = _amount(event.attrs.get(amount_field))
        gained = amount if credited and self.cash_of(event.attrs.get(credited)) == fund else 0
        lost = amount if debited and self.cash_of(event.attrs.get(debited)) == fund else 0
        return gained, lost


def block_entries(
    *,
    height: int,
    time_ms: int,
    block_hash: bytes,
    items: Sequence[Item],
    shapes: EventShapes,
    link: Links,
    cash_fund: Callable[[bytes], int | None],
) -> BlockEntries:
    """Split a block's items by the accounts and funds they concern (balances come later).

    ``link(kind, id)`` and ``cash_fund(account)`` answer from what earlier blocks
    taught; what an item teaches applies to the whole item (a fund's creation moves
    its contribution before ``FundCreated`` names the cash account) and those after.
    """
    split = _Splitter(link, cash_fund)
    out = split.out
    where = (height, time_ms, block_hash)
    for item in items:
        events = item.events
        plans = [shapes.plan(event) for event in events]
        for event, plan in zip(events, plans, strict=True):
            if plan.teaches:  # an item's events may name what it creates first
                split.learn(event)
        # Account -> the indices of the events naming it, in event order.
        by_account: dict[bytes, list[int]] = {}
        by_fund: dict[int, list[Event]] = {}
        moves: list[tuple[Any, Any, int] | None] = []
        for index, (event, plan) in enumerate(zip(events, plans, strict=True)):
            for account in _accounts_in(event, plan.accounts):
                named = by_account.setdefault(account, [])
                if not named or named[-1] != index:  # an event counts once per account
                    named.append(index)
            if plan.may_book:
                for fund in split.funds_of(event):
                    by_fund.setdefault(fund, []).append(event)
            moves.append(_move_of(event, plan.move))
        if item.signer is not None:
            by_account[item.signer] = list(range(len(events)))
        for account in sorted(by_account):
            indices = by_account[account]
            gained = lost = 0
            for index in indices:
                got, gave = _gained_lost(moves[index], account)
                gained, lost = gained + got, lost + gave
            named_events = [events[index] for index in indices]
            entry = _entry(where, item, named_events, gained, lost)
            out.accounts.setdefault(account, []).append(entry)
        for fund in sorted(by_fund):
            book = by_fund[fund]
            cash = [split.cash_moved(e, fund) for e in book]
            gained, lost = sum(m[0] for m in cash), sum(m[1] for m in cash)
            out.funds.setdefault(fund, []).append(_entry(where, item, book, gained, lost))
    return out


# ------------------------------------------------------------- the store


def _event_encoding(event: Event) -> bytes:
    return event.encoded


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def _fund_key(fund: int) -> bytes:
    return fund.to_bytes(4, "big")


class HistoryIndex:
    """The index over a ``KVStore`` of its own (``HOME/data/history`` in a node)."""

    def __init__(self, kv: KVStore, registry: PalletRegistry, genesis_hash: bytes) -> None:
        self.kv = kv
        self.shapes = EventShapes.from_registry(registry)
        self.genesis_hash = genesis_hash
        # Every fund's cash account (one per fund), kept in memory: each balance event
        # asks whether an account is one, and a store lookup per account cost more
        # than the rest of indexing a transfer (issue 23's profile).
        self._cash_accounts: dict[bytes, int] = {}
        # Entry counts of recently indexed accounts, as written: each block reads the
        # count of every account it names, and a store read per account was a fifth
        # of indexing a transfer (issue 23). Bounded: emptied when full. Only the
        # writer uses it; RPC reads (on worker threads) ask the store.
        self._counts: dict[bytes, int] = {}
        stored = kv.get(_VERSION_KEY)
        if stored != self._meta:
            if stored is not None:
                log.warning("history index is of another version or chain: rebuilding")
            self.reset()
        for key, raw in kv.iterate(b"c/"):
            self._cash_accounts[key[2:]] = expect_int(codec.decode(raw), "cash fund")

    @property
    def _meta(self) -> bytes:
        return codec.encode([FORMAT_VERSION, self.genesis_hash])

    def reset(self) -> int:
        """Delete every entry: the index is at height 0, to be rebuilt; the keys deleted."""
        keys = [key for key, _ in self.kv.iterate(b"")]
        for start in range(0, len(keys), 10_000):
            batch = WriteBatch()
            for key in keys[start : start + 10_000]:
                batch.delete(key)
            self.kv.write(batch)
        batch = WriteBatch()
        batch.put(_VERSION_KEY, self._meta)
        batch.put(_HEIGHT_KEY, _u64(0))
        self.kv.write(batch, sync=True)
        self._cash_accounts.clear()
        self._counts.clear()
        return len(keys)

    @property
    def height(self) -> int:
        """The last indexed height (0: nothing but genesis, which has no entries)."""
        raw = self.kv.get(_HEIGHT_KEY)
        return 0 if raw is None else int.from_bytes(raw, "big")

    # ------------------------------------------------------------ writing

    def add_block(
        self, block: Block, receipts: Sequence[Receipt], hook_events: Sequence[Event]
    ) -> bool:
        """Index one block; False if it already is (idempotent), HistoryError on a gap."""
        header = block.header
        indexed = self.height
        if header.height <= indexed:
            return False
        if header.height != indexed + 1:
            raise HistoryError(
                f"history index is at height {indexed}, cannot index block {header.height}"
            )
        found = block_entries(
            height=header.height,
            time_ms=header.timestamp_ms,
            block_hash=block.hash,
            items=block_items(block, receipts, hook_events),
            shapes=self.shapes,
            link=self._link,
            cash_fund=self._cash_fund,
        )
        batch = WriteBatch()
        # An event is in the entries of every account and fund it names: encoded once
        # (its receipt's encoding already made it).
        event_bytes = _event_encoding

        counts: dict[bytes, int] = {}
        for account in sorted(found.accounts):
            count = self._counts.get(account)
            if count is None:
                count = self._count(b"A/" + account)
            for entry in found.accounts[account]:
                batch.put(b"a/" + account + _u64(count), entry.encode(event_bytes))
                count += 1
            batch.put(b"A/" + account, codec.encode([count]))
            counts[account] = count
        for fund in sorted(found.funds):
            count, cash = self._fund_head(fund)
            for entry in found.funds[fund]:
                cash = cash + entry.amount_in - entry.amount_out
                booked = dataclasses.replace(entry, balance=cash)
                batch.put(b"f/" + _fund_key(fund) + _u64(count), booked.encode(event_bytes))
                count += 1
            batch.put(b"F/" + _fund_key(fund), codec.encode([count, cash]))
        for (kind, ident), fund in sorted(found.links.items()):
            batch.put(kind.encode() + b"/" + _u64(ident), codec.encode(fund))
        for account, fund in sorted(found.cash_accounts.items()):
            batch.put(b"c/" + account, codec.encode(fund))
        batch.put(_HEIGHT_KEY, _u64(header.height))
        self.kv.write(batch)
        # Once written, not before (a failed write leaves the store's counts in force).
        self._cash_accounts.update(found.cash_accounts)
        if len(self._counts) + len(counts) > MAX_REMEMBERED_COUNTS:
            self._counts.clear()
        self._counts.update(counts)
        return True

    def follow(
        self,
        blocks: BlockStore,
        block: Block,
        receipts: Sequence[Receipt],
        hook_events: Sequence[Event],
    ) -> None:
        """Index a block just committed to ``blocks``; behind it (a failed write), catch up."""
        if block.header.height > self.height + 1:
            log.warning("history index behind the chain: catching up", index=self.height)
            self.catch_up(blocks)
        else:
            self.add_block(block, receipts, hook_events)

    def catch_up(self, blocks: BlockStore, progress: Callable[[int], None] | None = None) -> int:
        """Index every stored block above the index's height; the number indexed.

        An index above the store's head (another store put in place) is rebuilt.
        """
        head = blocks.height() or 0
        if self.height > head:  # the chain's store was replaced: its entries may differ
            log.warning("history index is ahead of the chain: rebuilding", index=self.height)
            self.reset()
        done = 0
        for height in range(self.height + 1, head + 1):
            block = blocks.block_by_height(height)
            events = blocks.events_at(height)
            if block is None or events is None:
                raise HistoryError(f"the block store has no block {height} (below its head {head})")
            self.add_block(block, blocks.receipts_at(height), events)
            done += 1
            if progress is not None and done % 1000 == 0:
                progress(height)
        return done

    def _count(self, key: bytes) -> int:
        raw = self.kv.get(key)
        return 0 if raw is None else expect_int(codec.decode(raw)[0], "entry count")

    def _fund_head(self, fund: int) -> tuple[int, int]:
        raw = self.kv.get(b"F/" + _fund_key(fund))
        if raw is None:
            return 0, 0
        count, cash = codec.decode(raw)
        return expect_int(count, "fund entries"), expect_int(cash, "fund cash")

    def _link(self, kind: str, ident: int) -> int | None:
        raw = self.kv.get(kind.encode() + b"/" + _u64(ident))
        return None if raw is None else expect_int(codec.decode(raw), "linked fund")

    def _cash_fund(self, account: bytes) -> int | None:
        return self._cash_accounts.get(account)

    # ------------------------------------------------------------ reading

    def account_history(
        self, account: bytes, start: int | None, limit: int, newest_first: bool
    ) -> HistoryPage:
        total = self._count(b"A/" + account)
        return self._page(b"a/" + account, (0, total), total, start, limit, newest_first)

    def fund_statement(
        self,
        fund: int,
        heights: tuple[int, int],
        start: int | None,
        limit: int,
        newest_first: bool,
    ) -> HistoryPage:
        prefix = b"f/" + _fund_key(fund)
        total, _ = self._fund_head(fund)
        low = self._first_at_or_above(prefix, total, heights[0])
        high = self._first_at_or_above(prefix, total, heights[1] + 1)
        page = self._page(prefix, (low, high), total, start, limit, newest_first)
        opening = 0
        if page.entries:
            number, first = page.entries[0]
            if newest_first:
                opening = first.balance or 0
            else:
                before = self._entry(prefix, number - 1) if number > 0 else None
                opening = 0 if before is None else before.balance or 0
        return HistoryPage(page.entries, page.next, total, page.indexed_height, opening)

    def _entry(self, prefix: bytes, number: int) -> HistoryEntry | None:
        raw = self.kv.get(prefix + _u64(number))
        return None if raw is None else HistoryEntry.decode(raw)

    def _first_at_or_above(self, prefix: bytes, total: int, height: int) -> int:
        """The number of the first entry at ``height`` or above (``total`` if none)."""
        low, high = 0, total
        while low < high:
            middle = (low + high) // 2
            entry = self._entry(prefix, middle)
            if entry is None:
                raise HistoryError(f"history entry {middle} of {prefix!r} is missing")
            if entry.height < height:
                low = middle + 1
            else:
                high = middle
        return low

    def _page(
        self,
        prefix: bytes,
        bounds: tuple[int, int],
        total: int,
        start: int | None,
        limit: int,
        newest_first: bool,
    ) -> HistoryPage:
        low, high = bounds
        indexed = self.height
        if newest_first:
            first = high - 1 if start is None else min(start, high - 1)
            numbers: Iterator[int] = iter(range(first, max(low, first - limit + 1) - 1, -1))
        else:
            first = low if start is None else max(start, low)
            numbers = iter(range(first, min(high, first + limit)))
        entries = []
        for number in numbers:
            entry = self._entry(prefix, number)
            if entry is None:
                raise HistoryError(f"history entry {number} of {prefix!r} is missing")
            entries.append((number, entry))
        following: int | None = None
        if entries:
            last = entries[-1][0]
            following = last - 1 if newest_first else last + 1
            if not low <= following < high:
                following = None
        return HistoryPage(entries, following, total, indexed)
