"""Health storage (H1-H3).

Keys (a bioregion id is at most 32 bytes of ``[a-z0-9_]``, stored NUL-padded
to 32 bytes inside keys so composite keys are fixed-width and sort by id):

* ``health/bioregion/<id32>``: the registry record (H1): name hash, oracles.
* ``health/bioregion_count``: how many are registered (bounded).
* ``health/observation/<id32><epoch u64><oracle>``: one oracle's five
  components for an open epoch (H3); deleted when the epoch is aggregated.
* ``health/current/<id32>``: the standing value (components, score, the
  epoch it was last set in) — "with none, the last value stands".
* ``health/history/<id32><epoch u64>``: what each closed epoch published,
  oracle medians beside the on-chain measures; the last ``HISTORY_EPOCHS``.
* ``health/open_epoch``: the epoch whose observations and flows are being
  gathered (closed by the next ``on_epoch``).
* ``health/fund_bioregion/<fund u32>`` and its reverse index
  ``health/region_fund/<id32><fund u32>``: which funds are in which
  bioregion (set by governance; bounded per bioregion).
* ``health/flow/<fund u32>``: principal disbursed + repaid in the open epoch
  by a fund that is in a bioregion (credit velocity's numerator).
* ``health/nonce_mark/<account>``: an account's nonce at the last epoch end;
  a higher nonce now means it signed something in the epoch (participation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    HASH,
    U32,
    U64,
    ArgError,
    ArgType,
    List,
    Optional,
)
from pallets.support.declare import RuntimeFault
from pallets.support.records import RecordType
from pallets.support.storage import ACCOUNT_KEY, U32_KEY, CorruptState, FixedKey, StorageSet

BIOREGION_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
BIOREGION_LEN: Final = 32
MAX_BIOREGIONS: Final = 64  # bounds the epoch-end walk over bioregions
MAX_ORACLES: Final = 16  # bounds one bioregion's observations per epoch
MAX_FUNDS_PER_BIOREGION: Final = 16  # bounds the epoch-end walks (measures, R2)
HISTORY_EPOCHS: Final = 96  # closed epochs kept per bioregion for charts
COMPONENTS: Final = (
    "economic_diversity",
    "resource_circulation",
    "cooperative_participation",
    "ecological_health",
    "knowledge_sharing",
)


@dataclass(frozen=True, slots=True)
class BioregionId(ArgType):
    """A bioregion id: snake-case text ``[a-z][a-z0-9_]{0,31}``."""

    @property
    def name(self) -> str:
        return "bioregion"

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not BIOREGION_RE.match(value):
            shown = repr(value) if isinstance(value, str) else type(value).__name__
            raise ArgError(
                f"{path}: {shown} is not a bioregion id (snake case, [a-z][a-z0-9_], "
                f"at most {BIOREGION_LEN} bytes)"
            )
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "text",
            "name": "bioregion",
            "max": BIOREGION_LEN,
            "pattern": BIOREGION_RE.pattern,
        }


BIOREGION: Final = BioregionId()
COMPONENT_VALUES: Final = List(BPS, len(COMPONENTS), min_len=len(COMPONENTS))


def pad(bioregion: str) -> bytes:
    """The 32-byte key form of a bioregion id (NUL-padded; ids hold no NUL)."""
    if not BIOREGION_RE.match(bioregion):
        raise RuntimeFault(f"{bioregion!r} is not a bioregion id")
    return bioregion.encode("ascii").ljust(BIOREGION_LEN, b"\0")


def unpad(raw: bytes) -> str:
    text = raw.rstrip(b"\0").decode("ascii", errors="replace")
    if not BIOREGION_RE.match(text):
        raise CorruptState(f"bioregion key {raw!r} is not a bioregion id")
    return text


@dataclass(frozen=True, slots=True)
class BioregionKey:
    """A bioregion id as a map key (fixed 32 bytes, sorted by id)."""

    name: str = "bioregion"

    def encode(self, key: str) -> bytes:
        return pad(key)

    def decode(self, raw: bytes) -> str:
        if len(raw) != BIOREGION_LEN:
            raise CorruptState(f"bioregion key of {len(raw)} bytes")
        return unpad(raw)


REGION: Final = RecordType(
    "bioregion",
    (
        ("name_hash", Optional(HASH)),
        ("registered", U64),  # block time
        ("oracles", List(ACCOUNT, MAX_ORACLES, unique=True)),
    ),
)
CURRENT: Final = RecordType(
    "health_value",
    (
        ("components", COMPONENT_VALUES),
        ("epoch", U64),  # the epoch whose observations last set the value
        ("observations", U32),  # how many oracles' observations made it
    ),
)
PUBLISHED: Final = RecordType(
    "health_epoch",
    (
        ("components", Optional(COMPONENT_VALUES)),  # None: no value yet
        ("score", Optional(BPS)),
        ("observations", U32),  # 0: the last value stood
        ("credit_velocity", BPS),
        ("participation", BPS),
        ("funds", U32),
    ),
)

OBSERVATION_KEY: Final = FixedKey("bioregion_epoch_oracle", BIOREGION_LEN + 8 + 32)
HISTORY_KEY: Final = FixedKey("bioregion_epoch", BIOREGION_LEN + 8)
REGION_FUND_KEY: Final = FixedKey("bioregion_fund", BIOREGION_LEN + 4)

storage = StorageSet("health")

BIOREGIONS: Final = storage.map(
    "bioregion",
    BioregionKey(),
    Optional(REGION.record),
    default=None,
    doc="registered bioregions and their authorized oracles (H1)",
)
BIOREGION_COUNT: Final = storage.value(
    "bioregion_count", U32, default=0, doc="number of registered bioregions (bounded)"
)
OBSERVATIONS: Final = storage.map(
    "observation",
    OBSERVATION_KEY,
    Optional(COMPONENT_VALUES),
    default=None,
    doc="oracle observations of the open epoch, by bioregion, epoch and oracle (H3)",
)
CURRENT_VALUE: Final = storage.map(
    "current",
    BioregionKey(),
    Optional(CURRENT.record),
    default=None,
    doc="the standing health value of each bioregion: components, score (H2, H3)",
)
HISTORY: Final = storage.map(
    "history",
    HISTORY_KEY,
    Optional(PUBLISHED.record),
    default=None,
    doc=f"what each closed epoch published, the last {HISTORY_EPOCHS} epochs (H3)",
)
FUND_BIOREGION: Final = storage.map(
    "fund_bioregion",
    U32_KEY,
    Optional(BIOREGION),
    default=None,
    doc="the bioregion each fund belongs to (set by governance; R2 grants need it)",
)
REGION_FUNDS: Final = storage.map(
    "region_fund",
    REGION_FUND_KEY,
    BOOL,
    default=False,
    doc="reverse index of fund_bioregion: the funds of each bioregion, by id",
)
OPEN_EPOCH: Final = storage.value(
    "open_epoch", U64, default=0, doc="the epoch being gathered; closed by the next on_epoch"
)
FLOWS: Final = storage.map(
    "flow",
    U32_KEY,
    AMOUNT,
    default=0,
    doc="principal disbursed + repaid in the open epoch, per fund in a bioregion",
)
NONCE_MARKS: Final = storage.map(
    "nonce_mark",
    ACCOUNT_KEY,
    U64,
    default=0,
    doc="each measured account's nonce at the last epoch end (participation)",
)
