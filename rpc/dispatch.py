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
"""

from __future__ import annotations

import json
import math
from typing import Any

import structlog

from rpc import errors
from rpc.backend import ExtrinsicRejected, RpcBackend
from rpc.config import RpcConfig
from rpc.errors import RpcError
from rpc.registry import CallContext, MethodRegistry, call_handler, parse_params
from rpc.subscriptions import Session

log = structlog.get_logger("rpc")

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    return _encoder.encode(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused like any other non-JSON."""
    return json.loads(text, parse_constant=_refuse_constant)


def error_reply(request_id: Any, error: RpcError) -> str:
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


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

    async def handle(self, text: str | bytes, session: Session | None) -> str | None:
        try:
            request = loads(text)
        except (ValueError, RecursionError):
            return error_reply(None, RpcError(errors.PARSE_ERROR, data="body is not valid JSON"))
        if isinstance(request, list):
            if not request:
                return error_reply(None, errors.invalid_request("empty batch"))
            limit = self.config.max_batch
            if len(request) > limit:
                reason = f"batch of {len(request)} calls exceeds the limit of {limit}"
                return error_reply(None, errors.invalid_request(reason))
            replies = [await self.handle_one(item, session) for item in request]
            kept = [r for r in replies if r is not None]
            return "[" + ",".join(kept) + "]" if kept else None
        return await self.handle_one(request, session)

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
            return dumps({"jsonrpc": "2.0", "id": request_id, "result": result})
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
                data=f"{name} changes the node and is disabled; the operator can enable "
                "unsafe methods (rpc.unsafe_methods)",
            )
        if method.websocket_only and session is None:
            raise RpcError(
                errors.METHOD_NOT_FOUND, data=f"{name} is a subscription: it needs a WebSocket"
            )
        params = parse_params(method, request.get("params"), self.hrp)
        ctx = CallContext(self.backend, self.config, self.registry, self.hrp, session)
        try:
            return await call_handler(method, ctx, params)
        except RpcError:
            raise
        except ExtrinsicRejected as exc:
            raise RpcError(exc.code, data=exc.reason) from None
        except Exception:
            log.exception("rpc method failed", method=name)
            raise RpcError(errors.INTERNAL_ERROR) from None
