"""A probe pallet for tests/rpc/test_declared_queries.py: one call, one query.

Everything it declares lives in this folder; adding it to a runtime is one
line (``PalletRegistry((*construct.PALLETS, PALLET), ...)``) and its query is
then in the metadata, served over JSON-RPC and listed in ``rpc_discover``.
"""

from __future__ import annotations

from typing import Final

from pallets.support.declare import Pallet
from tests.rpc.probe_pallet import calls, queries, storage

PALLET: Final = Pallet(
    name="probe",
    index=90,
    doc="test: a note per account",
    calls=tuple(calls.calls.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
)
