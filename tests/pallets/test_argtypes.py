"""The argument type vocabulary: each type accepts its values and names the bad ones."""

from __future__ import annotations

import json
import re

import pytest

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    U8,
    U64,
    ArgError,
    Bytes,
    Enum,
    List,
    Optional,
    Record,
    Text,
    check_args,
)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (U8, 255),
        (U64, 2**64 - 1),
        (AMOUNT, 0),
        (BPS, 10_000),
        (ACCOUNT, bytes(32)),
        (Bytes(3), b"abc"),
        (Text(7), "ñandú"),
        (BOOL, False),
        (Enum(("x", "y")), "y"),
        (List(U8, 2), [1, 2]),
        (Optional(U8), None),
        (Optional(U8), 7),
        (Record("pair", (("a", U8), ("b", BOOL))), [1, True]),
    ],
)
def test_accepts(kind: object, value: object) -> None:
    assert kind.check(value, "arg") == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (U8, 256, "arg: 256 is outside the u8 range"),
        (U8, -1, "outside the u8 range"),
        (U8, True, "expected an integer (u8), got a bool"),
        (AMOUNT, "5", "expected an integer (amount), got text"),
        (BPS, 10_001, "outside the bps range"),
        (ACCOUNT, bytes(31), "account must be 32 bytes, got 31 bytes"),
        (ACCOUNT, "cc1xyz", "expected 32 bytes (account), got text"),
        (Bytes(3), b"abcd", "4 bytes exceeds the maximum of 3"),
        (Text(4), "ñandú", "7 bytes of text exceeds the maximum of 4"),
        (Text(9), "a\x00b", "control characters"),
        (BOOL, 1, "expected true or false"),
        (Enum(("x", "y")), "z", "'z' is not one of x, y"),
        (List(U8, 2), [1, 2, 3], "3 items, expected 0 to 2"),
        (List(U8, 3), [1, 300], "arg[1]: 300 is outside"),
        (List(U8, 3, unique=True), [1, 1], "arg[1]: repeated item"),
        (Record("pair", (("a", U8), ("b", BOOL))), [1, 2], "arg.b: expected true or false"),
    ],
)
def test_refuses_naming_the_argument(kind: object, value: object, message: str) -> None:
    with pytest.raises(ArgError, match=re.escape(message)):
        kind.check(value, "arg")  # type: ignore[attr-defined]


def test_check_args_names_missing_and_unexpected_arguments() -> None:
    declared = (("dest", ACCOUNT), ("amount", AMOUNT))
    assert check_args(declared, {"dest": bytes(32), "amount": 5}) == {
        "dest": bytes(32),
        "amount": 5,
    }
    with pytest.raises(ArgError, match="amount: missing argument"):
        check_args(declared, {"dest": bytes(32)})
    with pytest.raises(ArgError, match="memo: unexpected argument"):
        check_args(declared, {"dest": bytes(32), "amount": 5, "memo": "x"})
    with pytest.raises(ArgError, match="dest: account must be 32 bytes"):
        check_args(declared, {"dest": b"\x01", "amount": 5})


def test_descriptions_are_json() -> None:
    kinds = [U64, ACCOUNT, Bytes(3), Text(4), BOOL, Enum(("a",)), List(Optional(U8), 3)]
    for kind in kinds:
        text = json.dumps(kind.describe())
        assert kind.name in text
    assert List(ACCOUNT, 16).name == "list(account, 16)"
    with pytest.raises(ValueError, match="distinct"):
        Enum(("a", "a"))
