"""The history methods (issue 20): an account's history and a fund's statement, paginated.

Theory of operation
-------------------
A node that keeps the history index (node/daemon/history.py, ``[history]
enabled``, on by default) implements ``HistoryBackend`` beside
``rpc.backend.RpcBackend``; these methods read it:

* ``account_history(address, cursor?, limit?, order?)``: the extrinsics the
  account signed and every other extrinsic or block-hook event whose events
  name it (transfers in and out, fees, loans, trust changes, ...);
* ``funds_statement(fund, from_height?, to_height?, cursor?, limit?, order?)``:
  the fund's public book (F10): its funds, loans, federation and commons
  events, and every movement of its cash account, with the cash balance after
  each entry. ``from_height``/``to_height`` are block heights, both inclusive.

An entry is one extrinsic (position = its index in the block) or one block-hook
event (position = the block's extrinsic count + the event's index), so
``(height, position)`` is chain order. Entries are numbered per account and
per fund in that order (0, 1, 2, ...); a cursor is that number, bound to the
query it came from (subject, order, range) by a short hash, as 22 characters
of base64url: a cursor of another query, or one altered, is refused with
-32602. Entries, once written, never change, so a cursor stays valid while
the chain grows; ``order="desc"`` pages from the newest entry down.

Bounded work: at most ``MAX_LIMIT`` entries a page, each a LevelDB read; a
statement's height range is found by binary search over the fund's entries
(about log2(entries) reads). Handlers run in a worker thread (``offload``):
they read only LevelDB.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, runtime_checkable

from pydantic import Field

from ledger import codec
from ledger.codec import DecodeError, expect_bytes, expect_int, expect_list, expect_str
from ledger.crypto import blake2b256
from ledger.types import DispatchError, Event
from rpc.encoding import (
    ADDRESS_SCHEMA,
    AMOUNT_SCHEMA,
    DISPATCH_ERROR_SCHEMA,
    EVENT_PROPERTIES,
    HASH_SCHEMA,
    Address,
    Height,
    address_text,
    event_json,
    hex0x,
)
from rpc.errors import METHOD_NOT_FOUND, RpcError, invalid_params
from rpc.registry import CallContext, MethodRegistry, Params

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "HistoryBackend",
    "HistoryEntry",
    "HistoryPage",
    "HistoryUnavailable",
    "decode_cursor",
    "encode_cursor",
    "register_history_methods",
]

DEFAULT_LIMIT: Final = 25
MAX_LIMIT: Final = 100
CURSOR_TAG_BYTES: Final = 8
U64_MAX: Final = (1 << 64) - 1


class HistoryUnavailable(RuntimeError):
    """The node keeps no history index (``[history] enabled = false``)."""


def _event_bytes(event: Event) -> bytes:
    return event.encoded


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One extrinsic or block-hook event, as it concerns one account or one fund.

    ``events`` are the events of the entry that name the subject (for the
    signer of an extrinsic: all its events). ``amount_in``/``amount_out``: what
    the subject's balance (a fund's: its cash account's) gained and lost by
    them; ``balance``: a fund's cash after the entry (None for accounts).
    """

    height: int
    time_ms: int
    block_hash: bytes
    position: int
    extrinsic: bytes | None
    signer: bytes | None
    call: str | None
    success: bool | None
    error: DispatchError | None
    events: tuple[Event, ...]
    amount_in: int
    amount_out: int
    balance: int | None = None

    def to_wire(self, event_bytes: Callable[[Event], bytes] | None = None) -> list[Any]:
        """The stored form; each event as ``enc(event)`` (``event_bytes`` may cache them)."""
        encoded = event_bytes or _event_bytes
        return [
            self.height,
            self.time_ms,
            self.block_hash,
            self.position,
            self.extrinsic,
            self.signer,
            self.call,
            self.success,
            None if self.error is None else self.error.to_wire(),
            [encoded(e) for e in self.events],
            self.amount_in,
            self.amount_out,
            self.balance,
        ]

    def encode(self, event_bytes: Callable[[Event], bytes] | None = None) -> bytes:
        # No map in the stored form (events are already bytes): packed as it is.
        return codec.encode_ordered(self.to_wire(event_bytes))

    @classmethod
    def from_wire(cls, value: Any) -> HistoryEntry:
        fields = expect_list(value, 13, "history entry")
        (height, time_ms, block_hash, position, ext, signer, call) = fields[:7]
        (success, error, events, amount_in, amount_out, balance) = fields[7:]
        if not isinstance(events, list) or (success is not None and not isinstance(success, bool)):
            raise DecodeError("history entry: malformed")
        return cls(
            height=expect_int(height, "entry height"),
            time_ms=expect_int(time_ms, "entry time"),
            block_hash=expect_bytes(block_hash, "entry block hash", 32),
            position=expect_int(position, "entry position"),
            extrinsic=None if ext is None else expect_bytes(ext, "entry extrinsic", 32),
            signer=None if signer is None else expect_bytes(signer, "entry signer", 32),
            call=None if call is None else expect_str(call, "entry call"),
            success=success,
            error=None if error is None else DispatchError.from_wire(error),
            events=tuple(
                Event.from_wire(codec.decode(expect_bytes(e, "entry event"))) for e in events
            ),
            amount_in=expect_int(amount_in, "entry amount in"),
            amount_out=expect_int(amount_out, "entry amount out"),
            balance=None if balance is None else expect_int(balance, "entry balance"),
        )

    @classmethod
    def decode(cls, raw: bytes) -> HistoryEntry:
        return cls.from_wire(codec.decode(raw))


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Entries ``(number, entry)`` in the order asked; ``next`` the number to continue from."""

    entries: Sequence[tuple[int, HistoryEntry]]
    next: int | None
    total: int
    indexed_height: int
    opening_balance: int | None = None


@runtime_checkable
class HistoryBackend(Protocol):
    """What a node with the history index adds to ``RpcBackend``."""

    def account_history(
        self, account: bytes, start: int | None, limit: int, newest_first: bool
    ) -> HistoryPage:
        """The account's entries from number ``start`` (first or last if None)."""
        ...

    def fund_statement(
        self,
        fund: int,
        heights: tuple[int, int],
        start: int | None,
        limit: int,
        newest_first: bool,
    ) -> HistoryPage:
        """The fund's entries of blocks ``heights`` (inclusive) from number ``start``."""
        ...


# ------------------------------------------------------------- cursors


def _tag(scope: bytes) -> bytes:
    return blake2b256(b"credichain/history-cursor/1" + scope)[:CURSOR_TAG_BYTES]


def encode_cursor(number: int, scope: bytes) -> str:
    """The opaque cursor of entry ``number`` for the query ``scope``."""
    raw = number.to_bytes(8, "big") + _tag(scope)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str, scope: bytes) -> int:
    """The entry number in ``text``; ValueError if it is not a cursor of this query."""
    if not isinstance(text, str) or len(text) != 22:
        raise ValueError("not a cursor (22 characters, as a previous page's next)")
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except ValueError:
        raise ValueError("not a cursor (base64url)") from None
    if len(raw) != 8 + CURSOR_TAG_BYTES:
        raise ValueError("not a cursor (22 characters, as a previous page's next)")
    if raw[8:] != _tag(scope):
        raise ValueError("a cursor of another query (address, fund, range or order differ)")
    return int.from_bytes(raw[:8], "big")


def _scope(*parts: Any) -> bytes:
    return codec.encode(list(parts))


# ------------------------------------------------------------- parameters

Limit = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, strict=True)
FundId = Field(ge=0, le=2**32 - 1, strict=True)
Order = Literal["asc", "desc"]


class AccountHistoryParams(Params):
    address: Address
    cursor: str | None = None
    limit: int = Limit
    order: Order = "asc"


class FundStatementParams(Params):
    fund: int = FundId
    from_height: Height = 0
    to_height: Height | None = None
    cursor: str | None = None
    limit: int = Limit
    order: Order = "asc"


# ------------------------------------------------------------- results

_NULLABLE_STRING: Final = {"oneOf": [{"type": "string"}, {"type": "null"}]}
_ENTRY_PROPERTIES: Final[dict[str, Any]] = {
    "height": {"type": "integer", "minimum": 0},
    "blockHash": HASH_SCHEMA,
    "timestamp": {"type": "integer", "description": "the block's BFT time, ms"},
    "position": {
        "type": "integer",
        "minimum": 0,
        "description": "the extrinsic's index; a block-hook event: extrinsics + its index",
    },
    "kind": {"type": "string", "enum": ["extrinsic", "block"]},
    "extrinsicHash": {"oneOf": [HASH_SCHEMA, {"type": "null"}]},
    "signer": {"oneOf": [ADDRESS_SCHEMA, {"type": "null"}]},
    "call": {**_NULLABLE_STRING, "description": "pallet.function of the extrinsic"},
    "success": {"oneOf": [{"type": "boolean"}, {"type": "null"}]},
    "error": DISPATCH_ERROR_SCHEMA,
    "events": {"type": "array", "items": {"type": "object", "properties": EVENT_PROPERTIES}},
    "in": {**AMOUNT_SCHEMA, "description": "what the subject's balance gained"},
    "out": {**AMOUNT_SCHEMA, "description": "what the subject's balance lost (fees too)"},
}
ENTRY_SCHEMA: Final = {"type": "object", "properties": _ENTRY_PROPERTIES}
STATEMENT_ENTRY_SCHEMA: Final = {
    "type": "object",
    "properties": {
        **_ENTRY_PROPERTIES,
        "balance": {**AMOUNT_SCHEMA, "description": "the fund's cash after this entry"},
    },
}
_CURSOR_SCHEMA: Final = {
    "oneOf": [{"type": "string"}, {"type": "null"}],
    "description": "pass as cursor for the next page; null on the last page",
}
ACCOUNT_HISTORY_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "address": ADDRESS_SCHEMA,
        "indexedHeight": {"type": "integer", "minimum": 0},
        "total": {"type": "integer", "minimum": 0, "description": "the account's entries"},
        "entries": {"type": "array", "items": ENTRY_SCHEMA},
        "next": _CURSOR_SCHEMA,
    },
}
FUND_STATEMENT_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "fund": {"type": "integer", "minimum": 0},
        "fromHeight": {"type": "integer", "minimum": 0},
        "toHeight": {"type": "integer", "minimum": 0},
        "indexedHeight": {"type": "integer", "minimum": 0},
        "total": {"type": "integer", "minimum": 0, "description": "the fund's entries, all"},
        "openingBalance": {
            **AMOUNT_SCHEMA,
            "description": "the fund's cash before this page's first entry (asc order) or "
            "after its last (desc order)",
        },
        "entries": {"type": "array", "items": STATEMENT_ENTRY_SCHEMA},
        "next": _CURSOR_SCHEMA,
    },
}


def entry_json(entry: HistoryEntry, hrp: str) -> dict[str, Any]:
    error = entry.error
    out: dict[str, Any] = {
        "height": entry.height,
        "blockHash": hex0x(entry.block_hash),
        "timestamp": entry.time_ms,
        "position": entry.position,
        "kind": "block" if entry.extrinsic is None else "extrinsic",
        "extrinsicHash": None if entry.extrinsic is None else hex0x(entry.extrinsic),
        "signer": None if entry.signer is None else address_text(entry.signer, hrp),
        "call": entry.call,
        "success": entry.success,
        "error": None
        if error is None
        else {"pallet": error.pallet, "code": error.code, "rule": error.rule,
              "message": error.message},
        "events": [event_json(e) for e in entry.events],
        "in": str(entry.amount_in),
        "out": str(entry.amount_out),
    }  # fmt: skip
    if entry.balance is not None:
        out["balance"] = str(entry.balance)
    return out


# ------------------------------------------------------------- methods


def _history(ctx: CallContext, method: str) -> HistoryBackend:
    backend = ctx.backend
    if not isinstance(backend, HistoryBackend):
        raise RpcError(METHOD_NOT_FOUND, data=f"{method} is not served by this backend")
    return backend


def _start(cursor: str | None, scope: bytes) -> int | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor, scope)
    except ValueError as exc:
        raise invalid_params("cursor", str(exc)) from None


def _unavailable(method: str) -> RpcError:
    return RpcError(
        METHOD_NOT_FOUND,
        data=f"{method}: this node keeps no history index ([history] enabled = false)",
    )


def register_history_methods(reg: MethodRegistry) -> None:
    """Add account_history and funds_statement (served when the backend has the index)."""

    @reg.method(
        "account_history",
        params=AccountHistoryParams,
        result=ACCOUNT_HISTORY_SCHEMA,
        cost=5,
        offload=True,
    )
    def account_history(ctx: CallContext, p: AccountHistoryParams) -> dict[str, Any]:
        """The extrinsics an account signed and the events that named it, in chain order.

        Paginated: at most ``limit`` (1-100, default 25) entries; ``next`` is the
        cursor of the next page. ``order`` "desc" starts from the newest entry.
        """
        history = _history(ctx, "account_history")
        scope = _scope("account", p.address, p.order)
        try:
            page = history.account_history(
                p.address, _start(p.cursor, scope), p.limit, p.order == "desc"
            )
        except HistoryUnavailable:
            raise _unavailable("account_history") from None
        return {
            "address": address_text(p.address, ctx.hrp),
            "indexedHeight": page.indexed_height,
            "total": page.total,
            "entries": [entry_json(e, ctx.hrp) for _, e in page.entries],
            "next": None if page.next is None else encode_cursor(page.next, scope),
        }

    @reg.method(
        "funds_statement",
        params=FundStatementParams,
        result=FUND_STATEMENT_SCHEMA,
        cost=5,
        offload=True,
    )
    def funds_statement(ctx: CallContext, p: FundStatementParams) -> dict[str, Any]:
        """A fund's public book (F10) between two block heights, with its cash after each entry.

        ``from_height``/``to_height``: block heights, inclusive (default: from 0 to the
        indexed head). Paginated as account_history.
        """
        history = _history(ctx, "funds_statement")
        to_height = U64_MAX if p.to_height is None else p.to_height
        if to_height < p.from_height:
            raise invalid_params("to_height", f"{to_height} is below from_height {p.from_height}")
        scope = _scope("fund", p.fund, p.from_height, to_height, p.order)
        try:
            page = history.fund_statement(
                p.fund,
                (p.from_height, to_height),
                _start(p.cursor, scope),
                p.limit,
                p.order == "desc",
            )
        except HistoryUnavailable:
            raise _unavailable("funds_statement") from None
        return {
            "fund": p.fund,
            "fromHeight": p.from_height,
            "toHeight": min(to_height, page.indexed_height),
            "indexedHeight": page.indexed_height,
            "total": page.total,
            "openingBalance": str(page.opening_balance or 0),
            "entries": [entry_json(e, ctx.hrp) for _, e in page.entries],
            "next": None if page.next is None else encode_cursor(page.next, scope),
        }
