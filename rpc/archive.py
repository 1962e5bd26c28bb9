"""The chain's bytes for outside verifiers (issue 22): raw headers and blocks, hook events,
the genesis document.

Theory of operation
-------------------
``chain_getHeader`` and ``chain_getBlock`` serve JSON forms from which a
verifier must rebuild the hashed bytes; these methods serve the bytes
themselves, so every root in a header can be recomputed from what the node
says:

* ``chain_getHeaderRaw(hash?)``: ``"0x" + enc(header)``, whose BLAKE2b-256 is
  the block hash;
* ``chain_getBlockRaw(hash?)``: ``"0x" + enc(block)``, the block as stored and
  gossiped (header, extrinsics, last commit, evidence);
* ``chain_getEvents(hash?)``: the events of the block's hooks in the order
  ``events_root`` commits to, each with its ``raw`` leaf ``enc(event)``;
* ``chain_getGenesis()``: the genesis document (as a ``genesis.json`` holds
  it) and the genesis hash, so block 0 need not be taken on trust.

The encodings are canonical (a decoder re-encodes and refuses any
difference), so the bytes a node serves from its decoded store are the bytes
it stored and hashed. The node implements ``ArchiveBackend`` beside
``rpc.backend.RpcBackend``; a backend without it (the in-memory test
backends) still serves the raw header and block (encoded from its decoded
values) and refuses the other two with -32601.

Bounded work: one block-store read and one encoding per call, in a worker
thread (``offload``, like ``chain_getBlock``); the genesis document is built
and serialized once (``MethodRegistry.cached``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from ledger import codec
from ledger.types import Event
from rpc.encoding import EVENT_PROPERTIES, HASH_SCHEMA, HEX_SCHEMA, Hash, event_json, hex0x
from rpc.errors import METHOD_NOT_FOUND, RpcError
from rpc.registry import CallContext, MethodRegistry, NoParams, Params, RawJson

__all__ = ["ArchiveBackend", "register_archive_methods"]

_RAW_OR_NULL: Final = {"oneOf": [HEX_SCHEMA, {"type": "null"}]}
EVENT_SCHEMA: Final = {
    "type": "object",
    "properties": {
        **EVENT_PROPERTIES,
        "raw": {**HEX_SCHEMA, "description": "enc([pallet, name, attributes]): the leaf"},
    },
}
EVENTS_SCHEMA: Final = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "blockHash": HASH_SCHEMA,
                "number": {"type": "integer", "minimum": 0},
                "events": {"type": "array", "items": EVENT_SCHEMA},
            },
        },
        {"type": "null"},
    ]
}
GENESIS_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "document": {
            "type": "object",
            "description": "the genesis document, as genesis.json holds it",
        },
        "hash": HASH_SCHEMA,
    },
}


@runtime_checkable
class ArchiveBackend(Protocol):
    """What a node adds to ``RpcBackend`` to serve the methods of this module."""

    def block_events(self, block_hash: bytes) -> Sequence[Event] | None:
        """The block hooks' events of a stored block, in order; None if unknown."""
        ...

    def genesis_document(self) -> Mapping[str, Any]:
        """The genesis document as JSON values (``GenesisDoc.to_json_dict()``)."""
        ...


class OptionalBlockParams(Params):
    hash: Hash | None = None


def _archive(ctx: CallContext, method: str) -> ArchiveBackend:
    backend = ctx.backend
    if not isinstance(backend, ArchiveBackend):
        raise RpcError(METHOD_NOT_FOUND, data=f"{method} is not served by this backend")
    return backend


def _requested(ctx: CallContext, p: OptionalBlockParams) -> bytes:
    return ctx.backend.best_hash() if p.hash is None else p.hash


def register_archive_methods(reg: MethodRegistry) -> None:
    """Add chain_getHeaderRaw, chain_getBlockRaw, chain_getEvents and chain_getGenesis."""

    @reg.method("chain_getHeaderRaw", params=OptionalBlockParams, result=_RAW_OR_NULL, offload=True)
    def get_header_raw(ctx: CallContext, p: OptionalBlockParams) -> str | None:
        """enc(header) of block ``hash`` (best if omitted), whose BLAKE2b-256 is the block hash.

        Null if the block is unknown.
        """
        header = ctx.backend.header(_requested(ctx, p))
        return None if header is None else hex0x(header.encode())

    @reg.method(
        "chain_getBlockRaw",
        params=OptionalBlockParams,
        result=_RAW_OR_NULL,
        cost=10,
        offload=True,
    )
    def get_block_raw(ctx: CallContext, p: OptionalBlockParams) -> str | None:
        """enc(block) of block ``hash`` (best if omitted), as stored and gossiped; null if unknown.

        ``[header, [extrinsic: bin, ...], last_commit | nil, [evidence, ...]]``.
        """
        block = ctx.backend.block(_requested(ctx, p))
        return None if block is None else hex0x(block.encode())

    @reg.method(
        "chain_getEvents", params=OptionalBlockParams, result=EVENTS_SCHEMA, cost=5, offload=True
    )
    def get_events(ctx: CallContext, p: OptionalBlockParams) -> dict[str, Any] | None:
        """The block hooks' events of block ``hash`` (best if omitted), in eventsRoot order.

        eventsRoot = merkle_root([raw, ...]). Null if the block is unknown.
        """
        archive = _archive(ctx, "chain_getEvents")
        block_hash = _requested(ctx, p)
        header = ctx.backend.header(block_hash)
        events = None if header is None else archive.block_events(block_hash)
        if header is None or events is None:
            return None
        return {
            "blockHash": hex0x(block_hash),
            "number": header.height,
            "events": [{**event_json(e), "raw": hex0x(codec.encode(e.to_wire()))} for e in events],
        }

    @reg.method("chain_getGenesis", result=GENESIS_SCHEMA, cost=5)
    def get_genesis(ctx: CallContext, _: NoParams) -> RawJson:
        """The genesis document this node was started with, and the genesis hash (block 0's)."""
        archive = _archive(ctx, "chain_getGenesis")
        genesis_hash = ctx.backend.chain_info().genesis_hash
        return ctx.registry.cached(
            ("chain_getGenesis", genesis_hash),
            lambda: {"document": dict(archive.genesis_document()), "hash": hex0x(genesis_hash)},
        )
