"""The probe's one query: an account's note, with an amount and a count to convert."""

from __future__ import annotations

from typing import Any, Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, U32, Optional, Text
from pallets.support.queries import QueryReader, QuerySet, Struct
from tests.rpc.probe_pallet.storage import MAX_NOTE, NOTES

DEPOSIT: Final = 2**60  # above 2**53: sent as a decimal string
NOTE_VIEW: Final = Struct(
    "note_view",
    (("owner", ACCOUNT), ("note", Optional(Text(MAX_NOTE))), ("length", U32), ("deposit", AMOUNT)),
)

queries = QuerySet("probe")


@queries.query(
    "getNote", args=(("address", ACCOUNT), ("pad", U32)), result=NOTE_VIEW, defaults={"pad": 0}
)
def get_note(state: QueryReader, address: bytes, pad: int) -> dict[str, Any]:
    """An account's note (null if none) and its length plus ``pad``."""
    note: str | None = NOTES.get(state, address)
    return {
        "owner": address,
        "note": note,
        "length": pad + (0 if note is None else len(note)),
        "deposit": DEPOSIT,
    }
