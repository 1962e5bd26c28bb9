"""Worst-case scenarios of every signed call, for the weights benchmark (scripts/bench_weights.py).

Each scenario prepares state on a ``TestChain`` by executing setup blocks
(every setup extrinsic must succeed) and returns ``n`` signed extrinsics of
one call that all take the call's heaviest path and can all be executed in
the next block (``chain.next_env(seconds)``). Some scenarios cap ``n`` where
the chain's own bounds do (at most 16 oracles of a bioregion, 8 admissions
into a fund of 64...); the harness uses ``len(txs)``.

The chain is the localnet genesis with ``ACCOUNTS`` funded members and a few
parameters moved so that the bounds can be reached quickly: funds become
active at 56 funders and admit new funders whatever their utilization
(``min_funders``, ``growth_min_utilization``), and every credit is reviewed
by 16 reviewers (``min_reviewers``). Funds are "big": 64 funders (MAX_FUNDERS),
contribution C = 10^6, every account's initial trust 10^5.

This module holds the shared steps and the scenarios of system, balances,
members, governance and health; ``weights_scenarios_funds`` holds those of
funds (but leave), ``weights_scenarios_credit`` those of credit, loans
and funds.leave, ``weights_scenarios_federation`` those of federation.
``all_scenarios()`` lists them all and ``governance_only()`` the calls that
are not extrinsics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ledger.crypto import Keypair, blake2b256
from ledger.kv import KVStore
from pallets.executive.validate import decode_extrinsic
from pallets.funds.storage import NEXT_FUND
from pallets.governance import rounds
from pallets.governance.allowlist import encode_call
from pallets.governance.storage import NEXT_ID
from pallets.support.declare import SIGNED
from pallets.support.params import PARAMS, param
from pallets.system.hooks import epoch_at
from tests.pallets.helpers import TestChain, test_doc

ACCOUNTS: Final = 400
KEYS: Final = tuple(
    Keypair.from_seed(blake2b256(b"bench-weights/" + i.to_bytes(4, "big"))) for i in range(ACCOUNTS)
)
FUNDERS: Final = KEYS[:64]  # the big funds' funders (MAX_FUNDERS)
BORROWERS: Final = KEYS[64:72]  # MAX_BORROWERS, never funders
OUTSIDERS: Final = KEYS[72:]  # candidates, payers, new members...
REGISTRAR: Final = KEYS[0]
ORACLES: Final = KEYS[:16]  # MAX_ORACLES of the "localnet" bioregion
C: Final = 10**6
BALANCE: Final = 10**12
REASON: Final = blake2b256(b"bench-weights/reason")
PARAM_OVERRIDES: Final = {
    "funds": {"min_funders": 56, "growth_min_utilization": 0},
    "credit": {"min_reviewers": 16},
    # Trust is exposure (T5): a full block of requests by the same borrowers
    # needs each to start with all of C as trust, not 10%.
    "trust": {"trust_initial": 10_000},
}


def bench_doc(*, big_blocks: bool = False) -> Any:
    doc = test_doc().to_json_dict()
    hrp = doc["address_prefix"]
    from ledger.crypto import encode_address

    accounts = [encode_address(k.public, hrp) for k in KEYS]
    doc["balances"] = [{"account": a, "amount": str(BALANCE)} for a in accounts]
    doc["bioregions"] = [{"id": "localnet", "oracles": [accounts[i] for i in range(16)]}]
    doc["registrars"] = [{"bioregion": "localnet", "account": accounts[0]}]
    doc["members"] = [
        {
            "account": a,
            "bioregion": "localnet",
            "attestation": "0x" + blake2b256(b"bench-weights/att/" + a.encode()).hex(),
        }
        for a in accounts[:200]
    ]
    doc["params"] = dict(PARAM_OVERRIDES)
    if big_blocks:  # timed blocks of n heavy calls must fit whatever the current table says
        doc["params"]["system"] = {"max_block_weight": 100_000_000}
    return test_doc(**doc)


def new_chain(
    kv: KVStore | None = None, *, registry: Any = None, big_blocks: bool = True
) -> TestChain:
    """The benchmark's chain: the full runtime with fees, on ``kv``.

    ``big_blocks`` lifts the block weight limit (for the timed blocks);
    ``registry`` gives a runtime with another weights table.
    """
    return TestChain(bench_doc(big_blocks=big_blocks), fees=True, kv=kv, registry=registry)


@dataclass
class Prepared:
    """What a scenario hands the harness: the timed block's extrinsics."""

    txs: list[bytes]
    seconds: int = 1  # the timed block's time after the chain's last block
    failure: str | None = None  # the error code when the heaviest path is a failure path


@dataclass(frozen=True)
class Scenario:
    call: str  # "pallet.function"
    path: str  # the heaviest path it takes
    build: Callable[[TestChain, int], Prepared]
    failure: str | None = None
    # True when the scenario cannot reach the declared worst case: the benchmark
    # then keeps the table's default (slowest) rate for the call.
    partial: bool = False


@dataclass
class Registry:
    scenarios: list[Scenario] = field(default_factory=list)

    def add(
        self, call: str, path: str, failure: str | None = None, *, partial: bool = False
    ) -> Callable[..., Any]:
        def wrap(build: Callable[[TestChain, int], Prepared]) -> Callable[..., Any]:
            self.scenarios.append(Scenario(call, path, build, failure, partial))
            return build

        return wrap


SCENARIOS: Final = Registry()

# ---------------------------------------------------------------- shared steps


def run(chain: TestChain, txs: Sequence[bytes], *, seconds: int = 1) -> None:
    """Execute and commit setup blocks (each once); every extrinsic must succeed.

    ``txs`` go in one block, or in as many consecutive blocks (1 s apart) as the
    block weight limit needs.
    """
    for chunk in _fit(chain, list(txs)):
        result = chain.runtime.execute(chain.root, chain.next_env(seconds), chunk)
        failed = [(i, r.error) for i, r in enumerate(result.receipts) if not r.success]
        assert not failed, failed[:3]
        chain.apply(result)
        seconds = 1


def _fit(chain: TestChain, txs: list[bytes]) -> list[list[bytes]]:
    limit = param(chain.state(), "system", "max_block_weight")
    registry = chain.runtime.registry
    chunks: list[list[bytes]] = [[]]
    total = 0
    for raw in txs:
        ext = decode_extrinsic(raw, 1 << 20)
        call = registry.call(ext.call.pallet, ext.call.function)
        assert call is not None
        weight = registry.weights.weight(call, call.weight)
        if total + weight > limit and chunks[-1]:
            chunks.append([])
            total = 0
        chunks[-1].append(raw)
        total += weight
    return chunks


def run_many(chain: TestChain, txs: Sequence[bytes], per_block: int = 400) -> None:
    for start in range(0, len(txs), per_block):
        run(chain, txs[start : start + per_block])


def sign(chain: TestChain, key: Keypair, name: str, /, **args: Any) -> bytes:
    pallet, function = name.split(".")
    return chain.sign(key, pallet, function, args)


def wait(chain: TestChain, seconds: int) -> None:
    run(chain, [], seconds=seconds)


def now(chain: TestChain) -> int:
    return chain.time_ms // 1000


def create_args(name: str) -> dict[str, Any]:
    return {
        "name": (name + " " + "n" * 64)[:64],
        "scope": "s" * 280,
        "bioregion": None,
        "policy_hash": blake2b256(b"policy"),
        "conduct_hash": blake2b256(b"conduct"),
        "contribution": C,
        "rate_bps": 500,
        "purposes": [
            "community_infrastructure",
            "ecological_restoration",
            "productive_enterprise",
            "educational_initiative",
            "creative_project",
        ],
    }


def new_fund(chain: TestChain, funders: Sequence[Keypair] = FUNDERS[:56], name: str = "F") -> int:
    """An active fund of ``funders`` (at least 56: min_funders), joined directly while forming."""
    fund: int = NEXT_FUND.get(chain.state())
    run(chain, [sign(chain, funders[0], "funds.create", **create_args(f"{name}{fund}"))])
    run(chain, [sign(chain, k, "funds.join", fund=fund) for k in funders[1:]])
    return fund


def admit(chain: TestChain, fund: int, proposer: Keypair, candidates: Sequence[Keypair]) -> None:
    """F4: new-funder proposals for ``candidates``, run through the consent period."""
    run(
        chain,
        [
            sign(
                chain,
                proposer,
                "funds.propose",
                fund=fund,
                kind="new_funder",
                subject=k.public,
                amount=0,
                rate_bps=0,
                apply_to_open=False,
                reason_hash=REASON,
            )
            for k in candidates
        ],
    )
    wait(chain, 31)
    for _ in range(len(candidates) // 16 + 2):  # MAX_PROPOSALS_PER_BLOCK
        wait(chain, 1)


def big_fund(chain: TestChain, name: str = "F") -> int:
    """A fund of all 64 FUNDERS (MAX_FUNDERS): 56 direct joins, 8 admitted."""
    fund = new_fund(chain, FUNDERS[:56], name)
    admit(chain, fund, FUNDERS[0], FUNDERS[56:])
    run(chain, [sign(chain, k, "funds.join", fund=fund) for k in FUNDERS[56:]])
    return fund


# ---------------------------------------------------------------- system, balances


@SCENARIOS.add("system.remark", "the longest text (1 024 characters)")
def _remark(chain: TestChain, n: int) -> Prepared:
    return Prepared([sign(chain, KEYS[i], "system.remark", text="r" * 1024) for i in range(n)])


def base_block(chain: TestChain, n: int) -> Prepared:
    """The harness's base: remarks with an empty text (1 declared operation)."""
    return Prepared([sign(chain, KEYS[i], "system.remark", text="") for i in range(n)])


@SCENARIOS.add("balances.transfer", "to a new account (it is created), from distinct signers")
def _transfer(chain: TestChain, n: int) -> Prepared:
    dests = [blake2b256(b"bench-weights/new/" + i.to_bytes(4, "big")) for i in range(n)]
    return Prepared([chain.transfer(KEYS[i % ACCOUNTS], dests[i], 10**6) for i in range(n)])


# ---------------------------------------------------------------- members, governance, health


@SCENARIOS.add("members.register", "a registrar registers a new account on a fresh attestation")
def _register(chain: TestChain, n: int) -> Prepared:
    return Prepared(
        [
            sign(
                chain,
                REGISTRAR,
                "members.register",
                member=OUTSIDERS[-1 - i].public,
                bioregion="localnet",
                attestation=blake2b256(b"bench-weights/fresh/" + i.to_bytes(4, "big")),
            )
            for i in range(n)
        ]
    )


@SCENARIOS.add("members.revoke", "a registrar revokes a member (revocation recorded)")
def _revoke(chain: TestChain, n: int) -> Prepared:
    return Prepared(
        [sign(chain, REGISTRAR, "members.revoke", member=KEYS[199 - i].public) for i in range(n)]
    )


# A key change walks every fund where the person's trust is recorded (at most 64)
# and their cooldowns (16): more than a setup can build here, so these time a
# member with a credit history and keep the default (slowest) rate.
KEY_CHANGERS: Final = KEYS[100:150]


def _fresh_key(i: int) -> bytes:
    return blake2b256(b"bench-weights/new-key/" + i.to_bytes(4, "big"))


def _past_recovery_delay(chain: TestChain) -> None:
    wait(chain, param(chain.state(), "members", "recovery_delay") + 1)


@SCENARIOS.add("members.rotate_key", "a member hands over to a fresh key", partial=True)
def _rotate_key(chain: TestChain, n: int) -> Prepared:
    _past_recovery_delay(chain)
    n = min(n, len(KEY_CHANGERS))
    return Prepared(
        [sign(chain, KEY_CHANGERS[i], "members.rotate_key", new=_fresh_key(i)) for i in range(n)]
    )


@SCENARIOS.add("members.start_recovery", "a registrar starts recovering a member's key")
def _start_recovery(chain: TestChain, n: int) -> Prepared:
    n = min(n, len(KEY_CHANGERS))
    return Prepared(
        [
            sign(
                chain,
                REGISTRAR,
                "members.start_recovery",
                member=KEY_CHANGERS[i].public,
                new=_fresh_key(i),
            )
            for i in range(n)
        ]
    )


@SCENARIOS.add("members.cancel_recovery", "a member's key cancels its pending recovery")
def _cancel_recovery(chain: TestChain, n: int) -> Prepared:
    n = min(n, len(KEY_CHANGERS))
    run_many(chain, _start_recovery(chain, n).txs)
    return Prepared([sign(chain, KEY_CHANGERS[i], "members.cancel_recovery") for i in range(n)])


@SCENARIOS.add(
    "members.finish_recovery", "anyone completes a recovery after its delay", partial=True
)
def _finish_recovery(chain: TestChain, n: int) -> Prepared:
    n = min(n, len(KEY_CHANGERS))
    run_many(chain, _start_recovery(chain, n).txs)
    _past_recovery_delay(chain)
    return Prepared(
        [
            sign(chain, OUTSIDERS[i], "members.finish_recovery", member=KEY_CHANGERS[i].public)
            for i in range(n)
        ]
    )


def set_params_call() -> bytes:
    """The largest governance call: system.set_params with 16 changes (values unchanged)."""
    values = [p for p in PARAMS if p.section == "credit"][:16]
    changes = [[p.section, p.name, p.localnet] for p in values]
    if "min_reviewers" in [p.name for p in values]:
        changes = [c if c[1] != "min_reviewers" else [c[0], c[1], 16] for c in changes]
    return encode_call("system", "set_params", {"changes": changes})


@SCENARIOS.add(
    "governance.propose", "a member proposes the largest call (set_params x16), with the deposit"
)
def _gov_propose(chain: TestChain, n: int) -> Prepared:
    call = set_params_call()
    return Prepared([sign(chain, KEYS[i], "governance.propose", call=call) for i in range(n)])


@SCENARIOS.add("governance.vote", "a member re-votes (refund of the previous ballot)")
def _gov_vote(chain: TestChain, n: int) -> Prepared:
    proposal: int = NEXT_ID.get(chain.state())
    run(chain, [sign(chain, KEYS[0], "governance.propose", call=set_params_call())])
    voting = proposal_round(chain, proposal)
    while (current := rounds.current_round(chain.state()))["index"] < voting:
        wait(chain, current["ends"] - now(chain))
    run(
        chain,
        [sign(chain, KEYS[i], "governance.vote", proposal=proposal, votes=2) for i in range(n)],
    )
    return Prepared(
        [sign(chain, KEYS[i], "governance.vote", proposal=proposal, votes=-3) for i in range(n)]
    )


def proposal_round(chain: TestChain, proposal: int) -> int:
    from pallets.governance import api

    record = api.find_proposal(chain.state(), proposal)
    assert record is not None
    value: int = record["round"]
    return value


@SCENARIOS.add("health.observe", "an oracle's observation of the current epoch")
def _observe(chain: TestChain, n: int) -> Prepared:
    n = min(n, 16)  # MAX_ORACLES per bioregion and epoch
    epoch = epoch_at(chain.state(), now(chain) + 1)
    return Prepared(
        [
            sign(
                chain,
                ORACLES[i],
                "health.observe",
                bioregion="localnet",
                epoch=epoch,
                components=[5000, 5000, 5000, 5000, 5000],
            )
            for i in range(n)
        ]
    )


# ---------------------------------------------------------------- all of them


def all_scenarios() -> list[Scenario]:
    from scripts import (  # noqa: F401  (they register their scenarios)
        weights_scenarios_assess,
        weights_scenarios_credit,
        weights_scenarios_federation,
        weights_scenarios_funds,
    )

    return list(SCENARIOS.scenarios)


def governance_only(registry: Any) -> list[str]:
    """The calls that are not extrinsics (their origin is governance)."""
    return [f"{p.name}.{c.name}" for p in registry.pallets for c in p.calls if c.origin != SIGNED]
