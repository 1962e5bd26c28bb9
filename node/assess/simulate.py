"""A community simulator: funds, borrowers and purposes on a real chain, for the fitter.

Theory of operation
-------------------
A new chain has no repayment history, so nothing to fit the assessment model
(C5) to. ``simulate`` builds one: an agent-based model of funds, funders and
borrowers run through the real runtime in process, with the chain builder the
replay tests use (``node.testing.replay_fixture.ChainBuilder``: blocks built,
signed and committed by one validator, every extrinsic signed, fees paid).
Nothing is written to the state except by extrinsics and the pallets' hooks,
so the chain replays (``credichain audit replay``) and its public history is
exactly what a real chain's would be.

The story, seeded (``SimConfig.seed``; two runs with one config build
byte-identical chains):

1. governance raises ``trust.trust_initial`` to 100% of a fund's contribution
   (so that funders' trust covers many open loans as reviewers, T5), Alice
   registers every simulated person (G1), and ``funds`` funds form with
   ``funders`` funders each, serving every purpose (F1, F2);
2. every ``wave_days`` a wave of requests: per fund, ``requests_per_wave``
   requests of 1-4 borrowers with a random purpose, amount, term (14-180
   days) and installments, checked against the fund's limits and the
   borrowers' available trust before they are signed (C3, C4, T5); funders
   endorse some of them (0-3, C5), co-borrowers sign, the reviewers are drawn
   and all approve after ``review_min`` (C6, C8);
3. each loan's outcome is drawn when it is disbursed from the **latent
   behaviour**: repaid with probability ``sigma(LATENT . x + u)``, where x
   are the loan's features as the chain stored them when it was scored
   (``assess/scored``, scaled by each feature's unit) and u the hidden
   reliability of its borrowers (the mean of one N(0, ``hidden_sd``) draw per
   borrower, fixed for the run: what no feature can see). A repaid loan is
   settled in full at a random time in the second half of its term
   (``loans.settle``); a defaulted one pays nothing and its reviewers write it
   off ``writeoff_days`` after its term (L6), by which time it counted in its
   fund's PAR30 (L7);
4. after the last wave every open loan is resolved the same way.

``LATENT`` is documented here and in docs/credit.md: purposes (productive
enterprise and creative projects repaid best, educational initiatives worst:
not the order of the technical guide's purpose weights, on purpose),
repaid and written-off credits, first-time borrowers, the amount against
the fund and against the borrowers' trust, the term, installments,
endorsements, co-borrowers and the fund's PAR30. The default model (the
earlier 40/30/20/10 weights) sees only part of it, so a fitted model should
do better; that is what the fitter's tests check.

``coefficients`` (optional): network coefficients that governance installs
before wave ``install_wave`` (a real proposal, voted by the funders): the
requests of later waves are scored with them, the earlier ones keep theirs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ledger.crypto import Keypair, blake2b256
from node.testing.replay_fixture import ChainBuilder
from pallets.assess import api as assess_api
from pallets.assess.model import FEATURES, NAMES, PURPOSE_ORDER
from pallets.credit.storage import NEXT_REQUEST, REQUEST, REQUESTS
from pallets.funds import api as funds_api
from pallets.governance import api as governance_api
from pallets.governance import rounds
from pallets.governance.allowlist import encode_call
from pallets.governance.storage import NEXT_ID
from pallets.loans import api as loans_api
from pallets.support.context import ReadContext
from pallets.support.params import param
from pallets.trust import api as trust_api

DAY: Final = 86_400
ALICE: Final = Keypair.dev("alice")  # the localnet registrar of "localnet" (G1)
BOB: Final = Keypair.dev("bob")
DEV_MEMBERS: Final = tuple(Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve"))
ZERO_HASH: Final = bytes(32)

# The latent behaviour: log-odds of repayment per unit of each feature (as the
# fitter scales them: value / unit). Features not named have no effect.
LATENT_INTERCEPT: Final = 3.0
LATENT: Final[dict[str, float]] = {
    "purpose_community_infrastructure": -0.3,
    "purpose_ecological_restoration": 0.2,
    "purpose_productive_enterprise": 0.6,
    "purpose_educational_initiative": -0.9,
    "purpose_creative_project": 0.4,
    "credits_repaid": 2.0,  # +0.2 per credit repaid
    "credits_written_off": -0.8,
    "new_borrowers": -0.3,
    "amount_to_size_bps": -25.0,  # per 100% of the fund's size
    "amount_to_trust_bps": -6.0,  # per 100% of the borrowers' trust
    "term_days": -4.0,  # per year
    "installments": 1.0,  # per 12 installments
    "endorsements": 0.3,
    "co_borrowers": 0.6,
    "fund_par30_bps": -4.0,  # per 100% of the fund's outstanding at risk
}
TERMS_DAYS: Final = (14, 30, 45, 60, 90, 120, 180)
INSTALLMENTS: Final = (1, 2, 3, 4, 6, 12)


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 24
    funds: int = 3
    funders: int = 5  # per fund: min_funders join directly (F2); more would need consent
    borrowers: int = 48
    waves: int = 16
    requests_per_wave: int = 4  # per fund
    wave_days: int = 5
    contribution: int = 250_000
    rate_bps: int = 600
    hidden_sd: float = 0.5
    writeoff_days: int = 45
    coefficients: tuple[int, ...] | None = None  # installed by governance before install_wave
    install_wave: int = 0


@dataclass(slots=True)
class Simulated:
    builder: ChainBuilder
    config: SimConfig
    loans: list[int] = field(default_factory=list)  # approved request (= loan) ids
    truth: dict[int, float] = field(default_factory=dict)  # latent repayment probability
    install_height: int | None = None  # the block the coefficients were enacted in

    def state(self) -> ReadContext:
        chain = self.builder.chain
        return chain.runtime.state(chain.state_root)


def latent_log_odds(features: Sequence[int]) -> float:
    scaled = {f.name: v / f.unit for f, v in zip(FEATURES, features, strict=True)}
    return LATENT_INTERCEPT + sum(w * scaled[name] for name, w in LATENT.items())


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class _Sim:
    def __init__(self, config: SimConfig, path: Path | None) -> None:
        people = config.funds * config.funders + config.borrowers
        self.config = config
        self.rng = random.Random(config.seed)
        self.builder = ChainBuilder(validators=1, accounts=people, path=path)
        keys = self.builder.accounts
        self.funders = [
            keys[f * config.funders : (f + 1) * config.funders] for f in range(config.funds)
        ]
        self.borrowers = keys[config.funds * config.funders :]
        self.hidden = {k.public: self.rng.gauss(0.0, config.hidden_sd) for k in self.borrowers}
        self.keys = {k.public: k for k in (*keys, *DEV_MEMBERS)}
        self.result = Simulated(self.builder, config)
        self.events: list[tuple[int, int, str]] = []  # (time, loan, "settle" | "writeoff")

    # ------------------------------------------------------------ plumbing

    def state(self) -> ReadContext:
        return self.result.state()

    def now(self) -> int:
        """The time (s) of the next block."""
        return self.builder.next_block_time_ms // 1000

    def block(self, txs: Sequence[bytes] = (), *, then_in: int = 1) -> None:
        built = self.builder.add_block(list(txs), next_in_ms=max(1, then_in) * 1000)
        failed = [(i, r.error) for i, r in enumerate(built.receipts) if not r.success]
        if failed:
            raise RuntimeError(f"height {built.block.header.height}: failed {failed[:3]}")

    def jump_to(self, time: int) -> None:
        """An empty block now; the next one at ``time`` (or 1 s later if that is past)."""
        self.block([], then_in=time - self.now())

    def sign(self, key: Keypair, pallet: str, function: str, **args: Any) -> bytes:
        return self.builder.sign(key, pallet, function, args)

    def chunks(self, txs: list[bytes], size: int = 32) -> None:
        """``txs`` in consecutive blocks of ``size``: a block holds 250 ms of weight, about
        40 reviews (the heaviest call here)."""
        for start in range(0, len(txs), size):
            self.block(txs[start : start + size])

    # ------------------------------------------------------------ governance

    def governance(self, voters: Sequence[Keypair], pallet: str, function: str, **args: Any) -> int:
        """Propose a call, vote it through with ``voters`` and run to its enactment."""
        proposal_id: int = NEXT_ID.get(self.state())
        call = encode_call(pallet, function, args)
        self.block([self.sign(ALICE, "governance", "propose", call=call)])
        record = governance_api.find_proposal(self.state(), proposal_id)
        assert record is not None
        while rounds.current_index(self.state()) < record["round"]:
            self.jump_to(rounds.current_round(self.state())["ends"])
        self.chunks(
            [self.sign(k, "governance", "vote", proposal=proposal_id, votes=1) for k in voters]
        )
        for _ in range(64):
            record = governance_api.find_proposal(self.state(), proposal_id)
            assert record is not None
            if record["status"] in ("enacted", "failed", "rejected", "no_quorum"):
                break
            self.jump_to(self.now() + 5)
        if record["status"] != "enacted":
            raise RuntimeError(f"governance proposal {proposal_id}: {record['status']}")
        return int(record["enacted"])

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        config = self.config
        self.governance(DEV_MEMBERS, "system", "set_param", section="trust",
                        name="trust_initial", value=10_000)  # fmt: skip
        people = [k for group in self.funders for k in group] + list(self.borrowers)
        self.chunks(
            [
                self.sign(
                    ALICE,
                    "members",
                    "register",
                    member=k.public,
                    bioregion="localnet",
                    attestation=blake2b256(b"credichain-sim/person/" + k.public),
                )
                for k in people
            ]
        )
        for index, group in enumerate(self.funders):
            create = {
                "name": f"Sim fund {index}",
                "scope": "a simulated community fund",
                "bioregion": None,
                "policy_hash": blake2b256(b"policy"),
                "conduct_hash": blake2b256(b"conduct"),
                "contribution": config.contribution,
                "rate_bps": config.rate_bps,
                "purposes": list(PURPOSE_ORDER),
            }
            self.block([self.sign(group[0], "funds", "create", **create)])
            self.block([self.sign(k, "funds", "join", fund=index) for k in group[1:]])

    # ------------------------------------------------------------ a wave of requests

    def wave(self) -> None:
        state = self.state()
        first: int = NEXT_REQUEST.get(state)
        submits: list[bytes] = []
        follow: list[bytes] = []
        used: dict[tuple[int, bytes], int] = {}
        planned: list[int] = []
        for fund_id in range(self.config.funds):
            fund = funds_api.get_fund(state, fund_id)
            size = funds_api.size(state, fund_id, fund)
            room = (
                min(
                    param(state, "credit", "max_utilization") * size // 10_000 - fund.outstanding,
                    funds_api.cash(state, fund_id),
                )
                * 9
                // 10
            )
            max_credit = param(state, "credit", "max_credit") * size // 10_000
            for _ in range(self.config.requests_per_wave):
                request = self._request(state, fund_id, max_credit, room, used)
                if request is None:
                    continue
                borrowers, args, endorsers = request
                room -= args["amount"]
                request_id = first + len(planned)
                planned.append(request_id)
                submits.append(self.sign(borrowers[0], "credit", "submit", **args))
                follow += [self.sign(k, "credit", "endorse", request=request_id) for k in endorsers]
                follow += [
                    self.sign(k, "credit", "sign", request=request_id) for k in borrowers[1:]
                ]
        if not planned:
            return
        self.chunks(submits)
        self.chunks(follow)
        self.block([])
        self.block([], then_in=param(self.state(), "credit", "review_min") + 1)
        self.block([])
        reviews = []
        for request_id in planned:
            record = REQUEST.unwire(REQUESTS.get(self.state(), request_id))
            if record["status"] != "in_review":
                continue
            reviews += [
                self.sign(
                    self.keys[r],
                    "credit",
                    "review",
                    request=request_id,
                    verdict="approve",
                    conclusions_hash=blake2b256(b"approved in the simulation"),
                )
                for r in record["reviewers"]
            ]
        self.chunks(reviews)
        for request_id in planned:
            if loans_api.find_loan(self.state(), request_id) is not None:
                self._decide(request_id)

    def _request(
        self,
        state: ReadContext,
        fund_id: int,
        max_credit: int,
        room: int,
        used: dict[tuple[int, bytes], int],
    ) -> tuple[list[Keypair], dict[str, Any], list[Keypair]] | None:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(5, 3, 2, 1))[0]
        free = [k for k in self.borrowers if (-1, k.public) not in used]
        if len(free) < count:
            return None
        borrowers = rng.sample(free, count)
        for key in borrowers:  # one request per borrower and wave
            used[(-1, key.public)] = 1
        available = [
            trust_api.available(state, fund_id, k.public) - used.get((fund_id, k.public), 0)
            for k in borrowers
        ]
        trust = sum(max(0, a) for a in available)
        wanted = int(self.config.contribution * rng.uniform(0.01, 0.2) * math.sqrt(count))
        amount = min(wanted, trust, max_credit, room)
        if amount < 1000 or min(available) <= 0:
            return None
        pooled = amount * 10_000 // trust + 1  # C3: the same percentage each, rounded up
        for key, brings in zip(borrowers, available, strict=True):
            used[(fund_id, key.public)] = used.get((fund_id, key.public), 0) + (
                brings * pooled // 10_000 + 1
            )
        term_days = rng.choice(TERMS_DAYS)
        installments = rng.choice([i for i in INSTALLMENTS if i <= max(1, term_days // 7)])
        funders = self.funders[fund_id]
        providers = [k.public for k in rng.sample(funders, rng.choice((0, 0, 0, 1, 2)))]
        args = {
            "fund": fund_id,
            "borrowers": [k.public for k in borrowers],
            "amount": amount,
            "purpose": rng.choice(PURPOSE_ORDER),
            "recipient": borrowers[0].public,
            "term": term_days * DAY,
            "installments": installments,
            "what_hash": blake2b256(b"what"),
            "repayment_good_hash": blake2b256(b"good"),
            "repayment_bad_hash": blake2b256(b"bad"),
            "trust_reasons_hash": blake2b256(b"trust"),
            "documents": [],
            "providers": providers,
        }
        endorsers = rng.sample(funders, rng.choice((0, 0, 1, 1, 2, 3)))
        return borrowers, args, endorsers

    def _decide(self, loan_id: int) -> None:
        """Draw the loan's outcome from the latent behaviour; schedule it."""
        state = self.state()
        scored = assess_api.scored(state, loan_id)
        loan = loans_api.find_loan(state, loan_id)
        assert scored is not None and loan is not None
        hidden = sum(self.hidden[b] for b in loan["borrowers"]) / len(loan["borrowers"])
        p = _sigmoid(latent_log_odds(scored["features"]) + hidden)
        self.result.loans.append(loan_id)
        self.result.truth[loan_id] = p
        term = loan["term"]
        if self.rng.random() < p:
            when = loan["start"] + int(term * self.rng.uniform(0.5, 1.0))
            self.events.append((when, loan_id, "settle"))
        else:
            self.events.append((loan["start"] + term + self.config.writeoff_days * DAY, loan_id,
                                "writeoff"))  # fmt: skip

    # ------------------------------------------------------------ outcomes

    def resolve_until(self, until: int) -> None:
        """Carry out the outcomes due before ``until``, a block per day that has some."""
        while True:
            due = sorted(e for e in self.events if e[0] < until)
            if not due:
                return
            day_end = due[0][0] + DAY
            batch = [e for e in due if e[0] < day_end]
            if self.now() < batch[-1][0]:
                self.jump_to(batch[-1][0])
            txs = []
            state = self.state()
            time = self.now()
            for event in batch:
                self.events.remove(event)
                _, loan_id, kind = event
                loan = loans_api.find_loan(state, loan_id)
                assert loan is not None
                if kind == "settle":
                    loans_api.accrue_to(loan, time + 1)
                    owed = loan["interest_due"] + loan["outstanding"]
                    payer = self.keys[loan["recipient"]]
                    txs.append(self.sign(payer, "loans", "settle", loan=loan_id,
                                         max_amount=owed * 2 + 10))  # fmt: skip
                else:
                    txs += [
                        self.sign(self.keys[r], "loans", "vote_writeoff", loan=loan_id)
                        for r in loan["reviewers"]
                    ]
            self.chunks(txs)

    def run(self) -> Simulated:
        config = self.config
        self.setup()
        start = self.now()
        for wave in range(config.waves):
            at = start + wave * config.wave_days * DAY
            self.resolve_until(at)
            if config.coefficients is not None and wave == config.install_wave:
                voters = [*DEV_MEMBERS, *(k for group in self.funders for k in group)]
                self.result.install_height = self.governance(
                    voters, "assess", "set_network_model", coefficients=list(config.coefficients)
                )
            if self.now() < at:
                self.jump_to(at)
            self.wave()
        self.resolve_until(2**62)
        return self.result


def simulate(config: SimConfig = SimConfig(), path: Path | None = None) -> Simulated:
    """Build the simulated chain (in memory, or LevelDB at ``path``); see the module doc."""
    return _Sim(config, path).run()


__all__ = ["LATENT", "LATENT_INTERCEPT", "NAMES", "SimConfig", "Simulated", "simulate"]
