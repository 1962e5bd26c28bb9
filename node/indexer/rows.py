"""From a fetched block to the rows of the SQL schema (pure: no I/O, no clock).

Theory of operation
-------------------
``FetchedBlock`` holds what the follower read from a node for one block: the
block itself (``chain_getBlockRaw``), one receipt per extrinsic
(``chain_getReceipt``'s ``raw``), the block hooks' events
(``chain_getEvents``'s ``raw``), and the answers of the state queries at that
block for the loans and funds its events name (``loans_get``, ``funds_get``,
``funds_report``). ``block_rows`` turns it into ``BlockRows``: one tuple per
row of each table, in the column order of ``node/indexer/schema.sql``, every
row keyed by its place in the chain (height, extrinsic index, event index),
so that the same block always gives the same rows.

Money moves only through events (docs/runtime.md; pallets/balances/currency.py
and pallets/payment/fees.py): ``balances.Transferred``, ``Minted`` and
``Burned``, and the fee and dust that ``payment.FeePaid`` / ``DustReaped`` put
into the commons pool. ``movement`` reads each of them as one row, so that
genesis balances plus movements give every account's balance (the
``balances`` view), which the end-to-end test checks against the node.

``named_loans`` and ``named_funds`` say which loans and funds a block's
events touch: the follower asks the node for their state at that block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ledger.crypto import blake2b256, encode_address
from ledger.extrinsic import Extrinsic
from ledger.receipts import Event, Receipt
from ledger.types import Block
from pallets.balances.currency import COMMONS, module_account
from rpc.encoding import hex0x, json_value

__all__ = [
    "HOOKS",
    "BlockRows",
    "FetchedBlock",
    "block_rows",
    "movement",
    "named_funds",
    "named_loans",
]

HOOKS: Final = -1  # extrinsic_index of the events of the block's hooks (chain_getEvents)
POOL: Final = module_account(COMMONS)
# Event attributes that name a fund, by pallet (``by`` is an account elsewhere).
FUND_ATTRIBUTES: Final = {"fund"}
FEDERATION_FUND_ATTRIBUTES: Final = {"fund", "partner", "low", "high", "by", "debtor", "creditor"}


class RowError(ValueError):
    """A node's answer that cannot be a row: names the block and what is wrong."""


@dataclass(frozen=True, slots=True)
class FetchedBlock:
    """One block and what the node said about it (see the module doc)."""

    height: int
    block: Block
    receipts: tuple[Receipt, ...]
    hook_events: tuple[Event, ...]
    loans: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    funds: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    reports: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    # height 0 only: the genesis balances (bech32m account, amount) and module accounts
    genesis_balances: tuple[tuple[str, int], ...] = ()


@dataclass
class BlockRows:
    """The rows of one block, table by table, in schema.sql's column order."""

    block: tuple[Any, ...]
    extrinsics: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    movements: list[tuple[Any, ...]] = field(default_factory=list)
    genesis_balances: list[tuple[Any, ...]] = field(default_factory=list)
    module_accounts: list[tuple[Any, ...]] = field(default_factory=list)
    funds: list[tuple[Any, ...]] = field(default_factory=list)
    loans: list[tuple[Any, ...]] = field(default_factory=list)
    fund_reports: list[tuple[Any, ...]] = field(default_factory=list)
    fund_report_purposes: list[tuple[Any, ...]] = field(default_factory=list)


# ------------------------------------------------------------------ helpers


def _jsonb(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _amount(value: Any, what: str) -> int:
    """An amount from a query answer (decimal string) or an event (int)."""
    if isinstance(value, bool):
        raise RowError(f"{what}: expected an amount, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit():
        number = int(value)
    else:
        raise RowError(f"{what}: expected an amount, got {value!r}")
    if not 0 <= number < 2**64:
        raise RowError(f"{what}: {number} is outside 0..2**64-1")
    return number


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(f"{what}: expected an integer, got {value!r}")
    return value


def _account(value: Any, hrp: str, what: str) -> str:
    if not isinstance(value, bytes) or len(value) != 32:
        raise RowError(f"{what}: expected a 32-byte account, got {value!r}")
    return encode_address(value, hrp)


def movement(event: Event) -> tuple[str, bytes | None, bytes | None, int] | None:
    """``(kind, source, dest, amount)`` if ``event`` moves money, else None."""
    a = event.attrs
    key = (event.pallet, event.name)
    if key == ("balances", "Transferred"):
        return "transfer", a["sender"], a["dest"], a["amount"]
    if key == ("balances", "Minted"):
        return "mint", None, a["dest"], a["amount"]
    if key == ("balances", "Burned"):
        return "burn", a["source"], None, a["amount"]
    if key == ("payment", "FeePaid") and a["fee"]:
        return "fee", a["who"], POOL, a["fee"]
    if key == ("payment", "DustReaped") and a["amount"]:
        return "dust", a["who"], POOL, a["amount"]
    return None


def all_events(fetched: FetchedBlock) -> Iterable[tuple[int, int, Event]]:
    """``(extrinsic_index, event_index, event)``: each receipt's, then the hooks' (-1)."""
    for x, receipt in enumerate(fetched.receipts):
        for e, event in enumerate(receipt.events):
            yield x, e, event
    for e, event in enumerate(fetched.hook_events):
        yield HOOKS, e, event


def named_loans(events: Iterable[Event]) -> set[int]:
    """The loans whose ``loan`` attribute an event carries."""
    return {
        loan
        for event in events
        if isinstance(loan := event.attrs.get("loan"), int) and not isinstance(loan, bool)
    }


def named_funds(events: Iterable[Event], cash_accounts: Mapping[bytes, int]) -> set[int]:
    """Funds an event names, or whose cash account (``cash_accounts``) money moved in or out of."""
    found: set[int] = set()
    for event in events:
        keys = FEDERATION_FUND_ATTRIBUTES if event.pallet == "federation" else FUND_ATTRIBUTES
        for key in keys:
            value = event.attrs.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
        moved = movement(event)
        if moved is not None:
            found.update(
                cash_accounts[a]
                for a in (moved[1], moved[2])
                if a is not None and a in cash_accounts
            )
    return found


def created_funds(events: Iterable[Event]) -> dict[bytes, int]:
    """Cash account -> fund id of every ``funds.FundCreated`` among ``events``."""
    return {
        e.attrs["cash_account"]: e.attrs["fund"]
        for e in events
        if (e.pallet, e.name) == ("funds", "FundCreated")
    }


# ------------------------------------------------------------------ rows


def _extrinsic_row(
    height: int, index: int, raw: bytes, receipt: Receipt, hrp: str
) -> tuple[Any, ...]:
    try:
        ext = Extrinsic.decode(raw)
    except ValueError as exc:
        raise RowError(f"block {height} extrinsic {index}: cannot decode: {exc}") from exc
    ext_hash = blake2b256(raw)
    if receipt.extrinsic_hash != ext_hash:
        raise RowError(f"block {height} extrinsic {index}: the receipt is of another extrinsic")
    fee = sum(
        _amount(e.attrs["fee"], f"block {height} extrinsic {index} fee")
        for e in receipt.events
        if (e.pallet, e.name) == ("payment", "FeePaid")
    )
    error = receipt.error
    return (
        height,
        index,
        hex0x(ext_hash),
        _account(ext.signer, hrp, f"block {height} extrinsic {index} signer"),
        ext.nonce,
        ext.valid_until,
        ext.call.pallet,
        ext.call.function,
        _jsonb(json_value(ext.call.args)),
        receipt.success,
        None if error is None else error.pallet,
        None if error is None else error.code,
        None if error is None else error.rule,
        None if error is None else error.message,
        fee,
    )


def _fund_row(fund: int, record: Mapping[str, Any], height: int) -> tuple[Any, ...]:
    what = f"block {height} funds_get({fund})"
    try:
        return (
            fund,
            str(record["cash_account"]),
            str(record["name"]),
            str(record["status"]),
            _int(record["funders"], f"{what}.funders"),
            _amount(record["contribution"], f"{what}.contribution"),
            _int(record["rate_bps"], f"{what}.rate_bps"),
            [str(p) for p in record["purposes"]],
            _jsonb(record),
            height,  # created_height: kept from the first row by the upsert
            height,
        )
    except KeyError as exc:
        raise RowError(f"{what}: missing {exc}") from None


def _loan_row(loan: int, record: Mapping[str, Any], height: int) -> tuple[Any, ...]:
    what = f"block {height} loans_get({loan})"
    try:
        return (
            loan,
            _int(record["fund"], f"{what}.fund"),
            str(record["recipient"]),
            [str(b) for b in record["borrowers"]],
            str(record["purpose"]),
            _amount(record["principal"], f"{what}.principal"),
            _amount(record["outstanding"], f"{what}.outstanding"),
            _int(record["rate_bps"], f"{what}.rate_bps"),
            _int(record["start"], f"{what}.start"),
            _int(record["term"], f"{what}.term"),
            _int(record["installments"], f"{what}.installments"),
            str(record["status"]),
            _amount(record["principal_paid"], f"{what}.principal_paid"),
            _amount(record["interest_paid"], f"{what}.interest_paid"),
            _amount(record["missing"], f"{what}.missing"),
            _int(record["closed"], f"{what}.closed"),
            height,  # first_height: kept from the first row by the upsert
            height,
        )
    except KeyError as exc:
        raise RowError(f"{what}: missing {exc}") from None


def _report_rows(
    fund: int, report: Mapping[str, Any], height: int
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    what = f"block {height} funds_report({fund})"
    try:
        par = report["par_bps"]
        row = (
            fund,
            height,
            _int(report["time"], f"{what}.time"),
            *(_amount(report[k], f"{what}.{k}") for k in ("cash", "outstanding", "size")),
            _int(report["utilization_bps"], f"{what}.utilization_bps"),
            *(_amount(report[k], f"{what}.{k}") for k in ("interest_income", "losses", "expenses")),
            _int(report["funders"], f"{what}.funders"),
            *(_int(par[f"par{d}"], f"{what}.par{d}") for d in (30, 60, 90)),
            _int(report["exits_pending"], f"{what}.exits_pending"),
            _amount(report["exit_arrears"], f"{what}.exit_arrears"),
        )
        purposes = [
            (
                fund,
                height,
                str(purpose),
                _int(p["loans"], f"{what}.by_purpose.{purpose}.loans"),
                *(
                    _amount(p[k], f"{what}.by_purpose.{purpose}.{k}")
                    for k in ("outstanding", "par30", "par60", "par90")
                ),
            )
            for purpose, p in sorted(report["by_purpose"].items())
        ]
    except (KeyError, AttributeError) as exc:
        raise RowError(f"{what}: malformed: {exc!r}") from None
    return row, purposes


def block_rows(fetched: FetchedBlock, hrp: str) -> BlockRows:
    """Every row ``fetched`` adds to the schema (see the module doc)."""
    header = fetched.block.header
    height = fetched.height
    extrinsics: Sequence[bytes] = fetched.block.extrinsics
    if len(fetched.receipts) != len(extrinsics):
        raise RowError(
            f"block {height}: {len(extrinsics)} extrinsics but {len(fetched.receipts)} receipts"
        )
    events = list(all_events(fetched))
    rows = BlockRows(
        block=(
            height,
            hex0x(fetched.block.hash),
            hex0x(header.parent_hash),
            header.timestamp_ms,
            _account(header.proposer, hrp, f"block {height} proposer"),
            header.proposal_round,
            hex0x(header.state_root),
            len(extrinsics),
            len(events),
        )
    )
    for index, (raw, receipt) in enumerate(zip(extrinsics, fetched.receipts, strict=True)):
        rows.extrinsics.append(_extrinsic_row(height, index, raw, receipt, hrp))
    for x, e, event in events:
        rows.events.append(
            (height, x, e, event.pallet, event.name, _jsonb(json_value(event.attrs)))
        )
        moved = movement(event)
        if moved is not None:
            kind, source, dest, amount = moved
            where = f"block {height} event {x}/{e} {event.pallet}.{event.name}"
            rows.movements.append(
                (
                    height,
                    x,
                    e,
                    kind,
                    None if source is None else _account(source, hrp, f"{where} source"),
                    None if dest is None else _account(dest, hrp, f"{where} dest"),
                    _amount(amount, f"{where} amount"),
                )
            )
        if (event.pallet, event.name) == ("funds", "FundCreated"):
            fund = _int(event.attrs["fund"], f"block {height} FundCreated.fund")
            cash = _account(event.attrs["cash_account"], hrp, f"block {height} cash_account")
            rows.module_accounts.append((cash, f"fund/{fund}"))
    if height == 0:
        rows.module_accounts.append((encode_address(POOL, hrp), COMMONS))
        rows.genesis_balances = [(a, n) for a, n in fetched.genesis_balances if n]
    for fund, record in sorted(fetched.funds.items()):
        rows.funds.append(_fund_row(fund, record, height))
    for loan, record in sorted(fetched.loans.items()):
        rows.loans.append(_loan_row(loan, record, height))
    for fund, report in sorted(fetched.reports.items()):
        row, purposes = _report_rows(fund, report, height)
        rows.fund_reports.append(row)
        rows.fund_report_purposes.extend(purposes)
    return rows
