"""The standard methods of spec/rpc.md, thin over ``RpcBackend``.

Each handler parses nothing itself (the registry did), asks the backend one
question and converts the answer with ``rpc.encoding``. Build a registry with
every standard method by ``standard_registry()``; the node then adds its
pallets' queries (``rpc.queries.register_queries``) and any unsafe methods.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Final

from pydantic import Field

from ledger.crypto import blake2b256
from rpc import errors
from rpc.backend import (
    Dropped,
    ExtrinsicStatus,
    Finalized,
    FinalizedHead,
    InBlock,
    Invalid,
    Lagged,
    NewHead,
    Topics,
)
from rpc.encoding import (
    BLOCK_SCHEMA,
    HASH_SCHEMA,
    HEADER_SCHEMA,
    HEX_SCHEMA,
    NULLABLE_HASH_SCHEMA,
    RECEIPT_SCHEMA,
    Address,
    Hash,
    Height,
    HexBytes,
    block_json,
    header_json,
    hex0x,
    receipt_json,
)
from rpc.errors import RpcError
from rpc.registry import (
    CallContext,
    MethodRegistry,
    NoParams,
    Params,
    RawJson,
    openrpc_document,
    resolve_at,
    state_at,
)
from rpc.subscriptions import Session

STRING: Final = {"type": "string"}
MAX_PROOF_KEYS: Final = 1024
BOOL: Final = {"type": "boolean"}


class HeightParams(Params):
    height: Height | None = None


class BlockParams(Params):
    hash: Hash | None = None


class ExtrinsicHashParams(Params):
    extrinsic_hash: Hash


class ExtrinsicParams(Params):
    extrinsic: HexBytes


class PageParams(Params):
    offset: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1)] | None = None


class SubscriptionParams(Params):
    subscription: str


class AccountParams(Params):
    address: Address


class StorageParams(Params):
    key: HexBytes
    at: Hash | None = None


class ReadProofParams(Params):
    # Bounded: each key costs a trie walk, and each bad one an error to report.
    keys: Annotated[list[HexBytes], Field(max_length=MAX_PROOF_KEYS)]
    at: Hash | None = None


def _session(ctx: CallContext) -> Session:
    if ctx.session is None:  # the dispatcher refuses websocket_only methods over HTTP
        raise RpcError(-32601, data="this method needs a WebSocket")
    return ctx.session


def _block_hash(ctx: CallContext, requested: bytes | None) -> bytes:
    return ctx.backend.best_hash() if requested is None else requested


def _tx_status_json(status: Any) -> tuple[Any, bool]:
    if isinstance(status, InBlock):
        return {"inBlock": hex0x(status.block_hash)}, False
    if isinstance(status, Finalized):
        return {"finalized": hex0x(status.block_hash)}, True
    if isinstance(status, Invalid):
        return {"invalid": status.reason}, True
    if isinstance(status, Dropped):
        return "dropped", True
    raise TypeError(f"unknown extrinsic status {status!r}")


def _register_system(reg: MethodRegistry) -> None:
    @reg.method("system_name", result=STRING)
    def system_name(ctx: CallContext, _: NoParams) -> str:
        """Name of the node software."""
        return ctx.backend.chain_info().node_name

    @reg.method("system_version", result=STRING)
    def system_version(ctx: CallContext, _: NoParams) -> str:
        """Version of the node software."""
        return ctx.backend.chain_info().node_version

    @reg.method("system_chain", result=STRING)
    def system_chain(ctx: CallContext, _: NoParams) -> str:
        """Chain name from genesis."""
        return ctx.backend.chain_info().chain_name

    @reg.method(
        "system_properties",
        result={
            "type": "object",
            "properties": {
                "tokenSymbol": STRING,
                "tokenDecimals": {"type": "integer"},
                "addressPrefix": STRING,
            },
        },
    )
    def system_properties(ctx: CallContext, _: NoParams) -> dict[str, Any]:
        """Token symbol and decimals, and the bech32m prefix of addresses."""
        info = ctx.backend.chain_info()
        return {
            "tokenSymbol": info.token_symbol,
            "tokenDecimals": info.token_decimals,
            "addressPrefix": info.address_prefix,
        }

    @reg.method(
        "system_health",
        result={
            "type": "object",
            "properties": {
                "peers": {"type": "integer"},
                "isSyncing": BOOL,
                "shouldHavePeers": BOOL,
            },
        },
    )
    def system_health(ctx: CallContext, _: NoParams) -> dict[str, Any]:
        """Number of peers, whether the node is catching up, whether it should have peers."""
        health = ctx.backend.health()
        return {
            "peers": health.peers,
            "isSyncing": health.is_syncing,
            "shouldHavePeers": health.should_have_peers,
        }

    @reg.method(
        "system_peers",
        result={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "peerId": STRING,
                    "address": STRING,
                    "bestHeight": {"type": "integer"},
                    "isValidator": BOOL,
                },
            },
        },
    )
    def system_peers(ctx: CallContext, _: NoParams) -> list[dict[str, Any]]:
        """The connected peers."""
        return [
            {
                "peerId": p.peer_id,
                "address": p.address,
                "bestHeight": p.best_height,
                "isValidator": p.is_validator,
            }
            for p in ctx.backend.peers()
        ]


def _register_chain(reg: MethodRegistry) -> None:
    # Block-store reads (LevelDB, thread-safe) and their decoding run in worker threads.
    @reg.method(
        "chain_getBlockHash", params=HeightParams, result=NULLABLE_HASH_SCHEMA, offload=True
    )
    def get_block_hash(ctx: CallContext, p: HeightParams) -> str | None:
        """Hash of the block at ``height`` (the best block if omitted); null if none."""
        if p.height is None:
            return hex0x(ctx.backend.best_hash())
        found = ctx.backend.block_hash(p.height)
        return None if found is None else hex0x(found)

    @reg.method(
        "chain_getHeader",
        params=BlockParams,
        result={"oneOf": [HEADER_SCHEMA, {"type": "null"}]},
        offload=True,
    )
    def get_header(ctx: CallContext, p: BlockParams) -> dict[str, Any] | None:
        """Header of block ``hash`` (the best block if omitted); null if unknown."""
        header = ctx.backend.header(_block_hash(ctx, p.hash))
        return None if header is None else header_json(header, ctx.hrp)

    @reg.method("chain_getBlock", params=BlockParams, result=BLOCK_SCHEMA, cost=10, offload=True)
    def get_block(ctx: CallContext, p: BlockParams) -> dict[str, Any] | None:
        """Block ``hash`` with the commit that finalized it; null if unknown."""
        block_hash = _block_hash(ctx, p.hash)
        block = ctx.backend.block(block_hash)
        if block is None:
            return None
        return block_json(block, ctx.backend.commit(block_hash), ctx.hrp)

    @reg.method("chain_getFinalizedHead", result=HASH_SCHEMA)
    def get_finalized_head(ctx: CallContext, _: NoParams) -> str:
        """Hash of the last committed block."""
        return hex0x(ctx.backend.finalized_hash())

    @reg.method("chain_getReceipt", params=ExtrinsicHashParams, result=RECEIPT_SCHEMA, offload=True)
    def get_receipt(ctx: CallContext, p: ExtrinsicHashParams) -> dict[str, Any] | None:
        """Where an extrinsic was included and what it did; null if not in the chain."""
        record = ctx.backend.receipt(p.extrinsic_hash)
        return None if record is None else receipt_json(record)

    for kind, notification, event_type in (
        ("NewHeads", "chain_newHead", NewHead),
        ("FinalizedHeads", "chain_finalizedHead", FinalizedHead),
    ):
        _register_head_subscription(reg, kind, notification, event_type)


def _register_head_subscription(
    reg: MethodRegistry, kind: str, notification: str, event_type: type[Any]
) -> None:
    async def subscribe(ctx: CallContext, _: NoParams) -> str:
        hrp = ctx.hrp

        def translate(event: Any) -> tuple[Any, bool] | None:
            if isinstance(event, event_type):
                return header_json(event.header, hrp), False
            return None

        topics = Topics(new_heads=True) if event_type is NewHead else Topics(finalized_heads=True)
        source = functools.partial(ctx.backend.subscribe_events, topics)
        return await _session(ctx).open(notification, source, translate)

    def unsubscribe(ctx: CallContext, p: SubscriptionParams) -> bool:
        return _session(ctx).close(p.subscription, notification)

    reg.add(
        f"chain_subscribe{kind}",
        subscribe,
        result=STRING,
        description=f"Subscription id; each {notification} notification carries a header.",
        websocket_only=True,
        cost=5,
    )
    reg.add(
        f"chain_unsubscribe{kind}",
        unsubscribe,
        params=SubscriptionParams,
        result=BOOL,
        description="End the subscription; false if the id is unknown.",
        websocket_only=True,
    )


def _register_author(reg: MethodRegistry) -> None:
    @reg.method("author_submitExtrinsic", params=ExtrinsicParams, result=HASH_SCHEMA, cost=2)
    async def submit(ctx: CallContext, p: ExtrinsicParams) -> str:
        """Submit a signed extrinsic (hex of its canonical bytes); its hash."""
        return hex0x(await ctx.backend.submit_extrinsic(p.extrinsic))

    @reg.method(
        "author_submitAndWatchExtrinsic",
        params=ExtrinsicParams,
        result=STRING,
        websocket_only=True,
        cost=10,
    )
    async def submit_and_watch(ctx: CallContext, p: ExtrinsicParams) -> str:
        """Submit and follow: author_extrinsicUpdate notifications ready, inBlock, finalized.

        Or invalid/dropped: every watch ends in finalized, invalid or dropped.
        """
        session = _session(ctx)
        wanted = blake2b256(p.extrinsic)
        translate = _watcher(ctx, wanted)
        # The event stream opens before the pool sees the extrinsic: no status is missed.
        source = functools.partial(
            ctx.backend.subscribe_events, Topics(finalized_heads=True, extrinsic=wanted)
        )
        sub_id = await session.open("author_extrinsicUpdate", source, translate, first="ready")
        try:
            await ctx.backend.submit_extrinsic(p.extrinsic)
        except BaseException:
            session.cancel(sub_id)
            raise
        return sub_id

    @reg.method(
        "author_unwatchExtrinsic",
        params=SubscriptionParams,
        result=BOOL,
        websocket_only=True,
    )
    def unwatch(ctx: CallContext, p: SubscriptionParams) -> bool:
        """Stop following an extrinsic; false if the id is unknown."""
        return _session(ctx).close(p.subscription, "author_extrinsicUpdate")

    @reg.method(
        "author_pendingExtrinsics",
        params=PageParams,
        result={"type": "array", "items": HEX_SCHEMA},
        unsafe=True,
        cost=50,
    )
    def pending(ctx: CallContext, p: PageParams) -> list[str]:
        """A page of the extrinsics waiting in the pool, in arrival order (unsafe only).

        ``offset`` (default 0) and ``limit`` (default ``rpc.pending_page_default``,
        at most ``rpc.pending_page_max``); fewer than ``limit`` means the end.
        """
        cap = ctx.config.pending_page_max
        limit = ctx.config.pending_page_default if p.limit is None else p.limit
        if limit > cap:
            raise errors.invalid_params("limit", f"at most {cap} extrinsics per page, got {limit}")
        page = ctx.backend.pending_extrinsics()[p.offset : p.offset + limit]
        return [hex0x(x) for x in page]


def _watcher(ctx: CallContext, wanted: bytes) -> Any:
    """The translate function of one watched extrinsic: it always reaches an end.

    Statuses the node publishes for ``wanted`` pass through. At each finalized
    head for which no ``inBlock`` was seen, the watcher asks the node: a receipt
    means the extrinsic was finalized (events missed), absence from the pool
    with no receipt means it left the pool without being included (evicted,
    replaced, stale): ``dropped``. A ``Lagged`` stream ends the same way.
    """
    backend = ctx.backend
    seen_in_block = False

    def settle() -> tuple[Any, bool] | None:
        if backend.in_pool(wanted):  # a dictionary look-up: the common case, per block
            return None
        record = backend.receipt(wanted)  # a block-store read, only once it left the pool
        if record is not None:
            return {"finalized": hex0x(record.block_hash)}, True
        return "dropped", True

    def translate(event: Any) -> tuple[Any, bool] | None:
        nonlocal seen_in_block
        if isinstance(event, ExtrinsicStatus) and event.extrinsic_hash == wanted:
            if isinstance(event.status, InBlock):
                seen_in_block = True
            return _tx_status_json(event.status)
        if isinstance(event, FinalizedHead) and not seen_in_block:
            return settle()
        if isinstance(event, Lagged):  # no more events: end it now, whatever it is
            return settle() or ("dropped", True)
        return None

    return translate


def _register_state(reg: MethodRegistry) -> None:
    @reg.method("account_nextIndex", params=AccountParams, result={"type": "integer"})
    def next_index(ctx: CallContext, p: AccountParams) -> int:
        """The nonce to use next, counting the account's extrinsics in the pool."""
        return ctx.backend.next_index(p.address)

    @reg.method(
        "state_getStorage", params=StorageParams, result={"oneOf": [HEX_SCHEMA, {"type": "null"}]}
    )
    def get_storage(ctx: CallContext, p: StorageParams) -> str | None:
        """Value at ``key`` in the state after block ``at`` (best if omitted); null if absent."""
        value = state_at(ctx, resolve_at(ctx, p.at)).get(p.key)
        return None if value is None else hex0x(value)

    @reg.method(
        "state_getReadProof",
        params=ReadProofParams,
        cost=20,
        result={
            "type": "object",
            "properties": {"at": HASH_SCHEMA, "proof": {"type": "array", "items": HEX_SCHEMA}},
        },
    )
    def get_read_proof(ctx: CallContext, p: ReadProofParams) -> dict[str, Any]:
        """Trie nodes proving each key's value or absence against the block's stateRoot."""
        at = resolve_at(ctx, p.at)
        state_at(ctx, at)  # refuses a pruned version with a clear error
        proof = ctx.backend.read_proof(p.keys, at)
        return {"at": hex0x(at), "proof": [hex0x(node) for node in proof]}

    # Cached, but a large reply: priced by the bytes it sends.
    @reg.method("state_getMetadata", result={"type": "object"}, cost=5)
    def get_metadata(ctx: CallContext, _: NoParams) -> RawJson:
        """Pallets with their calls, events, errors, storage items and constants."""
        # The runtime is part of the node software: one document per node version.
        version = ctx.backend.chain_info().node_version
        return ctx.registry.cached(
            ("state_getMetadata", version), lambda: dict(ctx.backend.metadata())
        )


def _register_rpc(reg: MethodRegistry) -> None:
    @reg.method(
        "rpc_methods",
        result={
            "type": "object",
            "properties": {
                "version": {"type": "integer"},
                "methods": {"type": "array", "items": STRING},
            },
        },
    )
    def rpc_methods(ctx: CallContext, _: NoParams) -> RawJson:
        """Names of every method this node serves."""
        unsafe = ctx.config.unsafe_methods
        return ctx.registry.cached(
            ("rpc_methods", unsafe),
            lambda: {"version": 1, "methods": ctx.registry.names(unsafe)},
        )

    @reg.method(
        "rpc_discover", result={"type": "object", "description": "OpenRPC document"}, cost=5
    )
    def rpc_discover(ctx: CallContext, _: NoParams) -> RawJson:
        """OpenRPC document of every method served, generated from the registry."""
        info = ctx.backend.chain_info()
        unsafe = ctx.config.unsafe_methods
        return ctx.registry.cached(
            ("rpc_discover", info.node_name, info.node_version, unsafe),
            lambda: openrpc_document(
                ctx.registry,
                title=f"{info.node_name} JSON-RPC",
                version=info.node_version,
                include_unsafe=unsafe,
            ),
        )


def standard_registry() -> MethodRegistry:
    """A registry holding every method of spec/rpc.md."""
    registry = MethodRegistry()
    _register_system(registry)
    _register_chain(registry)
    _register_author(registry)
    _register_state(registry)
    _register_rpc(registry)
    return registry
