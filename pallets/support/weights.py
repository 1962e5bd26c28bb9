"""Weights that mean time: what an extrinsic costs a validator, from benchmarks.

Theory of operation
-------------------
Two numbers bound the work of an extrinsic, as in FRAME (``ref_time`` next
to the storage proof size):

* its **declared operations** (``CallDef.weight_of``): an upper bound of the
  storage reads, writes and iterated items of the call, *metered* while it
  runs (S3): a call can never do more, whatever its code says;
* its **weight**, in microseconds of the reference machine: what including
  it costs a validator, used by the block weight limit and by the fee (P1).

The weight is derived from the operations through the table in
``weights.json``, which ``make bench-weights`` (scripts/bench_weights.py)
writes from measurements of every call in its heaviest case::

    weight = extrinsic_base + ceil(operations × ns_per_op(call) / 1000)

``extrinsic_base`` covers what every extrinsic costs whatever its call
(decoding, its share of signature checking, nonce, fee, receipt);
``ns_per_op`` is the slowest time per declared operation measured for that
call (Python work between storage operations included), or the table's
default for a call without its own figure. Everything is an integer, and the
file is part of the runtime: every node must use the same one, so a new file
is a runtime upgrade, like a new pallet (docs/runtime.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pallets.support.declare import RuntimeFault

if TYPE_CHECKING:
    from pallets.support.declare import CallDef

WEIGHTS_FILE: Final = Path(__file__).with_name("weights.json")
MAX_NS_PER_OP: Final = 10_000_000  # 10 ms per operation: a file above this is wrong
MAX_BASE: Final = 1_000_000  # 1 s per extrinsic


@dataclass(frozen=True, slots=True)
class WeightTable:
    extrinsic_base: int  # microseconds every extrinsic costs
    ns_per_op: int  # default nanoseconds per declared operation
    call_ns_per_op: Mapping[str, int] = field(default_factory=dict)  # "pallet.call" -> ns

    def __post_init__(self) -> None:
        if not 0 < self.extrinsic_base <= MAX_BASE:
            raise RuntimeFault(f"weights: extrinsic_base {self.extrinsic_base} out of range")
        for name, value in {"default": self.ns_per_op, **self.call_ns_per_op}.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise RuntimeFault(f"weights: ns_per_op of {name} is not an integer")
            if not 0 < value <= MAX_NS_PER_OP:
                raise RuntimeFault(f"weights: ns_per_op of {name} ({value}) out of range")

    def per_op(self, call: CallDef) -> int:
        return self.call_ns_per_op.get(f"{call.pallet}.{call.name}", self.ns_per_op)

    def weight(self, call: CallDef, operations: int) -> int:
        """The weight (µs) of ``call`` whose arguments declare ``operations``."""
        return self.extrinsic_base + -(-operations * self.per_op(call) // 1000)

    def describe(self) -> dict[str, Any]:
        return {
            "unit": "microseconds of the reference machine",
            "formula": "extrinsic_base + ceil(operations * ns_per_op / 1000)",
            "extrinsic_base": self.extrinsic_base,
            "ns_per_op": self.ns_per_op,
            "calls": dict(sorted(self.call_ns_per_op.items())),
        }


def parse_weights(document: Mapping[str, Any], known_calls: set[str] | None = None) -> WeightTable:
    """A ``WeightTable`` from the JSON of ``weights.json``; ``RuntimeFault`` names what is wrong."""
    try:
        base = document["extrinsic_base"]
        default = document["ns_per_op"]
        calls = document.get("calls", {})
    except (KeyError, TypeError) as exc:
        raise RuntimeFault(f"weights: missing {exc}") from exc
    if not isinstance(calls, dict):
        raise RuntimeFault("weights: calls must be an object of 'pallet.call' to ns_per_op")
    table = {str(name): entry for name, entry in calls.items()}
    if known_calls is not None:
        unknown = sorted(set(table) - known_calls)
        if unknown:
            raise RuntimeFault(f"weights: unknown calls {unknown}")
    if isinstance(base, bool) or not isinstance(base, int):
        raise RuntimeFault("weights: extrinsic_base is not an integer")
    return WeightTable(base, default, table)


@functools.cache
def load_weights(path: Path = WEIGHTS_FILE) -> WeightTable:
    """The table in ``path`` (read once per process: it is part of the runtime)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeFault(f"weights: cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise RuntimeFault(f"weights: {path} is not a JSON object")
    return parse_weights(document)
