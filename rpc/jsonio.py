"""JSON as the server speaks it: strict in, compact out.

Its own module because the dispatcher, the method registry (cached
documents) and the subscriptions (notifications) all serialize replies, and
none of them should import another for it.
"""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON; NaN and Infinity are refused (they are not JSON)."""
    return _encoder.encode(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused like any other non-JSON."""
    return json.loads(text, parse_constant=_refuse_constant)
