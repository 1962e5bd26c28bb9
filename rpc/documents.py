"""RPC methods of the document store beside the chain (F10, docs/credit.md §10).

Theory of operation
-------------------
A credit request names its texts and documents by blake2b-256 hashes; their
contents live in each node's document store (node/daemon/documents.py).

* ``documents_put(text?, data?)``: store a document on this node and gossip
  it to the peers; exactly one of ``text`` (UTF-8) or ``data`` (0x hex). The
  store refuses more than 256 KiB (``p2p.messages.MAX_DOCUMENT_BYTES``; the
  request body bound ``rpc.max_body_bytes`` comes first). Answers its
  ``hash``, its ``size`` and whether it was ``new`` here. A purged or too
  large document, or one a full store cannot take, is refused (``-32602``,
  the reason in ``data``).
* ``documents_get(hash)``: ``status`` ``available`` with ``text`` (when the
  bytes are UTF-8) or ``data`` (0x hex), ``redacted`` with ``purgedBy``
  (``operator``: on this node; ``governance``: on every node), or
  ``unknown`` (this node never received it).
* ``documents_purge(hash)`` (unsafe: served only with ``rpc.unsafe_methods``,
  for the operator): delete it from this node and refuse it from now on.

A backend serves them by implementing ``DocumentBackend``; others answer
``-32601``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from rpc.encoding import HASH_SCHEMA, HEX_SCHEMA, Hash, HexBytes, hex0x
from rpc.errors import METHOD_NOT_FOUND, RpcError, invalid_params
from rpc.registry import CallContext, MethodRegistry, Params

STATUSES: Final = ("available", "redacted", "unknown")


class DocumentRefused(Exception):
    """The store refuses a document (too large, purged, full); the message says why."""


@dataclass(frozen=True, slots=True)
class DocumentAnswer:
    status: str  # one of STATUSES
    content: bytes | None = None
    purged_by: str | None = None  # "operator" or "governance" when redacted


@runtime_checkable
class DocumentBackend(Protocol):
    """What a node adds to ``RpcBackend`` to serve the document methods."""

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        """Store and gossip; (hash, new). ``DocumentRefused`` if refused."""
        ...

    def get_document(self, digest: bytes) -> DocumentAnswer: ...

    def purge_document_here(self, digest: bytes) -> bool:
        """Delete from this node, refuse from now on; whether it was stored."""
        ...


class PutParams(Params):
    text: str | None = None
    data: HexBytes | None = None


class HashParams(Params):
    hash: Hash


PUT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"hash": HASH_SCHEMA, "size": {"type": "integer"}, "new": {"type": "boolean"}},
    "required": ["hash", "size", "new"],
}
GET_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "hash": HASH_SCHEMA,
        "status": {"enum": list(STATUSES)},
        "size": {"type": ["integer", "null"]},
        "text": {"type": ["string", "null"]},
        "data": {"oneOf": [HEX_SCHEMA, {"type": "null"}]},
        "purgedBy": {"enum": ["operator", "governance", None]},
    },
    "required": ["hash", "status", "size", "text", "data", "purgedBy"],
}
PURGE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"hash": HASH_SCHEMA, "deleted": {"type": "boolean"}},
    "required": ["hash", "deleted"],
}


def _backend(ctx: CallContext, method: str) -> DocumentBackend:
    backend = ctx.backend
    if not isinstance(backend, DocumentBackend):
        raise RpcError(METHOD_NOT_FOUND, data=f"{method} is not served by this backend")
    return backend


def content_of(text: str | None, data: bytes | None) -> bytes:
    """The bytes of a put: exactly one of ``text`` or ``data`` (the store bounds its size)."""
    if text is not None and data is None:
        return text.encode("utf-8")
    if data is not None and text is None:
        return data
    raise invalid_params("text", "give exactly one of text (UTF-8) or data (0x hex)")


def answer_json(digest: bytes, answer: DocumentAnswer) -> dict[str, Any]:
    """``documents_get``'s reply: the text when the bytes are UTF-8, else hex data."""
    text: str | None = None
    data: str | None = None
    content = answer.content
    if content is not None:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            data = hex0x(content)
    return {
        "hash": hex0x(digest),
        "status": answer.status,
        "size": None if content is None else len(content),
        "text": text,
        "data": data,
        "purgedBy": answer.purged_by,
    }


def register_document_methods(registry: MethodRegistry) -> None:
    """Register ``documents_put``, ``documents_get`` and (unsafe) ``documents_purge``."""

    @registry.method("documents_put", params=PutParams, result=PUT_SCHEMA, cost=10)
    def put(ctx: CallContext, p: PutParams) -> dict[str, Any]:
        """Store a text or file of a credit request on this node and gossip it (F10).

        Exactly one of ``text`` (UTF-8) or ``data`` (0x hex), at most 256 KiB.
        The hash to name it by in a request is the blake2b-256 of its bytes.
        """
        backend = _backend(ctx, "documents_put")
        content = content_of(p.text, p.data)
        try:
            digest, new = backend.put_document(content)
        except DocumentRefused as exc:
            raise invalid_params("text" if p.text is not None else "data", str(exc)) from exc
        return {"hash": hex0x(digest), "size": len(content), "new": new}

    @registry.method("documents_get", params=HashParams, result=GET_SCHEMA, cost=2)
    def get(ctx: CallContext, p: HashParams) -> dict[str, Any]:
        """A document by its hash: available (text or data), redacted, or unknown (F10)."""
        return answer_json(p.hash, _backend(ctx, "documents_get").get_document(p.hash))

    @registry.method("documents_purge", params=HashParams, result=PURGE_SCHEMA, unsafe=True, cost=2)
    def purge(ctx: CallContext, p: HashParams) -> dict[str, Any]:
        """Delete a document from this node and refuse it from now on (unsafe: operator).

        The network-wide purge is the governance call ``credit.purge_document``.
        """
        deleted = _backend(ctx, "documents_purge").purge_document_here(p.hash)
        return {"hash": hex0x(p.hash), "deleted": deleted}
