"""``payment_queryInfo``: what an extrinsic will cost, before it is submitted (P1, P2).

As Substrate's ``payment_queryInfo``, it takes a signed extrinsic (the
signature is not checked: a wallet may ask before signing for real, with a
dummy signature) and answers with its weight and the fee its signer would
pay if it were included in the block after ``at``: the three parts of the
inclusion fee, whether the community allowance covers it, and whether the
signer's balance covers it now.
"""

from __future__ import annotations

from typing import Any, Final

from ledger.overlay import StateReader
from pallets import construct
from pallets.balances.storage import FREE
from pallets.executive.validate import InvalidExtrinsic, decode_extrinsic
from pallets.payment import fees
from pallets.support.argtypes import ArgError, check_args
from pallets.support.params import param
from pallets.system.hooks import epoch_at
from pallets.system.storage import TIME
from rpc.encoding import AMOUNT_SCHEMA, HexBytes
from rpc.errors import invalid_params
from rpc.registry import MethodRegistry, Params

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "weight": {"type": "integer"},
        "lengthBytes": {"type": "integer"},
        "partialFee": AMOUNT_SCHEMA,
        "inclusionFee": {
            "type": "object",
            "properties": {
                "baseFee": AMOUNT_SCHEMA,
                "lenFee": AMOUNT_SCHEMA,
                "weightFee": AMOUNT_SCHEMA,
            },
        },
        "coveredByAllowance": {"type": "boolean"},
        "canPay": {"type": "boolean"},
    },
}


RUNTIME: Final = construct.registry()


class QueryInfoParams(Params):
    extrinsic: HexBytes


def query_info(state: StateReader, raw: bytes) -> dict[str, Any]:
    """The fee of ``raw`` in the block after ``state``; ``InvalidExtrinsic`` if it is not one."""
    ext = decode_extrinsic(raw, param(state, "system", "max_extrinsic_bytes"))
    call = RUNTIME.call(ext.call.pallet, ext.call.function)
    if call is None:
        raise InvalidExtrinsic("unknown call", f"{ext.call.pallet}.{ext.call.function}")
    try:
        args = check_args(call.args, ext.call.args)
    except ArgError as exc:
        raise InvalidExtrinsic("bad arguments", str(exc)) from exc
    weight = RUNTIME.weights.weight(call, call.weight_of(args))
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
        "canPay": FREE.get(state, ext.signer) >= quote.due,
    }


def register_payment_queries(registry: MethodRegistry) -> None:
    @registry.pallet_query(
        "payment",
        "queryInfo",
        params=QueryInfoParams,
        result=RESULT_SCHEMA,
        description="Weight and fee of a signed extrinsic if included after block `at` "
        "(P1; the signature is not checked). partialFee is what its signer pays: 0 when "
        "the community allowance covers it (P2).",
    )
    def payment_query_info(state: StateReader, params: QueryInfoParams) -> dict[str, Any]:
        try:
            return query_info(state, params.extrinsic)
        except InvalidExtrinsic as exc:
            raise invalid_params("extrinsic", exc.reason) from exc
