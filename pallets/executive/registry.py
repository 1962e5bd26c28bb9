"""The pallets of a runtime: lookup for dispatch, and the metadata document.

Theory of operation
-------------------
``PalletRegistry`` holds the pallets in index order (the order their hooks
run in) and indexes their calls by ``(pallet, function)`` for dispatch and
their queries by ``(namespace, name)`` (pallets/support/queries.py). It
refuses, at construction, anything that would make dispatch or metadata
ambiguous: repeated pallet names or indices, two queries of one name, or a
pallet named ``params`` (the parameter table's key space). Storage keys cannot collide otherwise:
names hold no ``/`` and each pallet's items are distinct (``StorageSet``).

``metadata()`` is generated from the declarations and nothing else: it is
what ``state_getMetadata`` serves and what docs and wallets rely on. It is a
JSON-able dict (numbers that may exceed 2**53 are strings).

``query_state(state)`` is what a query reads: the state with this runtime's
wiring and the block's time (``system/time``), read only if asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ledger.overlay import StateReader
from ledger.types import EXTRINSIC_DOMAIN, EXTRINSIC_VERSION
from pallets.support.context import ReadContext
from pallets.support.declare import FUND, GOVERNANCE, ROOT, SIGNED, CallDef, Pallet, RuntimeFault
from pallets.support.params import PARAMS
from pallets.support.payment import TransactionPayment
from pallets.support.queries import QueryDef, QueryReader
from pallets.support.weights import WeightTable, load_weights
from pallets.support.wiring import NO_WIRING, Wiring
from pallets.system.storage import TIME

METADATA_VERSION: Final = 1

ORIGIN_DOCS: Final = {
    SIGNED: "an account that signed the extrinsic (the only origin an extrinsic can have)",
    GOVERNANCE: "a passed and enacted governance proposal",
    FUND: "a decision of a fund's funders (consent, F8), dispatched by the funds pallet",
    ROOT: "the runtime itself (genesis, hooks)",
}


class PalletRegistry:
    def __init__(
        self,
        pallets: Sequence[Pallet],
        weights: WeightTable | None = None,
        *,
        wiring: Wiring = NO_WIRING,
    ) -> None:
        ordered = sorted(pallets, key=lambda p: p.index)
        names = [p.name for p in ordered]
        indices = [p.index for p in ordered]
        if len(set(names)) != len(names) or len(set(indices)) != len(indices):
            raise RuntimeFault(f"pallet names and indices must be distinct: {names} {indices}")
        self.pallets: tuple[Pallet, ...] = tuple(ordered)
        self.by_name = {p.name: p for p in ordered}
        self.wiring = wiring
        self._calls: dict[tuple[str, str], CallDef] = {}
        for pallet in ordered:
            for call in pallet.calls:
                self._calls[(pallet.name, call.name)] = call
        self._queries: dict[tuple[str, str], QueryDef] = {}
        for pallet in ordered:
            for query in pallet.queries:
                key = (query.namespace, query.name)
                if key in self._queries:
                    raise RuntimeFault(
                        f"query {query.method} is declared by both "
                        f"{self._queries[key].pallet} and {query.pallet}"
                    )
                self._queries[key] = query
        payers = [p for p in ordered if p.payment is not None]
        if len(payers) > 1:
            raise RuntimeFault(f"only one pallet may charge fees: {[p.name for p in payers]}")
        self.payment: TransactionPayment | None = payers[0].payment if payers else None
        self.weights = weights or load_weights()
        unknown = sorted(set(self.weights.call_ns_per_op) - {f"{p}.{c}" for p, c in self._calls})
        if unknown and weights is not None:
            raise RuntimeFault(f"weights for calls this runtime does not have: {unknown}")
        if "params" in self.by_name:
            raise RuntimeFault("'params' is the parameter table's key space, not a pallet name")

    def call(self, pallet: str, function: str) -> CallDef | None:
        return self._calls.get((pallet, function))

    def query(self, namespace: str, name: str) -> QueryDef | None:
        return self._queries.get((namespace, name))

    @property
    def queries(self) -> tuple[QueryDef, ...]:
        """Every query, in pallet order then declaration order."""
        return tuple(self._queries.values())

    def query_state(self, state: StateReader) -> QueryReader:
        return QueryState(state, wiring=self.wiring)

    def metadata(self) -> dict[str, Any]:
        return {
            "version": METADATA_VERSION,
            "extrinsic": {
                "version": EXTRINSIC_VERSION,
                "signing_domain": EXTRINSIC_DOMAIN.decode(),
                "format": "[1, signer, nonce, valid_until, [pallet, function, args], signature]",
            },
            "origins": [{"kind": k, "doc": v} for k, v in ORIGIN_DOCS.items()],
            "weight": "declared operations: one per storage read, write or item iterated "
            "(metered); a call's weight in microseconds follows from them by 'weights'",
            "weights": self.weights.describe(),
            "pallets": [_describe(p) for p in self.pallets],
            "params": [p.describe() for p in PARAMS],
            "hooks": self.wiring.describe(),
        }


def _describe(pallet: Pallet) -> dict[str, Any]:
    return {
        "name": pallet.name,
        "index": pallet.index,
        "doc": pallet.doc,
        "calls": [c.describe() for c in sorted(pallet.calls, key=lambda c: c.index)],
        "events": [e.describe() for e in pallet.events],
        "errors": [e.describe() for e in sorted(pallet.errors, key=lambda e: e.index)],
        "storage": [s.describe() for s in pallet.storage],
        "queries": [q.describe() for q in pallet.queries],
        "constants": {
            name: (str(value) if isinstance(value, int) else value)
            for name, value in sorted(pallet.constants.items())
        },
        "hooks": [
            name
            for name in ("on_initialize", "on_finalize", "on_epoch", "try_state")
            if getattr(pallet.hooks, name) is not None
        ],
    }


class QueryState(ReadContext):
    """A state read by a query: the runtime's wiring, and the block's time on demand."""

    __slots__ = ()

    @property
    def now(self) -> int:
        time: int = TIME.get(self)
        return time
