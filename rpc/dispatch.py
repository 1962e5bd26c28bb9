"""JSON-RPC 2.0 request handling, independent of the transport.

Theory of operation
-------------------
``Dispatcher.handle`` takes the raw text of one HTTP body or WebSocket
message and returns the reply text, or None when nothing is to be sent (only
notifications). In order:

1. Not JSON: ``-32700``. JSON but neither an object nor a non-empty array:
   ``-32600``. A batch longer than the limit: one ``-32600`` for all of it.
2. Each request is checked (``jsonrpc`` is "2.0", ``method`` a string, ``id``
   a string, integer or null, ``params`` an array or object), the method
   looked up (``-32601`` if unknown, unsafe and disabled, or a subscription
   over HTTP), its parameters parsed (``-32602``), then run.
3. ``RpcError`` from a method becomes its error; ``ExtrinsicRejected``
   becomes 1010-1014 with the reason as ``data``; any other exception is
   logged with its traceback and the client gets ``-32603 Internal error``
   and nothing more.

Batch members run one after the other, in order: a batch of extrinsics from
one signer must reach the pool in nonce order.

Isolation from consensus (docs/rpc.md, "Limits and isolation"): the node's
event loop is shared with consensus, so

* a batch is priced before it runs: the sum of its methods' costs above
  ``max_batch_cost`` is refused whole with -32600;
* the connection's token bucket is charged the request's cost first
  (-32005 "rate limited" when empty, ``rpc.limits``);
* the loop is yielded to between batch members (a checkpoint), so consensus
  tasks run between calls, never after a whole batch;
* bodies over ``THREAD_JSON_BYTES`` are parsed in a worker thread, and
  ``offload`` methods (block-store reads and their encoding) run, with the
  encoding of their reply, in a worker thread under a ``CapacityLimiter`` of
  ``worker_threads``; methods reading the trie or the pool stay on the loop
  (those objects are not thread-safe) and are short and bounded;
* static documents are served pre-serialized (``RawJson``).
"""

from __future__ import annotations

import math
from typing import Any, Final

import structlog
import trio

from rpc import errors
from rpc.backend import ExtrinsicRejected, RpcBackend
from rpc.config import RpcConfig
from rpc.errors import RpcError
from rpc.jsonio import dumps, loads
from rpc.limits import RateLimit
from rpc.registry import CallContext, Method, MethodRegistry, RawJson, call_handler, parse_params
from rpc.subscriptions import Session

log = structlog.get_logger("rpc")

# Bodies larger than this are parsed in a worker thread (a 1 MiB body takes ~10 ms).
THREAD_JSON_BYTES = 64 << 10
# A reply is charged to the client's budgets at one cost unit per KiB (after it
# is built): a batch of cached 125 KB documents is as dear as the bytes it
# sends, not as the calls it names. A request refused after parsing (bad JSON,
# a batch over a limit) is charged REFUSED_COST per call it held.
REPLY_BYTES_PER_UNIT: Final = 1024
REFUSED_COST: Final = 1
TARPIT_MAX_S: Final = 1.0


def error_reply(request_id: Any, error: RpcError) -> str:
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def result_reply(request_id: Any, result: Any) -> str:
    if isinstance(result, RawJson):  # serialized once, spliced in as is
        return '{"jsonrpc":"2.0","id":' + dumps(request_id) + ',"result":' + result + "}"
    return dumps({"jsonrpc": "2.0", "id": request_id, "result": result})


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int))


class Dispatcher:
    """Runs JSON-RPC requests against a registry and a backend."""

    def __init__(self, registry: MethodRegistry, backend: RpcBackend, config: RpcConfig) -> None:
        self.registry = registry
        self.backend = backend
        self.config = config
        self.hrp = backend.chain_info().address_prefix
        self.limiter = trio.CapacityLimiter(config.worker_threads)

    def cost(self, request: Any) -> int:
        """What one request object costs (1 if it names no known method)."""
        if isinstance(request, dict):
            name = request.get("method")
            method = self.registry.get(name) if isinstance(name, str) else None
            if method is not None:
                return method.cost
        return 1

    async def handle(
        self,
        text: str | bytes,
        session: Session | None,
        bucket: RateLimit | None = None,
    ) -> str | None:
        """Answer one body; the budgets are also charged for what the reply weighs
        (one unit per REPLY_BYTES_PER_UNIT bytes) and for requests refused after parsing,
        so neither large cached documents nor floods of refused batches come for free."""
        reply = await self._handle(text, session, bucket)
        if bucket is not None:
            if reply is not None:
                bucket.charge(len(reply) // REPLY_BYTES_PER_UNIT)
            # A client over its budget gets its reply late (at most TARPIT_MAX_S):
            # a closed-loop flood of refused requests then costs the node a few
            # replies a second per connection instead of thousands.
            wait = bucket.wait()
            if wait > 0:
                await trio.sleep(min(wait, TARPIT_MAX_S))
        return reply

    async def _handle(
        self,
        text: str | bytes,
        session: Session | None,
        bucket: RateLimit | None = None,
    ) -> str | None:
        if bucket is not None and bucket.exhausted():  # not worth parsing
            try:
                bucket.check(1)
            except RpcError as exc:
                return error_reply(None, exc)
        try:
            if len(text) > THREAD_JSON_BYTES:
                request = await trio.to_thread.run_sync(loads, text, limiter=self.limiter)
            else:
                request = loads(text)
        except (ValueError, RecursionError):
            if bucket is not None:
                bucket.charge(REFUSED_COST)
            return error_reply(None, RpcError(errors.PARSE_ERROR, data="body is not valid JSON"))
        if isinstance(request, list):
            if not request:
                return error_reply(None, errors.invalid_request("empty batch"))
            limit = self.config.max_batch
            if len(request) > limit:
                if bucket is not None:
                    bucket.charge(REFUSED_COST * len(request))
                reason = f"batch of {len(request)} calls exceeds the limit of {limit}"
                return error_reply(None, errors.invalid_request(reason))
            total = sum(self.cost(item) for item in request)
            if total > self.config.max_batch_cost:
                if bucket is not None:
                    bucket.charge(REFUSED_COST * len(request))
                reason = (
                    f"batch cost of {total} exceeds the limit of {self.config.max_batch_cost} "
                    "(each method's cost is x-cost in rpc_discover, 1 if absent)"
                )
                return error_reply(None, errors.invalid_request(reason))
            if bucket is not None:
                try:
                    bucket.check(total)
                except RpcError as exc:
                    return error_reply(None, exc)
            kept: list[str] = []
            size = 2
            for item in request:
                reply = await self.handle_one(item, session)
                await trio.lowlevel.checkpoint()  # let consensus run between calls
                if reply is None:
                    continue
                kept.append(reply)
                size += len(reply) + 1
                if size > self.config.max_response_bytes:  # stop: the rest would be wasted
                    return error_reply(None, self._too_big(size))
            return "[" + ",".join(kept) + "]" if kept else None
        if bucket is not None:
            try:
                bucket.check(self.cost(request))
            except RpcError as exc:
                request_id = request.get("id") if isinstance(request, dict) else None
                return error_reply(request_id if _valid_id(request_id) else None, exc)
        reply = await self.handle_one(request, session)
        if reply is not None and len(reply) > self.config.max_response_bytes:
            request_id = request.get("id") if isinstance(request, dict) else None
            return error_reply(
                request_id if _valid_id(request_id) else None, self._too_big(len(reply))
            )
        return reply

    def _too_big(self, size: int) -> RpcError:
        return RpcError(
            errors.RESPONSE_TOO_BIG,
            "response too big",
            data=f"the reply reached {size} bytes; the limit is "
            f"{self.config.max_response_bytes} (rpc.max_response_bytes): ask for less",
        )

    async def handle_one(self, request: Any, session: Session | None) -> str | None:
        """One request object; its reply text, or None for a notification."""
        if not isinstance(request, dict):
            return error_reply(None, errors.invalid_request("a request must be a JSON object"))
        request_id = request.get("id")
        if not _valid_id(request_id):
            return error_reply(
                None, errors.invalid_request("id must be a string, a number or null")
            )
        if request.get("jsonrpc") != "2.0":
            return error_reply(request_id, errors.invalid_request('jsonrpc must be "2.0"'))
        if not isinstance(request.get("method"), str):
            return error_reply(request_id, errors.invalid_request("method must be a string"))
        # A well-formed request without an id is a notification: run it, say nothing.
        is_notification = "id" not in request
        try:
            result = await self._run(request, session)
        except RpcError as exc:
            return None if is_notification else error_reply(request_id, exc)
        if is_notification:
            return None
        try:
            return result_reply(request_id, result)
        except (TypeError, ValueError):
            log.exception("rpc result is not JSON", method=request.get("method"))
            return error_reply(request_id, RpcError(errors.INTERNAL_ERROR))

    async def _run(self, request: dict[str, Any], session: Session | None) -> Any:
        name: str = request["method"]
        method = self.registry.get(name)
        if method is None:
            raise RpcError(errors.METHOD_NOT_FOUND, data=f"unknown method {name[:100]!r}")
        if method.unsafe and not self.config.unsafe_methods:
            raise RpcError(
                errors.METHOD_NOT_FOUND,
                data=f"{name} is unsafe (it changes the node or exposes its internals) and "
                "is disabled; the operator can enable unsafe methods (rpc.unsafe_methods)",
            )
        if method.websocket_only and session is None:
            raise RpcError(
                errors.METHOD_NOT_FOUND, data=f"{name} is a subscription: it needs a WebSocket"
            )
        params = parse_params(method, request.get("params"), self.hrp)
        ctx = CallContext(self.backend, self.config, self.registry, self.hrp, session)
        try:
            if method.offload:
                return await trio.to_thread.run_sync(
                    _run_serialized, method, ctx, params, limiter=self.limiter
                )
            return await call_handler(method, ctx, params)
        except RpcError:
            raise
        except ExtrinsicRejected as exc:
            raise RpcError(exc.code, data=exc.reason) from None
        except Exception:
            log.exception("rpc method failed", method=name)
            raise RpcError(errors.INTERNAL_ERROR) from None


def _run_serialized(method: Method, ctx: CallContext, params: Any) -> RawJson:
    """In a worker thread: run a synchronous handler and serialize its result there too."""
    return RawJson(dumps(method.handler(ctx, params)))
