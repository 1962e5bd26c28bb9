"""Every named chain parameter: defaults, localnet preset, bounds, storage.

Theory of operation
-------------------
spec/credit-rules.md names parameters (``min_funders``, ``review_max``...)
that genesis sets and governance may later change. They are declared here
once, as ``ParamDef`` rows grouped by section (the pallet that reads them);
the genesis schema, the metadata and the state layout are all derived from
this table. A new pallet adds its section here (or declares its rows and
appends them) and reads its values with ``param(state, section, name)``.

All parameters are integers: amounts in minor units, ratios in basis
points, durations in seconds of block time, counts. A parameter lives in the
state at ``params/<section>/<name>`` as a canonical MessagePack integer, so a
governance change is an ordinary state write and shows in the state root.

Where spec/credit-rules.md gives no default (quorum, issuance cap, round
length...), the default chosen here is documented in docs/runtime.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ledger import codec
from ledger.codec import CodecError
from ledger.overlay import KeyReader
from ledger.types import EXTRINSIC_LIMITS
from pallets.support.declare import RuntimeFault

DAY: Final = 86_400
YEAR: Final = 365 * DAY
U64_MAX: Final = 2**64 - 1


@dataclass(frozen=True, slots=True)
class ParamDef:
    section: str
    name: str
    default: int
    localnet: int
    minimum: int
    maximum: int
    unit: str  # "s", "bps", "count", "amount", "weight", "bytes", "score", "ratio"
    rule: str
    doc: str

    @property
    def key(self) -> bytes:
        return param_key(self.section, self.name)

    def describe(self) -> dict[str, object]:
        return {
            "section": self.section,
            "name": self.name,
            "default": str(self.default),
            "localnet": str(self.localnet),
            "min": str(self.minimum),
            "max": str(self.maximum),
            "unit": self.unit,
            "rule": self.rule,
            "doc": self.doc,
            "key": "0x" + self.key.hex(),
        }


def _p(
    section: str,
    name: str,
    default: int,
    *,
    localnet: int | None = None,
    lo: int = 0,
    hi: int = U64_MAX,
    unit: str,
    rule: str = "",
    doc: str,
) -> ParamDef:
    return ParamDef(
        section, name, default, default if localnet is None else localnet, lo, hi, unit, rule, doc
    )


PARAMS: Final[tuple[ParamDef, ...]] = (
    # system: block limits and epochs
    _p("system", "epoch_length", DAY, localnet=60, lo=1, hi=YEAR, unit="s",
       doc="length of an epoch in block time; on_epoch hooks run when one begins"),
    _p("system", "max_block_extrinsics", 5000, lo=1, hi=100_000, unit="count",
       doc="most extrinsics in one block"),
    _p("system", "max_block_bytes", 4 << 20, lo=1024, hi=16 << 20, unit="bytes",
       doc="most bytes of extrinsics in one block"),
    _p("system", "max_extrinsic_bytes", 16 << 10, lo=256, hi=EXTRINSIC_LIMITS.max_size,
       unit="bytes", doc="largest encoded extrinsic"),
    _p("system", "max_block_weight", 250_000, lo=1, hi=100_000_000, unit="weight",
       doc="sum of the weights of a block's extrinsics, in microseconds of the reference "
           "machine (runtime/weights.py): 25% of the default 1 s propose timeout"),
    # balances: existence (P3)
    _p("balances", "existential_deposit", 100_000, localnet=1_000, hi=10**12, unit="amount",
       rule="P3",
       doc="least balance of an account that is not a registered person, fund or module"),
    # payment: fees and the community allowance (P1, P2)
    _p("payment", "base_fee", 1_000, hi=10**12, unit="amount", rule="P1",
       doc="fee of every included extrinsic, in minor units"),
    _p("payment", "byte_fee", 10, hi=10**9, unit="amount", rule="P1",
       doc="fee per encoded byte of an extrinsic"),
    _p("payment", "weight_fee", 10, hi=10**9, unit="amount", rule="P1",
       doc="fee per unit of weight (a microsecond of the reference machine)"),
    _p("payment", "allowance_weight", 100_000, hi=100_000_000, unit="weight", rule="P2",
       doc="fee-free weight (microseconds) of community calls per registered person per epoch"),
    # funds
    _p("funds", "min_funders", 5, lo=1, hi=1000, unit="count", rule="F2",
       doc="funders a fund needs to become active"),
    _p("funds", "growth_min_utilization", 3300, hi=10_000, unit="bps", rule="F4",
       doc="outstanding/size an active fund needs before admitting a new funder"),
    _p("funds", "min_membership", YEAR, localnet=300, hi=10 * YEAR, unit="s", rule="F5",
       doc="time a funder must stay before asking to leave"),
    _p("funds", "exit_period", 90 * DAY, localnet=120, hi=10 * YEAR, unit="s", rule="F5",
       doc="time within which a leaving funder is paid as cash allows"),
    _p("funds", "consent_period", 7 * DAY, localnet=30, lo=1, hi=YEAR, unit="s", rule="F8",
       doc="time a consent proposal waits for an objection"),
    _p("funds", "removal_threshold", 7500, lo=5001, hi=10_000, unit="bps", rule="F6",
       doc="share of the other funders needed to remove a funder"),
    # members (G1): key rotation and recovery
    _p("members", "recovery_delay", 14 * DAY, localnet=60, lo=1, hi=YEAR, unit="s", rule="G1",
       doc="a registrar's recovery of a lost key completes after this long unless the old key "
       "cancels it; also the least time between two key changes of one person"),
    # trust
    _p("trust", "trust_initial", 1000, hi=10_000, unit="bps", rule="T1",
       doc="starting trust at a fund, as a share of its contribution C"),
    # credit requests
    _p("credit", "max_credit", 1000, lo=1, hi=10_000, unit="bps", rule="C4",
       doc="largest credit as a share of fund size"),
    _p("credit", "max_utilization", 6600, lo=1, hi=10_000, unit="bps", rule="C4",
       doc="largest outstanding principal as a share of fund size"),
    _p("credit", "min_reviewers", 3, lo=1, hi=100, unit="count", rule="C6",
       doc="fewest reviewers drawn for a request"),
    _p("credit", "review_min", 7 * DAY, localnet=20, hi=YEAR, unit="s", rule="C8",
       doc="earliest resolution after a request became valid"),
    _p("credit", "review_max", 14 * DAY, localnet=60, lo=1, hi=YEAR, unit="s", rule="C8",
       doc="latest resolution; the request expires after it"),
    _p("credit", "resubmit_cooldown", 14 * DAY, localnet=60, hi=YEAR, unit="s", rule="C6",
       doc="after a withdrawal past its draw, its borrowers wait this long to submit "
       "to the same fund again (no re-rolling the draw)"),
    _p("credit", "conflict_window", 3 * DAY, localnet=10, lo=1, hi=YEAR, unit="s", rule="C7",
       doc="time the other reviewers have to accept a declared conflict; silence replaces"),
    _p("credit", "weight_community_infrastructure", 95, hi=100, unit="score", rule="C5",
       doc="assessment weight of the purpose"),
    _p("credit", "weight_ecological_restoration", 90, hi=100, unit="score", rule="C5",
       doc="assessment weight of the purpose"),
    _p("credit", "weight_productive_enterprise", 85, hi=100, unit="score", rule="C5",
       doc="assessment weight of the purpose"),
    _p("credit", "weight_educational_initiative", 80, hi=100, unit="score", rule="C5",
       doc="assessment weight of the purpose"),
    _p("credit", "weight_creative_project", 75, hi=100, unit="score", rule="C5",
       doc="assessment weight of the purpose"),
    _p("credit", "score_weight_purpose", 4000, hi=10_000, unit="bps", rule="C5",
       doc="share of the assessment score from the purpose weight"),
    _p("credit", "score_weight_history", 3000, hi=10_000, unit="bps", rule="C5",
       doc="share of the assessment score from the borrowers' repayment history"),
    _p("credit", "score_weight_endorsements", 2000, hi=10_000, unit="bps", rule="C5",
       doc="share of the assessment score from funders' endorsements on chain"),
    _p("credit", "score_weight_providers", 1000, hi=10_000, unit="bps", rule="C5",
       doc="share of the assessment score from the fund's funders named as providers"),
    # loans
    _p("loans", "default_after", 90 * DAY, localnet=120, lo=1, hi=10 * YEAR, unit="s",
       rule="L6", doc="time late before a loan may be written off"),
    _p("loans", "writeoff_threshold", 7500, lo=5001, hi=10_000, unit="bps", rule="L6",
       doc="share of the fund's funders that may write a loan off"),
    # governance
    _p("governance", "voice_credits", 100, lo=1, hi=1_000_000, unit="count", rule="G2",
       doc="voice credits per member per round"),
    _p("governance", "round_length", 14 * DAY, localnet=20, lo=1, hi=YEAR, unit="s",
       rule="G5", doc="length of a governance round"),
    _p("governance", "quorum", 2000, hi=10_000, unit="bps", rule="G5",
       doc="distinct voters needed, as a share of members"),
    _p("governance", "enactment_delay", 2 * DAY, localnet=5, hi=YEAR, unit="s", rule="G5",
       doc="time between a proposal passing and its enactment"),
    _p("governance", "validator_change_ratio", 2, lo=1, hi=100, unit="ratio", rule="G5",
       doc="votes for must be this many times the votes against for validator changes"),
    _p("governance", "proposal_deposit", 10_000, unit="amount", rule="G4",
       doc="refundable deposit to make a proposal"),
    # issuance
    _p("issuance", "max_issuance", 200, hi=10_000, unit="bps", rule="R3",
       doc="yearly cap on minting, as a share of total supply"),
    # community health
    _p("health", "weight_economic_diversity", 2000, hi=10_000, unit="bps", rule="H2",
       doc="health weight of the component"),
    _p("health", "weight_resource_circulation", 2500, hi=10_000, unit="bps", rule="H2",
       doc="health weight of the component"),
    _p("health", "weight_cooperative_participation", 2000, hi=10_000, unit="bps", rule="H2",
       doc="health weight of the component"),
    _p("health", "weight_ecological_health", 2000, hi=10_000, unit="bps", rule="H2",
       doc="health weight of the component"),
    _p("health", "weight_knowledge_sharing", 1500, hi=10_000, unit="bps", rule="H2",
       doc="health weight of the component"),
    # redistribution
    _p("redistribution", "redistribution_share", 100, hi=10_000, unit="bps", rule="R2",
       doc="share of the commons pool granted to funds at each epoch end"),
    _p("redistribution", "interest_commons_share", 0, hi=10_000, unit="bps", rule="R1",
       doc="share of fund interest paid into the commons pool"),
)  # fmt: skip

SCORE_PARTS: Final = ("purpose", "history", "endorsements", "providers")
PARAM_INDEX: Final = {(p.section, p.name): p for p in PARAMS}
SECTIONS: Final = tuple(dict.fromkeys(p.section for p in PARAMS))


def param_key(section: str, name: str) -> bytes:
    return f"params/{section}/{name}".encode()


# (section, name) -> state key, made once: a fee quote reads several parameters per
# extrinsic, and building the key each time was a third of param()'s cost (issue 23).
_PARAM_KEYS: Final = {(p.section, p.name): p.key for p in PARAMS}


def defaults(*, localnet: bool = False) -> dict[str, dict[str, int]]:
    """Every parameter's default (or localnet preset), by section."""
    table: dict[str, dict[str, int]] = {section: {} for section in SECTIONS}
    for p in PARAMS:
        table[p.section][p.name] = p.localnet if localnet else p.default
    return table


def cross_check(values: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Constraints between parameters; each problem names the parameters."""
    problems = []
    credit, health = values["credit"], values["health"]
    if credit["review_min"] > credit["review_max"]:
        problems.append("credit.review_min must not exceed credit.review_max")
    if credit["max_credit"] > credit["max_utilization"]:
        problems.append("credit.max_credit must not exceed credit.max_utilization")
    score = sum(credit[f"score_weight_{part}"] for part in SCORE_PARTS)
    if score != 10_000:
        problems.append(f"credit score weights must sum to 10000 bps, got {score}")
    total = sum(health.values())
    if total != 10_000:
        problems.append(f"health weights must sum to 10000 bps, got {total}")
    if values["members"]["recovery_delay"] < credit["resubmit_cooldown"]:
        # a key change would otherwise let a borrower re-roll a draw sooner (C6)
        problems.append("members.recovery_delay must be at least credit.resubmit_cooldown")
    system = values["system"]
    if system["max_extrinsic_bytes"] > system["max_block_bytes"]:
        problems.append("system.max_extrinsic_bytes must not exceed system.max_block_bytes")
    return problems


def param(state: KeyReader, section: str, name: str) -> int:
    """The current value of a parameter (genesis writes every one)."""
    key = _PARAM_KEYS.get((section, name))
    if key is None:
        raise RuntimeFault(f"unknown parameter {section}.{name}")
    raw = state.get(key)
    if raw is None:
        raise RuntimeFault(f"parameter {section}.{name} is missing from the state")
    value = _DECODED_INTS.get(raw)
    if value is not None:
        return value
    try:
        value = codec.decode(raw)
    except CodecError as exc:
        raise RuntimeFault(f"parameter {section}.{name}: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeFault(f"parameter {section}.{name} is not an integer")
    if len(_DECODED_INTS) >= 4096:  # a bound, never reached by the few distinct values in use
        _DECODED_INTS.clear()
    _DECODED_INTS[raw] = value
    return value


# Canonical bytes -> the integer they encode. A fee quote reads several
# parameters per transfer; decoding them is a pure function of the bytes.
_DECODED_INTS: dict[bytes, int] = {}


def param_state(values: Mapping[str, Mapping[str, int]]) -> dict[bytes, bytes]:
    """The state entries of a full parameter table (genesis)."""
    entries = {}
    for p in PARAMS:
        value = values[p.section][p.name]
        if not p.minimum <= value <= p.maximum:
            raise RuntimeFault(f"{p.section}.{p.name}={value} outside [{p.minimum}, {p.maximum}]")
        entries[p.key] = codec.encode(value)
    return entries
