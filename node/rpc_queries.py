"""Pallet query methods the node serves beside the standard ones of spec/rpc.md.

Each pallet's queries read the state of a block (``at``, the best block when
omitted) through ``MethodRegistry.pallet_query``; they appear in
``rpc_methods`` and ``rpc_discover`` like every other method.
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from node.rpc_commons import register_commons_queries  # R1-R3
from node.rpc_credit import register_credit_queries
from node.rpc_federation import register_federation_queries  # X1-X3
from node.rpc_governance import register_governance_queries  # G2-G5
from node.rpc_health import register_health_queries  # H1-H3
from node.rpc_members import register_members_queries  # G1
from node.rpc_payment import register_payment_queries  # P1, P2
from pallets.balances.currency import free_balance, total_issuance
from rpc.encoding import AMOUNT_SCHEMA, Address
from rpc.methods import standard_registry
from rpc.registry import MethodRegistry, NoParams, Params


class AccountParams(Params):
    address: Address


def node_registry(hrp: str = "cc") -> MethodRegistry:
    registry = standard_registry()
    register_credit_queries(registry, hrp=hrp)
    register_federation_queries(registry, hrp=hrp)
    register_health_queries(registry, hrp=hrp)
    register_commons_queries(registry, hrp=hrp)
    register_governance_queries(registry, hrp=hrp)  # G1-G5
    register_members_queries(registry, hrp=hrp)
    register_payment_queries(registry)

    @registry.pallet_query(
        "balances",
        "getBalance",
        params=AccountParams,
        result={"type": "object", "properties": {"free": AMOUNT_SCHEMA}},
        description="Free balance of an account in minor units.",
    )
    def get_balance(state: StateReader, params: AccountParams) -> dict[str, Any]:
        return {"free": str(free_balance(state, params.address))}

    @registry.pallet_query(
        "balances",
        "totalIssuance",
        params=NoParams,
        result=AMOUNT_SCHEMA,
        description="Total supply in minor units (invariant I1: the sum of all balances).",
    )
    def get_total_issuance(state: StateReader, params: NoParams) -> str:
        return str(total_issuance(state))

    return registry
