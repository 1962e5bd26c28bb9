"""JSON-RPC error codes (spec/rpc.md, "Errors") and the exception that carries one.

A method raises ``RpcError`` for a client error; the dispatcher turns it into
the ``error`` member of the reply. Anything else a method raises is a bug or
an outage: the client sees only ``-32603 internal error`` and the exception
goes to the log.
"""

from __future__ import annotations

from typing import Any, Final

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
# Server limits (docs/rpc.md, "Limits and isolation"), numbered as other nodes do:
SUBSCRIPTION_LAGGED: Final = -32003  # a subscription ended because it fell behind
RATE_LIMITED: Final = -32005  # go-ethereum, Erigon, many providers: "limit exceeded"
RESPONSE_TOO_BIG: Final = -32008  # jsonrpsee (Substrate): "Response is too big"

# Extrinsic refusals, numbered as Substrate's transaction pool does.
EXTRINSIC_INVALID: Final = 1010
EXTRINSIC_UNKNOWN: Final = 1011
EXTRINSIC_BANNED: Final = 1012
EXTRINSIC_ALREADY_IMPORTED: Final = 1013
EXTRINSIC_POOL_FULL: Final = 1014

EXTRINSIC_MESSAGES: Final = {
    EXTRINSIC_INVALID: "Invalid Transaction",
    EXTRINSIC_UNKNOWN: "Unknown Transaction Validity",
    EXTRINSIC_BANNED: "Transaction is temporarily banned",
    EXTRINSIC_ALREADY_IMPORTED: "Transaction Already Imported",
    EXTRINSIC_POOL_FULL: "Transaction pool is full or priority is too low",
}

STANDARD_MESSAGES: Final = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
}


class RpcError(Exception):
    """A JSON-RPC error: ``code``, a short ``message`` and optional ``data``.

    Used on both sides: methods raise it, and ``rpc.client`` raises it when
    the server answers with an error.
    """

    def __init__(self, code: int, message: str | None = None, data: Any = None) -> None:
        self.code = code
        self.message = (
            message or STANDARD_MESSAGES.get(code) or EXTRINSIC_MESSAGES.get(code) or "error"
        )
        self.data = data
        super().__init__(f"{self.code} {self.message}" + ("" if data is None else f": {data}"))

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(param: str, reason: str) -> RpcError:
    """-32602 whose ``data`` names the parameter and says why."""
    return RpcError(INVALID_PARAMS, data=f"{param}: {reason}")


def invalid_request(reason: str) -> RpcError:
    return RpcError(INVALID_REQUEST, data=reason)
