"""System storage: block number and time, epochs, nonces, the validator set.

Keys (docs/protocol/state.md): ``system/chain``, ``system/number``, ``system/time``,
``system/genesis_time``, ``system/epoch``, ``system/nonce/<account>``,
``system/validators``, ``system/validator_changes/<apply_at u64>``,
``system/evidence/<evidence hash>`` (equivocation evidence already acted on),
``system/epoch_anchor`` (where epochs count from once ``epoch_length`` changed).
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, U64, List, Optional, Record, Text
from pallets.support.storage import ACCOUNT_KEY, HASH_KEY, U64_KEY, StorageSet

MAX_VALIDATORS: Final = 1000

VALIDATOR: Final = Record("validator", (("public", ACCOUNT), ("power", U64)))
VALIDATOR_LIST: Final = List(VALIDATOR, MAX_VALIDATORS)

storage = StorageSet("system")

CHAIN: Final = storage.value(
    "chain", Text(64), default="", doc="the chain's name: part of the state, so of the genesis hash"
)
NUMBER: Final = storage.value("number", U64, default=0, doc="height of the last executed block")
TIME: Final = storage.value(
    "time", U64, default=0, doc="BFT time of the last executed block, in seconds"
)
GENESIS_TIME: Final = storage.value(
    "genesis_time", U64, default=0, doc="genesis time in seconds; epochs count from it"
)
EPOCH: Final = storage.value(
    "epoch",
    U64,
    default=0,
    doc="index of the current epoch: anchor index + (time - anchor start) // epoch_length",
)
EPOCH_ANCHOR: Final = storage.value(
    "epoch_anchor",
    Optional(Record("epoch_anchor", (("index", U64), ("start", U64)))),
    default=None,
    doc="[epoch index, its start time] epochs count from since governance last changed "
    "system.epoch_length (absent: [0, genesis_time])",
)
NONCE: Final = storage.map(
    "nonce",
    ACCOUNT_KEY,
    U64,
    default=0,
    doc="an account's next nonce: the number of its extrinsics in the chain",
)
VALIDATORS: Final = storage.value(
    "validators",
    VALIDATOR_LIST,
    default=[],
    doc="the validator set as the runtime knows it: [[public_key, power], ...] sorted by key",
)
VALIDATOR_CHANGES: Final = storage.map(
    "validator_changes",
    U64_KEY,
    Optional(VALIDATOR_LIST),
    default=None,
    doc="scheduled validator sets by the height they apply at (H + 2), until they apply",
)
EVIDENCE_SEEN: Final = storage.map(
    "evidence",
    HASH_KEY,
    U64,
    default=0,
    doc="equivocation evidence already acted on, by hash, with the height of its block (G6): "
    "the same proof never removes a validator twice (e.g. after governance re-adds it)",
)
