"""Documents of credit requests (F10): hashes on chain, texts off chain, purges.

A request names its free texts (what it is for, how it is repaid, why the
borrowers can be trusted) and its documents by the blake2b-256 hashes of
their contents; the contents live in each node's document store beside the
chain (node/daemon/documents.py), never in the state. ``check_hashes``
refuses a hash of zeros (it names nothing: a placeholder, not a document).

``purge`` is the governance call's body: it marks a hash purged at the
current height (``credit/purged/<hash>``). Every node deletes a purged
document from its store and refuses it afterwards; the hash itself stays in
the request, so the state root, replay and proofs do not change.
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.credit.errors import AlreadyPurged, BadDocumentHash
from pallets.credit.events import DocumentPurged
from pallets.credit.storage import PURGED
from pallets.support.context import CallContext

ZERO: bytes = bytes(32)


def check_hashes(hashes: list[bytes]) -> None:
    """Refuse a document hash of zeros (``BadDocumentHash``), naming its position."""
    for index, value in enumerate(hashes):
        if value == ZERO:
            raise BadDocumentHash(
                f"document hash {index} is all zeros; name a text or document by the "
                "blake2b-256 hash of its contents (documents_put returns it)"
            )


def purge(ctx: CallContext, document: bytes) -> None:
    """Mark ``document`` purged at this height; ``AlreadyPurged`` if it already is."""
    check_hashes([document])
    if PURGED.get(ctx, document):
        raise AlreadyPurged(f"document 0x{document.hex()} was purged at height "
                            f"{PURGED.get(ctx, document)}")  # fmt: skip
    PURGED.put(ctx, document, ctx.block.height)
    ctx.emit(DocumentPurged, document=document)


def purged_at(state: StateReader, document: bytes) -> int:
    """The height at which governance purged ``document``; 0 if it did not."""
    height: int = PURGED.get(state, document)
    return height
