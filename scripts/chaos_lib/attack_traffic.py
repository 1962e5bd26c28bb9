"""What the attacks send: heavy extrinsics, JSON-RPC batches, held connections, a watched transfer.

Theory of operation
-------------------
Everything the attacks send is a trio coroutine bounded in time (a
``stop_at`` on the monotonic clock, or a cancel scope of the caller) and in
count, and talks to 127.0.0.1 only. Each kind of traffic has its module;
this one re-exports them so that the attack kinds and the runner import
from one place:

- ``attack_extrinsics``: ``heavy_credit_submit``, ``transfer``
- ``attack_http``: ``Tally`` (every reply is a measurement), ``RawHttp``,
  ``batch_body``, ``hammer``, ``submit_all``, ``attacker_sources``
- ``attack_squat``: ``squat`` holds connections open like a slow or silent
  client (``SquatStats``, ``noise_first_message``, ``slow_body_headers``)
- ``attack_watch``: ``watch_transfer``, the honest user (``Watch``)
"""

from __future__ import annotations

from scripts.chaos_lib.attack_extrinsics import heavy_credit_submit, transfer
from scripts.chaos_lib.attack_http import (
    CONNECT_TIMEOUT_S,
    PARSE_LIMIT,
    QUICK_CLOSE_S,
    RawHttp,
    Tally,
    attacker_sources,
    batch_body,
    hammer,
    submit_all,
)
from scripts.chaos_lib.attack_squat import (
    SquatStats,
    noise_first_message,
    slow_body_headers,
    squat,
)
from scripts.chaos_lib.attack_watch import WS_FAILURES, Watch, watch_transfer

__all__ = [
    "CONNECT_TIMEOUT_S",
    "PARSE_LIMIT",
    "QUICK_CLOSE_S",
    "WS_FAILURES",
    "RawHttp",
    "SquatStats",
    "Tally",
    "Watch",
    "attacker_sources",
    "batch_body",
    "hammer",
    "heavy_credit_submit",
    "noise_first_message",
    "slow_body_headers",
    "squat",
    "submit_all",
    "transfer",
    "watch_transfer",
]
