"""A replay test chain that runs through every community pallet with signed extrinsics.

Theory of operation
-------------------
``build_community_chain`` drives a ``node.testing.replay_fixture.ChainBuilder`` (4
validators, the localnet genesis: six dev members of bioregion "localnet",
Alice its registrar, Alice and Bob its oracles, the localnet periods) through
a short story, block by block, the way a community would live it. Nothing is
written to the state except by signed extrinsics and the pallets' hooks:

* two funds form (F1/F2): fund 0 by Alice..Eve, fund 1 by five other
  accounts; both ask to federate with loss sharing and recognized trust, and
  the agreement forms at the end of the consent period (X1);
* Alice, the registrar, registers Lucía, Ana and Ben as members of
  "localnet" (G1): persons, so they have initial trust (T1);
* four governance proposals (G4), voted quadratically in the next round
  (G3; one ballot over budget fails and stays in the chain as a failed
  dispatch), tallied at the round's end and enacted after the delay (G5):
  place fund 0 in "localnet" (health), mint into the commons pool (R3), add a
  fifth validator (G6, which then signs from H+2 on), and a parameter change;
* Lucía, Ana and Ben request a credit from fund 0; reviewers are drawn from
  the chain's seed (C6), approve it, the loan is disbursed and repaid in full
  (L4, trust raised by T3);
* the oracles observe bioregion "localnet" during epoch 0; the first block of
  epoch 1 publishes the median and its score (H2/H3) and the commons pool is
  redistributed to fund 0, the only eligible fund (R2);
* a second credit, partly repaid, goes unpaid past the default period and its
  reviewers write it off (L6); fund 1 bears its share of the loss (X3).

The script checks, as it goes, that each step did what it is there for
(every receipt successful but the one meant to fail; the events and states
each landmark stands for), so a change in a pallet's rules breaks the build
with a message naming the step rather than leaving a quieter chain behind.
Time passes by choosing when the next block comes (``ChainBuilder`` stamps
the commit), so review periods, rounds, epochs and the default period cost
one empty block each. Keys and accounts come from fixed seeds: two builds
give byte-identical chains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ledger.crypto import Keypair, blake2b256
from ledger.overlay import StateReader
from ledger.types import Event
from node.testing.replay_fixture import BuiltBlock, ChainBuilder, validator_key
from pallets.credit.lifecycle import DRAW_DELAY
from pallets.credit.storage import NEXT_REQUEST, REQUEST, REQUESTS
from pallets.federation.storage import LOSSES, TRUST
from pallets.governance.allowlist import encode_call
from pallets.governance.storage import NEXT_ID
from pallets.loans import api as loans_api
from pallets.support.params import param

VALIDATORS: Final = 4
# Builder accounts 0-4 found fund 1; 5-7 are the borrowers Lucía, Ana and Ben.
ACCOUNTS: Final = 8
NEWCOMER_INDEX: Final = VALIDATORS  # validator_key(4): the validator governance adds
NEWCOMER_POWER: Final = 10
CONTRIBUTION: Final = 1000
CREDIT: Final = 300
MINTED: Final = 1_000_000
VOICE_CREDITS: Final = 144
DEV: Final = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
# The oracles' observations of "localnet" in epoch 0 and their medians (two
# values each: the floor of the pair's mean, H3).
ALICE_SEES: Final = (6000, 4000, 5000, 7000, 3000)
BOB_SEES: Final = (4000, 5000, 5000, 6001, 2000)


class FixtureError(RuntimeError):
    """A step of the script did not do what it is there for (a pallet's rules changed?)."""


@dataclass(slots=True)
class CommunityChain:
    """The built chain and where its landmarks are (name -> height)."""

    builder: ChainBuilder
    landmarks: dict[str, int] = field(default_factory=dict)
    newcomer: Keypair = field(default_factory=lambda: validator_key(NEWCOMER_INDEX))

    def built_at(self, height: int) -> BuiltBlock:
        return self.builder.built[height - 1]


def medians() -> list[int]:
    """What epoch 0 publishes for "localnet": each component's median of the two."""
    return [(a + b) // 2 for a, b in zip(ALICE_SEES, BOB_SEES, strict=True)]


class _Script:
    def __init__(self, builder: ChainBuilder) -> None:
        self.b = builder
        self.out = CommunityChain(builder)
        self.dev = {n: Keypair.dev(n) for n in DEV}
        self.fund1 = builder.accounts[0:5]
        self.lucia, self.ana, self.ben = builder.accounts[5:8]
        every = [*self.dev.values(), *builder.accounts]
        self.by_public = {k.public: k for k in every}
        self.genesis_s = builder.genesis.genesis_time
        self.round = self.param("governance", "round_length")
        # set by the steps, in order
        self.proposals = range(0)
        self.federated_at = 0
        self.first_credit = self.second_credit = 0
        self.reviewers: list[Keypair] = []

    # ------------------------------------------------------------ plumbing

    def state(self) -> StateReader:
        chain = self.b.chain
        state: StateReader = chain.runtime.state(chain.state_root)
        return state

    def param(self, section: str, name: str) -> int:
        return param(self.state(), section, name)

    def now(self) -> int:
        """Seconds since genesis of the block that comes next."""
        return self.b.next_block_time_ms // 1000 - self.genesis_s

    def sign(self, key: Keypair, pallet: str, function: str, **args: Any) -> bytes:
        return self.b.sign(key, pallet, function, args)

    def block(
        self, extrinsics: Sequence[bytes] = (), *, then: int = 1, failing: Sequence[int] = ()
    ) -> BuiltBlock:
        """The next block; the one after comes ``then`` seconds later.

        Every extrinsic must succeed except those at the indices ``failing``."""
        built = self.b.add_block(extrinsics, next_in_ms=then * 1000)
        height = built.block.header.height
        for index, receipt in enumerate(built.receipts):
            if receipt.success == (index in failing):
                why = receipt.error.message if receipt.error is not None else "it succeeded"
                raise FixtureError(f"height {height}: extrinsic {index}: {why}")
        return built

    def idle_until_reviews(self, request_id: int) -> None:
        """Idle until the request's review window opens (review_min after validity, C8)."""
        valid_at = self.request(request_id)["valid_at"] - self.genesis_s
        self.idle_until(valid_at + self.param("credit", "review_min"))

    def idle_until(self, second: int) -> None:
        """An empty block, if needed, so that the next block comes at ``second`` after genesis."""
        now = self.now()
        if second < now:
            raise FixtureError(f"the script wants second {second} but it is already {now}")
        if second > now:
            self.block(then=second - now)

    def mark(self, name: str, built: BuiltBlock, *events: str) -> None:
        """Record a landmark; its block must carry each ``pallet.Event`` named."""
        height = built.block.header.height
        have = {f"{e.pallet}.{e.name}" for e in all_events(built)}
        missing = [e for e in events if e not in have]
        if missing:
            raise FixtureError(f"{name} (height {height}): no {', '.join(missing)}")
        self.out.landmarks[name] = height

    def request(self, request_id: int) -> dict[str, Any]:
        raw = REQUESTS.get(self.state(), request_id)
        if raw is None:
            raise FixtureError(f"credit request {request_id} is not stored")
        record: dict[str, Any] = REQUEST.unwire(raw)
        return record

    def owed_at_next_block(self, loan_id: int) -> tuple[int, int]:
        loan = loans_api.find_loan(self.state(), loan_id)
        if loan is None:
            raise FixtureError(f"loan {loan_id} is not stored")
        loans_api.accrue_to(loan, self.b.next_block_time_ms // 1000)
        return loan["interest_due"], loan["outstanding"]

    # ------------------------------------------------------------ steps

    def credit_request(self, *, term: int, installments: int) -> list[bytes]:
        borrowers = [self.lucia, self.ana, self.ben]
        args = {
            "fund": 0,
            "borrowers": [k.public for k in borrowers],
            "amount": CREDIT,
            "purpose": "creative_project",
            "recipient": self.lucia.public,
            "term": term,
            "installments": installments,
            "what_hash": blake2b256(b"a wood-fired oven for the community bakery"),
            "repayment_good_hash": blake2b256(b"bread sales at the weekly market"),
            "repayment_bad_hash": blake2b256(b"sales at the monthly market and savings"),
            "trust_reasons_hash": blake2b256(b"the three have baked for the neighbourhood"),
            "documents": [blake2b256(b"oven quote.pdf")],
            "providers": [],
        }
        return [
            self.sign(self.lucia, "credit", "submit", **args),
            *(self.sign(k, "credit", "sign", request=self.next_request()) for k in borrowers[1:]),
        ]

    def next_request(self) -> int:
        value: int = NEXT_REQUEST.get(self.state())
        return value

    def drawn(self, request_id: int) -> list[Keypair]:
        """Empty blocks until the draw (``DRAW_DELAY`` blocks after validity); the reviewers."""
        draw_height = self.request(request_id)["valid_height"] + DRAW_DELAY
        while self.b.chain.height < draw_height:
            self.block()
        record = self.request(request_id)
        if record["status"] != "in_review":
            raise FixtureError(f"credit {request_id} is {record['status']} after its draw")
        self.mark(f"draw_{request_id}", self.out.built_at(draw_height), "credit.ReviewersDrawn")
        return [self.by_public[r] for r in record["reviewers"]]

    def approvals(self, request_id: int, reviewers: list[Keypair]) -> list[bytes]:
        conclusions = blake2b256(b"we visited the bakery and read the budget")
        return [
            self.sign(
                k,
                "credit",
                "review",
                request=request_id,
                verdict="approve",
                conclusions_hash=conclusions,
            )
            for k in reviewers
        ]

    def propose(self, key: Keypair, pallet: str, function: str, **args: Any) -> bytes:
        return self.sign(key, "governance", "propose", call=encode_call(pallet, function, args))

    # ------------------------------------------------------------ the story

    def run(self) -> CommunityChain:
        self.found()
        self.vote()
        self.tally_and_enact()
        self.observe_epoch_end()
        self.write_off()
        # one more block: its last_commit covers the write-off block's commit
        b = self.b
        self.block([b.transfer(b.accounts[0], b.accounts[1].public, 1)])
        return self.out

    def found(self) -> None:
        """Round 0: two funds, a member, four proposals, a federation, a credit request."""
        alice, bob, charlie, dave, eve = (self.dev[n] for n in DEV[:5])
        fund = {
            "scope": "bakers and seed savers",
            "bioregion": None,
            "policy_hash": blake2b256(b"policy"),
            "conduct_hash": blake2b256(b"conduct"),
            "contribution": CONTRIBUTION,
            "rate_bps": 500,
            "purposes": ["creative_project", "productive_enterprise"],
        }
        first: int = NEXT_ID.get(self.state())
        self.proposals = range(first, first + 4)
        built = self.block(
            [
                self.sign(alice, "funds", "create", name="Commons Bakery", **fund),
                self.sign(self.fund1[0], "funds", "create", name="Seed Library", **fund),
                *(
                    self.sign(
                        alice,
                        "members",
                        "register",
                        member=person.public,
                        bioregion="localnet",
                        attestation=blake2b256(name + b"'s papers"),
                    )
                    for person, name in (
                        (self.lucia, b"lucia"),
                        (self.ana, b"ana"),
                        (self.ben, b"ben"),
                    )
                ),
                self.propose(alice, "health", "set_fund_bioregion", fund=0, bioregion="localnet"),
                self.propose(bob, "commons", "mint", fund=None, amount=MINTED),
                self.propose(
                    charlie,
                    "system",
                    "add_validator",
                    validator=self.out.newcomer.public,
                    power=NEWCOMER_POWER,
                ),
                self.propose(
                    dave,
                    "system",
                    "set_param",
                    section="governance",
                    name="voice_credits",
                    value=VOICE_CREDITS,
                ),
            ]
        )
        self.mark("proposals", built, "members.MemberRegistered", "governance.Proposed")

        # both funds fill up and ask to federate; the first credit request
        joins = [self.sign(k, "funds", "join", fund=0) for k in (bob, charlie, dave, eve)]
        joins += [self.sign(k, "funds", "join", fund=1) for k in self.fund1[1:]]
        federate = [
            self.sign(
                key,
                "federation",
                "propose",
                fund=f,
                partner=1 - f,
                options=LOSSES | TRUST,
                reason_hash=blake2b256(b"neighbours"),
            )
            for f, key in ((0, alice), (1, self.fund1[0]))
        ]
        self.federated_at = self.now()
        self.first_credit = self.next_request()
        built = self.block([*joins, *federate, *self.credit_request(term=90, installments=3)])
        self.mark("funds_active", built, "funds.FundActivated", "credit.RequestValid")
        self.reviewers = self.drawn(self.first_credit)
        # epoch 0: both oracles observe "localnet"; then idle to the next round
        observe = [
            self.sign(key, "health", "observe", bioregion="localnet", epoch=0, components=list(c))
            for key, c in ((alice, ALICE_SEES), (self.dev["bob"], BOB_SEES))
        ]
        self.block(observe, then=self.round - self.now())

    def vote(self) -> None:
        """Round 1: quadratic ballots (one over budget: a failed dispatch); credit approved."""
        dave, eve, ferdie = (self.dev[n] for n in DEV[3:])
        placed, minted, added, _ = self.proposals
        votes = [
            *(self.sign(dave, "governance", "vote", proposal=p, votes=3) for p in self.proposals),
            *(self.sign(eve, "governance", "vote", proposal=p, votes=2) for p in self.proposals),
            self.sign(self.lucia, "governance", "vote", proposal=added, votes=5),
            self.sign(ferdie, "governance", "vote", proposal=minted, votes=-1),
            self.sign(self.lucia, "governance", "vote", proposal=placed, votes=11),
        ]
        built = self.block(votes, failing=[len(votes) - 1])
        self.mark("votes", built, "governance.Voted")
        self.idle_until_reviews(self.first_credit)
        built = self.block(self.approvals(self.first_credit, self.reviewers))
        self.mark("disbursed", built, "loans.Disbursed")
        # the federation agreement forms at the end of the consent period
        self.idle_until(self.federated_at + self.param("funds", "consent_period"))
        self.mark("agreement", self.block(), "federation.AgreementFormed")

    def tally_and_enact(self) -> None:
        """Round 2 starts: the tally; then the enactment; the new validator signs at H+2."""
        self.idle_until(2 * self.round)
        interest, principal = self.owed_at_next_block(self.first_credit)
        repay = self.sign(
            self.lucia, "loans", "repay", loan=self.first_credit, amount=interest + principal
        )
        delay = self.param("governance", "enactment_delay")
        built = self.block([repay], then=delay)
        self.mark("tally", built, "governance.Tallied", "governance.DepositReturned")
        self.mark("repaid", built, "loans.LoanClosedRepaid")
        built = self.block()  # hooks only
        self.mark(
            "enactment",
            built,
            "governance.Enacted",
            "health.FundBioregionSet",
            "commons.CreditCreated",
            "system.ValidatorAdded",
            "system.ParamChanged",
        )
        self.second_credit = self.next_request()
        self.block(self.credit_request(term=60, installments=1))
        built = self.block()
        if self.out.newcomer.public not in {s.validator for s in built.commit.signatures}:
            raise FixtureError("the validator added by governance did not sign at H+2")
        self.mark("new_set_signs", built)
        self.reviewers = self.drawn(self.second_credit)

    def observe_epoch_end(self) -> None:
        """Epoch 1 begins: epoch 0's median is published and the pool redistributed."""
        self.idle_until(self.param("system", "epoch_length"))
        built = self.block()
        self.mark("epoch_end", built, "health.HealthPublished", "commons.Redistributed")

    def write_off(self) -> None:
        """The second credit: approved, partly repaid, unpaid past the default period,
        written off by its reviewers; fund 1 bears its share (X3)."""
        second = self.second_credit
        self.idle_until_reviews(second)
        built = self.block(self.approvals(second, self.reviewers))
        self.mark("second_disbursed", built, "loans.Disbursed")
        interest, _ = self.owed_at_next_block(second)
        built = self.block(
            [self.sign(self.lucia, "loans", "repay", loan=second, amount=interest + 1)]
        )
        self.mark("partial_repayment", built, "loans.Repaid")
        loan = loans_api.find_loan(self.state(), second)
        if loan is None:
            raise FixtureError(f"loan {second} is not stored")
        due = loan["start"] + loan["term"] - self.genesis_s  # one installment, at the term
        self.idle_until(due + self.param("loans", "default_after"))
        writeoff = [self.sign(k, "loans", "vote_writeoff", loan=second) for k in self.reviewers]
        built = self.block(writeoff)
        self.mark("writeoff", built, "loans.WrittenOff", "federation.LossShared")


def all_events(built: BuiltBlock) -> list[Event]:
    """Every event of the block: the hooks' first, then each receipt's (to look events
    up by name; the order of execution interleaves them)."""
    return [*built.events, *(e for r in built.receipts for e in r.events)]


def build_community_chain(path: Path | None = None) -> CommunityChain:
    """Build the community chain (in memory, or in a LevelDB at ``path``)."""
    newcomer = validator_key(NEWCOMER_INDEX)
    builder = ChainBuilder(
        validators=VALIDATORS, accounts=ACCOUNTS, path=path, extra_keys=[newcomer]
    )
    return _Script(builder).run()
