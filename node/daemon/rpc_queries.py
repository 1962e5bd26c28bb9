"""The node's RPC methods beside the standard ones: the runtime's queries, and fees.

Every pallet query is generated from the runtime's declarations
(``rpc.queries.register_queries``). ``payment_queryInfo`` is the one written
here: it decodes an extrinsic and weighs its call with the whole runtime's
declarations and weight table, which no pallet may import (Substrate's
``TransactionPaymentApi`` is likewise implemented by the runtime).

As Substrate's, it takes a signed extrinsic (the signature is not checked: a
wallet may ask before signing for real, with a dummy signature) and answers
with its weight and the fee its signer would pay if it were included in the
block after ``at``: the three parts of the inclusion fee, whether the
community allowance covers it (P2), and whether the signer's balance covers
it now.
"""

from __future__ import annotations

from typing import Any, Final

from ledger.overlay import StateReader
from pallets import construct
from pallets.balances.currency import free_balance
from pallets.executive.registry import PalletRegistry
from pallets.executive.validate import InvalidExtrinsic, decode_extrinsic
from pallets.payment import fees
from pallets.support.argtypes import ArgError, check_args
from pallets.support.params import param
from pallets.system.hooks import epoch_at
from pallets.system.storage import TIME
from rpc.archive import register_archive_methods
from rpc.documents import register_document_methods
from rpc.encoding import AMOUNT_SCHEMA, HexBytes
from rpc.errors import invalid_params
from rpc.history import register_history_methods
from rpc.methods import standard_registry
from rpc.queries import register_queries
from rpc.registry import MethodRegistry, Params

FEE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "weight": {"type": "integer"},
        "lengthBytes": {"type": "integer"},
        "partialFee": AMOUNT_SCHEMA,
        "inclusionFee": {
            "type": "object",
            "properties": {"baseFee": AMOUNT_SCHEMA, "lenFee": AMOUNT_SCHEMA,
                           "weightFee": AMOUNT_SCHEMA},
        },
        "coveredByAllowance": {"type": "boolean"},
        "canPay": {"type": "boolean"},
    },
}  # fmt: skip


class QueryInfoParams(Params):
    extrinsic: HexBytes


def node_registry(hrp: str = "cc") -> MethodRegistry:
    """Every method the node serves. Addresses use the chain's prefix from the backend;
    ``hrp`` is accepted for callers that pass it."""
    del hrp
    runtime = construct.registry()
    registry = standard_registry()
    register_archive_methods(registry)
    register_history_methods(registry)
    register_document_methods(registry)  # F10: the document store beside the chain
    register_queries(registry, runtime)
    register_payment_queries(registry, runtime)
    return registry


def query_info(runtime: PalletRegistry, state: StateReader, raw: bytes) -> dict[str, Any]:
    """The fee of ``raw`` in the block after ``state``; ``InvalidExtrinsic`` if it is not one."""
    ext = decode_extrinsic(raw, param(state, "system", "max_extrinsic_bytes"))
    call = runtime.call(ext.call.pallet, ext.call.function)
    if call is None:
        raise InvalidExtrinsic("unknown call", f"{ext.call.pallet}.{ext.call.function}")
    try:
        args = check_args(call.args, ext.call.args)
    except ArgError as exc:
        raise InvalidExtrinsic("bad arguments", str(exc)) from exc
    weight = runtime.weights.weight(call, call.weight_of(args))
    epoch = epoch_at(state, TIME.get(state))
    quote = fees.fee_quote(state, epoch, ext.signer, call, weight, len(raw))
    return {
        "weight": weight,
        "lengthBytes": len(raw),
        "partialFee": str(quote.due),
        "inclusionFee": {
            "baseFee": str(quote.base_fee),
            "lenFee": str(quote.length_fee),
            "weightFee": str(quote.weight_fee),
        },
        "coveredByAllowance": quote.free,
        "canPay": free_balance(state, ext.signer) >= quote.due,
    }


def register_payment_queries(
    registry: MethodRegistry, runtime: PalletRegistry | None = None
) -> None:
    """Register ``payment_queryInfo(extrinsic, at?)`` (see the module doc)."""
    known = runtime or construct.registry()

    @registry.pallet_query(
        "payment",
        "queryInfo",
        params=QueryInfoParams,
        result=FEE_SCHEMA,
        description="Weight and fee of a signed extrinsic if included after block `at` "
        "(P1; the signature is not checked). partialFee is what its signer pays: 0 when "
        "the community allowance covers it (P2).",
    )
    def payment_query_info(state: StateReader, params: QueryInfoParams) -> dict[str, Any]:
        try:
            return query_info(known, state, params.extrinsic)
        except InvalidExtrinsic as exc:
            raise invalid_params("extrinsic", exc.reason) from exc
