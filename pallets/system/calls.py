"""System calls."""

from __future__ import annotations

from typing import Final

from ledger.crypto import blake2b256
from pallets.runtime.argtypes import Text
from pallets.runtime.context import CallContext
from pallets.runtime.declare import CallSet
from pallets.system.events import Remarked

MAX_REMARK: Final = 1024

calls = CallSet("system")


@calls.call(0, args=(("text", Text(MAX_REMARK)),), weight=1)
def remark(ctx: CallContext, text: str) -> None:
    """Put a short text on chain; only its hash is kept, in an event."""
    ctx.emit(Remarked, sender=ctx.signer, hash=blake2b256(text.encode("utf-8")))
