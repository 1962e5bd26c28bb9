"""The trust index: T1 initial value, T2 federation hook, T3 increase, T4 floor at zero."""

from __future__ import annotations

from ledger import codec
from ledger.overlay import MemoryState, StateOverlay, StateReader
from pallets import construct
from pallets.support.context import BlockInfo, CallContext, ReadContext
from pallets.support.wiring import NO_WIRING, Wiring
from pallets.trust import api as trust_api
from pallets.trust.hooks import try_state
from pallets.trust.storage import TRUST
from tests.pallets.credit_helpers import LUCIA, fund_zine
from tests.pallets.helpers import ALICE, TestChain


def _ctx(chain: TestChain) -> CallContext:
    info = BlockInfo(chain.height + 1, chain.time_ms, bytes(32), bytes(32), bytes(32), bytes(32), 0)
    return CallContext(StateOverlay(chain.state()), info, None, None, wiring=construct.WIRING)


def test_t1_initial_trust_is_trust_initial_of_c() -> None:
    chain = fund_zine()
    assert trust_api.trust_of(chain.state(), 0, LUCIA.public) == 100
    assert trust_api.trust_of(chain.state(), 0, ALICE.public) == 100
    assert trust_api.trust_of(chain.state(), 5, ALICE.public) == 0  # no such fund


def test_t2_federated_trust_counts_when_larger() -> None:
    chain = fund_zine()

    def recognized(state: StateReader, fund: int, account: bytes) -> int:
        return 250 if account == LUCIA.public else 50

    wired = ReadContext(chain.state(), wiring=Wiring({trust_api.FEDERATION_SOURCES: (recognized,)}))
    assert trust_api.trust_of(wired, 0, LUCIA.public) == 250
    assert trust_api.trust_of(wired, 0, ALICE.public) == 100
    bare = ReadContext(chain.state(), wiring=NO_WIRING)  # nothing connected: T2 changes nothing
    assert trust_api.trust_of(bare, 0, LUCIA.public) == 100


def test_t3_t4_raise_and_lower_never_below_zero() -> None:
    chain = fund_zine()
    ctx = _ctx(chain)
    trust_api.raise_trust(ctx, 0, LUCIA.public, 33)
    assert trust_api.trust_of(ctx, 0, LUCIA.public) == 133
    trust_api.lower_trust(ctx, 0, LUCIA.public, 500)
    assert trust_api.trust_of(ctx, 0, LUCIA.public) == 0  # stored as 0, not "initial"
    assert TRUST.get(ctx, (0).to_bytes(4, "big") + LUCIA.public) == 0
    assert [e.attrs["rule"] for e in ctx.events] == ["T3", "T4"]
    assert try_state(ctx) == []


def test_i2_a_negative_trust_is_reported() -> None:
    state = MemoryState({TRUST.key((0).to_bytes(4, "big") + LUCIA.public): codec.encode(-1)})
    assert any(p.startswith("I2") for p in try_state(construct.reader(state)))
