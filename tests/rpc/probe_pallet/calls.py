"""The probe's one call: keep a note."""

from __future__ import annotations

from pallets.support.argtypes import Text
from pallets.support.context import CallContext
from pallets.support.declare import CallSet
from tests.rpc.probe_pallet.storage import MAX_NOTE, NOTES

calls = CallSet("probe")


@calls.call(0, args=(("note", Text(MAX_NOTE)),), weight=1)
def set_note(ctx: CallContext, note: str) -> None:
    """Keep ``note`` as the signer's note."""
    NOTES.put(ctx, ctx.signer, note)
