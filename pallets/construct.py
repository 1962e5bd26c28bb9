"""The chain's runtime: which pallets it has (in hook order) and how to build it.

Adding a pallet is one line in ``PALLETS`` (and its parameters in
``pallets/support/params.py``). This is the module the node, the RPC
server and genesis import to get the runtime.
"""

from __future__ import annotations

from typing import Final

from ledger.overlay import StateReader
from pallets import (
    assess,
    balances,
    commons,
    credit,
    federation,
    funds,
    governance,
    health,
    loans,
    members,
    payment,
    system,
    trust,
)
from pallets.assess import api as assess_api
from pallets.commons import hooks as commons_hooks
from pallets.credit import api as credit_api
from pallets.executive import invariants
from pallets.executive.executor import Runtime, StateTrie
from pallets.executive.registry import PalletRegistry
from pallets.executive.verify import BatchVerifier
from pallets.federation import agreements, losses
from pallets.funds import api as funds_api
from pallets.governance import allowlist, rounds
from pallets.governance import api as governance_api
from pallets.health import measures
from pallets.loans import api as loans_api
from pallets.members import api as members_api
from pallets.support.context import ReadContext
from pallets.support.declare import GOVERNANCE, Pallet, RuntimeFault
from pallets.support.wiring import Wiring
from pallets.trust import api as trust_api

PALLETS: Final = (
    system.PALLET,
    balances.PALLET,
    payment.PALLET,  # fees, community allowance, dust (P1-P3)
    funds.PALLET,
    trust.PALLET,
    credit.PALLET,
    loans.PALLET,
    federation.PALLET,  # federation of funds (X1-X3)
    assess.PALLET,  # the credit score's models (C5)
    # members and governance (G1-G6)
    members.PALLET,
    governance.PALLET,
    # health and commons (H1-H3, R1-R3)
    health.PALLET,
    commons.PALLET,
)


def _governable(
    pallet: Pallet, function: str, kind: str, check: allowlist.StaticCheck | None = None
) -> allowlist.Governable:
    """An entry of the governance list (G4): a governance-origin call of ``pallet``."""
    for call in pallet.calls:
        if call.name == function and call.origin == GOVERNANCE:
            return (call, kind, check)
    raise RuntimeFault(f"{pallet.name}.{function} is not a governance-origin call")


WIRING: Final = Wiring(
    {
        # F7: open credits follow a lowered rate
        funds_api.RATE_LOWERED: (loans_api.lower_open_rates,),
        # X1: passed federation proposals are carried out by the federation pallet
        funds_api.PROPOSAL_HANDLERS: (
            ("federate", agreements.carry_out_federate),
            ("unfederate", agreements.carry_out_unfederate),
            # C5: a fund's coefficients and minimum score
            ("score_model", assess_api.carry_out_fund_model),
        ),
        # X3: loss shares owed to federated funds are paid before money leaves a fund
        funds_api.OBLIGATIONS: (losses.settle,),
        # T1: only a registered person (G1) has initial trust
        trust_api.PERSONS: (members_api.is_member,),
        # T2: trust recognized from federated funds
        trust_api.FEDERATION_SOURCES: (agreements.recognized_trust,),
        # C6: funds that lend reviewers
        credit_api.LENDER_SOURCES: (agreements.lending_funds,),
        # H2 credit velocity first, then the commons' share of interest (R1)
        loans_api.FLOWS: (measures.record_flow, commons_hooks.share_interest),
        # X3: federated funds take their share of a write-off
        loans_api.WRITE_OFFS: (losses.share_loss,),
        # H3: participation is measured over a bioregion's registered members (G1)
        measures.REGISTERED_PEOPLE: (members_api.members,),
        # G1: membership counts in governance rounds
        members_api.ROUND: (rounds.current_index,),
        # G1 key change: what may stop it (a leaving seat or removal votes, stakes in use,
        # too many cooldowns, a vote this round), then what follows the person (funder
        # seats, trust, credit history, cooldowns)
        members_api.ROTATION_GUARDS: (
            funds_api.seats_blocker,
            trust_api.rotation_blocker,
            credit_api.cooldowns_blocker,
            governance_api.voted_this_round,
        ),
        # T1 and I6: a member named in open stakes stays a person until they end
        members_api.REVOCATION_GUARDS: (trust_api.revocation_blocker,),
        members_api.KEY_ROTATED: (
            funds_api.move_seats,
            trust_api.move_trust,
            loans_api.move_history,
            credit_api.move_cooldowns,
        ),
        # G4: what a proposal may carry; G5: "validator" needs the larger majority
        allowlist.GOVERNABLE: (
            _governable(system.PALLET, "set_param", "parameter", allowlist.check_set_param),
            _governable(system.PALLET, "set_params", "parameter", allowlist.check_set_params),
            _governable(system.PALLET, "add_validator", "validator", allowlist.check_add_validator),
            _governable(system.PALLET, "remove_validator", "validator"),
            _governable(members.PALLET, "add_registrar", "registrar"),
            _governable(members.PALLET, "remove_registrar", "registrar"),
            _governable(health.PALLET, "register_bioregion", "bioregion"),
            _governable(health.PALLET, "set_fund_bioregion", "bioregion"),
            _governable(health.PALLET, "set_oracles", "oracles"),
            _governable(commons.PALLET, "mint", "mint"),
            _governable(assess.PALLET, "set_network_model", "parameter"),
            # F10: a document erased from every node's document store
            _governable(credit.PALLET, "purge_document", "document"),
        ),
    }
)


def registry() -> PalletRegistry:
    return PalletRegistry(PALLETS, wiring=WIRING)


def reader(state: StateReader) -> ReadContext:
    """``state`` with this runtime's wiring: what queries and checks read through."""
    return ReadContext(state, wiring=WIRING)


def check_invariants(state: StateReader) -> list[str]:
    """Every pallet's ``try_state`` on ``state``: [] when I1, I2... all hold."""
    return invariants.check_invariants(registry(), state)


def build_runtime(
    genesis_hash: bytes, trie: StateTrie, *, verifier: BatchVerifier | None = None
) -> Runtime:
    return Runtime(registry(), genesis_hash, trie, verifier=verifier)
