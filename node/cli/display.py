"""What the CLI shows people: amounts, times, durations and accounts in human units.

Theory of operation
-------------------
The node answers for programs: an amount is a decimal string of minor units,
a time an integer of seconds since 1970 (UTC), an account a bech32m address.
``--json`` prints exactly that, for scripts. Every table and every signing
summary prints it for people, through a ``View`` (the chain's token symbol and
decimals, its address prefix, the keystore's names, UTC or local time):

=========================  ==============================================
amount                     ``5,000.000000 CRED`` (``format_amount``)
time                       ``2026-12-06 04:12:09 UTC`` (``--local-time``:
                           this machine's zone); 0 is ``-`` (not yet)
duration                   ``3d 4h`` (exact: ``1h 0m 5s`` is ``1h 5s``)
account                    its keystore name when the keystore holds its
                           key, else the address
nothing (``null``)         ``-``
=========================  ==============================================

Which rule applies is decided per field in one place, ``View.shown``, from
the query's DECLARED result type (pallets/*/queries.py), walked beside the
JSON value: an ``Int`` labelled ``amount`` is an amount, ``duration`` a
duration, a ``FixedBytes`` labelled ``account`` an account; ``Struct``,
``Record``, ``List``, ``Map`` and ``Optional`` are walked into; a proposal's
call (``Dynamic``) is typed by the declaration of the call it names. So
``fund show``, ``loan schedule``, ``gov show`` and ``credichain query get``
all show the same field the same way, and a new query needs no code here.

A time is the one thing the declarations cannot tell: ``created``, ``due``
and ``voting_ends`` are declared ``u64``, exactly like a count of voters, a
block height or a proposal id. So the field names that hold times are listed
here, explicitly (``TIME_FIELDS``), and so are the few integer fields that
hold seconds or minor units without saying so in their type (the
governance rules of ``gov round`` are ``u64`` parameters: ``round_length``,
``enactment_delay``, ``proposal_deposit``; a loan's ``extension``). A name
applies only to a field declared as a plain integer (or not declared at
all); tests/node/test_cli_display.py checks that every listed name is such a
field of some declared query, so the lists cannot go stale unnoticed.

The texts of the chain's errors (a receipt's ``error.message``: ``balance
12500000 is less than the amount 1000000000``) are written by the runtime for
programs too, and are part of what the node answers, so they stay in minor
units and seconds; ``View.message`` rewrites them for people: a number right
after one of ``MESSAGE_AMOUNT_WORDS`` (``balance``, ``amount``, ``fee``...) is
an amount, one of nine or more digits right after ``MESSAGE_TIME_WORDS``
(``at``, ``since``, ``until``, ``now``...) a time. ``--json`` keeps the node's text.

Tables are printed whole when the output is not a terminal (a pipe, a file):
no cell is folded or cut to fit 80 columns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from ledger.crypto import AddressError, decode_address, encode_address
from ledger.keyfile import KeyfileError, read_keyfile_document
from pallets.construct import registry
from pallets.executive.registry import PalletRegistry
from pallets.support.argtypes import ArgType, FixedBytes, Int, List, Optional, Record
from pallets.support.queries import Dynamic, Map, Struct
from rpc.client import ChainProperties

NONE: Final = "-"
WIDE: Final = 10_000  # columns a table may take when the output is not a terminal

# Integer fields that hold a time (seconds since 1970, UTC): see the module doc.
TIME_FIELDS: Final = frozenset(
    {
        "closed", "completes", "created", "deadline", "decided", "due", "end", "ends",
        "enact_at", "joined", "key_since", "last_accrual", "late_since", "leaving_since",
        "made", "now", "passed", "registered", "requested", "since", "start", "started",
        "time", "valid_at", "voting_ends", "year_end", "year_start",
    }
)  # fmt: skip
# Integer fields that hold seconds (a length of time) or minor units without a typed label.
DURATION_FIELDS: Final = frozenset({"enactment_delay", "extension", "round_length"})
AMOUNT_FIELDS: Final = frozenset({"proposal_deposit"})
# Words that precede an amount or a time in the runtime's error texts (View.message).
MESSAGE_AMOUNT_WORDS: Final = (
    "amount", "balance", "base_supply", "cap", "cash", "deposit", "fee", "interest",
    "max_amount", "minting", "outstanding", "owed", "payment", "principal", "size", "trust",
)  # fmt: skip
MESSAGE_TIME_WORDS: Final = ("at", "from", "is", "now", "since", "time", "until")
MESSAGE_AMOUNT: Final = re.compile(rf"\b({'|'.join(MESSAGE_AMOUNT_WORDS)})(\s+\(?)(\d+)\b")
MESSAGE_TIME: Final = re.compile(rf"\b({'|'.join(MESSAGE_TIME_WORDS)})(\s+)(\d{{9,}})\b")
DURATION_UNITS: Final = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
NEGATIVE_NUMBER: Final = re.compile(r"^-(\d[\d.,_]*|\.\d+)$")


# ------------------------------------------------------------- one value


def format_amount(units: int, decimals: int, symbol: str) -> str:
    """Minor units with the token's decimals and symbol: ``1,234.567890 CRED``."""
    sign, units = ("-", -units) if units < 0 else ("", units)
    whole, frac = divmod(units, 10**decimals)
    text = f"{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
    return f"{sign}{text} {symbol}"


def format_time(seconds: int, local: bool = False) -> str:
    """``2026-12-06 04:12:09 UTC``, or in this machine's time zone; 0 (not yet) is ``-``."""
    if seconds == 0:
        return NONE
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
        if local:
            return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except (OverflowError, OSError, ValueError):
        return str(seconds)  # beyond what a calendar shows: the number itself
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: int) -> str:
    """``3d 4h``: days, hours, minutes and seconds, the ones that are not zero (exact)."""
    if seconds <= 0:
        return f"{seconds}s"
    parts = []
    for unit, size in DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def keystore_names(keystore: Path) -> dict[bytes, str]:
    """Public key -> the keystore's name for it (files that cannot be read are left out)."""
    folder = keystore.expanduser()
    names: dict[bytes, str] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            public = bytes.fromhex(str(read_keyfile_document(path)["public_key"])[2:])
        except (KeyfileError, KeyError, ValueError):
            continue
        names.setdefault(public, path.stem)
    return names


# ------------------------------------------------------------- declared types


@functools.cache
def runtime() -> PalletRegistry:
    """The runtime's declarations: call arguments and query results, by type."""
    return registry()


def result_type(method: str) -> ArgType | None:
    """The declared result type of the query served as ``method`` (None: not declared)."""
    for query in runtime().queries:
        if query.method == method:
            return query.result
    return None


def call_type(value: Any) -> ArgType | None:
    """The type of a proposal's call (JSON ``{pallet, function, args}``): its declaration's."""
    if not isinstance(value, dict):
        return None
    call = runtime().call(str(value.get("pallet")), str(value.get("function")))
    return None if call is None else Struct("call", (("args", Struct("args", call.args)),))


# ------------------------------------------------------------- a chain's view


@dataclass(frozen=True, slots=True)
class View:
    """How values are shown on one chain, from one keystore (see the module doc)."""

    decimals: int
    symbol: str
    hrp: str
    names: Mapping[bytes, str] = field(default_factory=dict)
    local_time: bool = False

    @classmethod
    def of(cls, props: ChainProperties, keystore: Path, local_time: bool = False) -> View:
        return cls(
            props.token_decimals,
            props.token_symbol,
            props.address_prefix,
            keystore_names(keystore),
            local_time,
        )

    def amount(self, units: int) -> str:
        return format_amount(units, self.decimals, self.symbol)

    def time(self, seconds: int) -> str:
        return format_time(seconds, self.local_time)

    def message(self, text: str) -> str:
        """A runtime error text with its amounts and times as people read them."""
        text = MESSAGE_AMOUNT.sub(lambda m: m[1] + m[2] + self.amount(int(m[3])), text)
        return MESSAGE_TIME.sub(lambda m: m[1] + m[2] + self.time(int(m[3])), text)

    def account(self, address: str) -> str:
        """An address as its keystore name when known, else as it is."""
        try:
            return self.names.get(decode_address(address, self.hrp), address)
        except AddressError:
            return address

    def shown(self, kind: ArgType | None, value: Any, name: str = "") -> Any:
        """A JSON value of declared type ``kind`` (field ``name``) as people read it.

        Dicts and lists keep their shape (commands may reshape them for a
        table); every leaf becomes text.
        """
        if value is None:
            return NONE
        if isinstance(kind, Optional):
            return self.shown(kind.of, value, name)
        if isinstance(kind, Dynamic):
            return self.shown(call_type(value), value, name)
        if isinstance(value, dict):
            if isinstance(kind, Map):
                return {k: self.shown(kind.of, v, name) for k, v in value.items()}
            fields = dict(kind.fields) if isinstance(kind, Struct | Record) else {}
            return {k: self.shown(fields.get(k), v, k) for k, v in value.items()}
        if isinstance(value, list):
            of = kind.of if isinstance(kind, List) else None
            return [self.shown(of, item, name) for item in value]
        return self.leaf(kind, value, name)

    def leaf(self, kind: ArgType | None, value: Any, name: str) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        label = kind.label if isinstance(kind, Int | FixedBytes) else None
        if label == "account" and isinstance(value, str):
            return self.account(value)
        plain = kind is None or (isinstance(kind, Int) and label not in ("amount", "duration"))
        try:
            if label == "amount" or (plain and name in AMOUNT_FIELDS):
                return self.amount(int(value))
            if label == "duration" or (plain and name in DURATION_FIELDS):
                return format_duration(int(value))
            if plain and name in TIME_FIELDS and isinstance(value, int):
                return self.time(value)
        except ValueError:
            pass  # not a number after all: shown as it came
        return str(value)

    def argument(self, kind: ArgType | None, value: Any) -> str:
        """A call argument (bytes, ints, lists) as a signing summary prints it."""
        if value is None:
            return NONE
        if isinstance(kind, Optional):
            return self.argument(kind.of, value)
        if isinstance(kind, Record) and isinstance(value, list):
            pairs = zip(kind.fields, value, strict=False)
            return "(" + ", ".join(f"{n}={self.argument(t, v)}" for (n, t), v in pairs) + ")"
        if isinstance(value, list):
            of = kind.of if isinstance(kind, List) else None
            return ", ".join(self.argument(of, item) for item in value) or NONE
        label = kind.label if isinstance(kind, Int | FixedBytes) else None
        if isinstance(value, bytes):
            if label != "account" or len(value) != 32:
                return "0x" + value.hex()
            address = encode_address(value, self.hrp)
            known = self.names.get(value)
            return f"{address} ({known})" if known else address
        if isinstance(value, int) and not isinstance(value, bool):
            if label == "amount":
                return f"{self.amount(value)} ({value} minor units)"
            if label == "duration":
                return f"{format_duration(value)} ({value} s)"
        return str(value)


# ------------------------------------------------------------- tables


def inline(value: Any) -> str:
    """A shown value on one line."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={inline(v)}" for k, v in value.items()) or NONE
    if isinstance(value, list):
        separator = "; " if any(isinstance(v, dict) for v in value) else ", "
        return "[" + separator.join(inline(v) for v in value) + "]"
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def cell(value: Any) -> str:
    """A shown value as a table cell: a record one field a line, a list of records one a line."""
    if isinstance(value, dict) and value:
        return "\n".join(f"{k}: {inline(v)}" for k, v in value.items())
    if isinstance(value, list) and value:
        separator = "\n" if any(isinstance(v, dict | list) for v in value) else ", "
        return separator.join(inline(v) for v in value)
    return NONE if value in ({}, []) else inline(value)


def table(title: str, data: dict[str, Any]) -> Table:
    """One record: a field per row."""
    found = Table(title=Text(title), show_header=False, min_width=len(title))
    for name, value in data.items():
        found.add_row(Text(name), Text(cell(value)))  # Text: never read as rich markup
    return found


def rows(title: str, items: list[dict[str, Any]]) -> Table:
    """A list of records: one per row, a column per field."""
    found = Table(title=Text(title), min_width=len(title))
    columns = list(items[0]) if items else ["(none)"]
    for column in columns:
        found.add_column(Text(column))
    for item in items:
        found.add_row(*(Text(cell(item.get(c))) for c in columns))
    return found


def print_whole(console: Console, renderable: RenderableType) -> None:
    """Print; on a terminal fitted to it, elsewhere (a pipe, a file) never folded or cut."""
    if console.is_terminal:
        console.print(renderable)
        return
    width = Measurement.get(console, console.options.update_width(WIDE), renderable).maximum
    Console(file=console.file, width=max(width, 1), highlight=False).print(renderable)


# ------------------------------------------------------------- numbers typed by people


class NumberArguments(TyperCommand):
    """A command whose arguments may be negative numbers (``wallet transfer a b -5``).

    Click reads ``-5`` as an unknown option; here it stays an argument, so that
    the command's own parser refuses it with the reason (``amount '-5' must be
    positive``). Only when a negative number is present: a mistyped option
    (``--jsn``) is still named as unknown otherwise.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if any(NEGATIVE_NUMBER.match(arg) for arg in args):
            ctx.ignore_unknown_options = True
        return super().parse_args(ctx, args)
