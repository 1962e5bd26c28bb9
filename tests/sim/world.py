"""Constants and small records shared by the simulated nodes and the network.

Theory of operation
-------------------
Everything here is fixed for every scenario: the genesis hash and time, the
timeouts the simulated nodes use, how long a stuck node waits before
re-sending (``GOSSIP_MS``), the event kinds of the simulation's queue, and
the validator keys (``validator_key(i)``, derived from a name, cached).
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus import TimeoutParams
from ledger.crypto import Keypair, blake2b256

GENESIS_HASH = blake2b256(b"credichain-sim/genesis")
GENESIS_TIME_MS = 1_700_000_000_000
SIM_TIMEOUTS = TimeoutParams(propose_ms=300, prevote_ms=150, precommit_ms=150, delta_ms=100)

# Event kinds (ints: the heap compares tuples). WORK: a transaction reaches a node;
# HEARTBEAT: an idle node's wait for work is over (create_empty_blocks = false).
DELIVER, TIMER, ANSWER, CRASH, RESTART, NET, START, GOSSIP, WORK, HEARTBEAT = range(10)
# A node that made no progress for this long re-sends its current round's messages.
GOSSIP_MS = 400

_KEYS: dict[int, Keypair] = {}


def validator_key(index: int) -> Keypair:
    key = _KEYS.get(index)
    if key is None:
        key = _KEYS[index] = Keypair.dev(f"sim-validator-{index}")
    return key


@dataclass(slots=True)
class BlockRecord:
    height: int
    valid: bool
    time_ms: int
    builder: int  # instance id
