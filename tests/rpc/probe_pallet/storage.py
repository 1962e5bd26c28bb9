"""The probe's state: one note per account."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import Optional, Text
from pallets.support.storage import ACCOUNT_KEY, StorageSet

MAX_NOTE: Final = 64

storage = StorageSet("probe")
NOTES: Final = storage.map(
    "note", ACCOUNT_KEY, Optional(Text(MAX_NOTE)), default=None, doc="a note by account"
)
