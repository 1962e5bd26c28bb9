"""Regression tests for problems found reviewing federation, members, governance,
health and commons (each test names the finding; every block checks I1-I5).

* a gift to the governance deposit account must not break the governance books;
* a governance change of ``system.epoch_length`` applies from the current
  epoch: epochs neither go back (which left oracle observations behind the
  open epoch and stalled every epoch hook) nor jump ahead;
* the commons running totals saturate instead of overflowing u64 (an
  overflow was a RuntimeFault in a repayment or in the epoch hook);
* closing an epoch rewrites no participation mark that did not change.
"""

from __future__ import annotations

from ledger.overlay import StateOverlay
from pallets import construct
from pallets.balances.currency import AMOUNT_MAX
from pallets.balances.storage import FREE
from pallets.commons import api as commons_api
from pallets.commons.hooks import add_to_totals
from pallets.commons.storage import TOTAL, TOTALS
from pallets.governance import api as gov_api
from pallets.governance.allowlist import encode_call
from pallets.governance.hooks import try_state as governance_try_state
from pallets.health import api as health_api
from pallets.health.storage import NONCE_MARKS, OPEN_EPOCH
from pallets.support.context import BlockInfo, CallContext
from pallets.system.storage import EPOCH, GENESIS_TIME
from tests.pallets.health_helpers import EPOCH as LOCALNET_EPOCH
from tests.pallets.health_helpers import chain as health_chain
from tests.pallets.health_helpers import govern_ok, observe, to_epoch
from tests.pallets.helpers import ALICE, BOB, TestChain

DEPOSIT = 10_000  # governance.proposal_deposit, localnet

# ---------------------------------------------------------------- deposit account gift


def test_a_gift_to_the_deposit_account_keeps_the_governance_books() -> None:
    """Anyone may transfer to the deposit module account: the books must still hold."""
    chain = TestChain()
    (receipt,) = chain.execute([chain.transfer(BOB, gov_api.deposit_account(), 7)]).receipts
    assert receipt.success, receipt.error  # TestChain checked every invariant after it
    call = encode_call(
        "system", "set_param", {"section": "funds", "name": "min_funders", "value": 4}
    )
    (receipt,) = chain.execute(
        [chain.sign(ALICE, "governance", "propose", {"call": call})]
    ).receipts
    assert receipt.success, receipt.error
    balance = FREE.get(chain.state(), gov_api.deposit_account())
    assert balance == DEPOSIT + 7
    # A shortfall is still caught: the account must cover every deposit held.
    overlay = StateOverlay(chain.state())
    FREE.put(overlay, gov_api.deposit_account(), DEPOSIT - 1)
    assert any("deposit account holds" in p for p in governance_try_state(overlay))


# ---------------------------------------------------------------- epoch length changes


def _start(chain: TestChain) -> int:
    start: int = GENESIS_TIME.get(chain.state())
    return start


def _epoch(chain: TestChain) -> int:
    value: int = EPOCH.get(chain.state())
    return value


def test_a_longer_epoch_length_applies_from_the_current_epoch() -> None:
    chain = health_chain()
    to_epoch(chain, 3)
    govern_ok(chain, "system", "set_param", section="system", name="epoch_length", value=120)
    assert _epoch(chain) == 3  # the epoch index never goes back
    # The oracle observes the open epoch the chain reports (what the feeder reads).
    open_epoch: int = OPEN_EPOCH.get(chain.state())
    assert open_epoch == 3
    receipt = observe(chain, ALICE, [5000] * 5, epoch=open_epoch)
    assert receipt.success, receipt.error
    # Epoch 3 began at start + 180 and now lasts 120 s: epoch 4 begins at start + 300.
    chain.execute([], seconds=_start(chain) + 299 - chain.time_ms // 1000)
    assert _epoch(chain) == 3
    chain.execute([], seconds=1)
    assert _epoch(chain) == 4
    assert health_api.health_score(chain.state(), "localnet") == 5000  # epoch 3 was closed


def test_a_shorter_epoch_length_skips_no_epoch() -> None:
    chain = health_chain()
    to_epoch(chain, 3)
    govern_ok(chain, "system", "set_param", section="system", name="epoch_length", value=30)
    assert _epoch(chain) == 3
    # Epoch 3 began at start + 180 and now lasts 30 s: epoch 4 begins at start + 210.
    chain.execute([], seconds=_start(chain) + 209 - chain.time_ms // 1000)
    assert _epoch(chain) == 3
    chain.execute([], seconds=1)
    assert _epoch(chain) == 4
    chain.execute([], seconds=30)
    assert _epoch(chain) == 5


def test_an_unchanged_epoch_length_keeps_the_genesis_grid() -> None:
    chain = health_chain()
    to_epoch(chain, 2)
    govern_ok(
        chain, "system", "set_param", section="system", name="epoch_length", value=LOCALNET_EPOCH
    )
    to_epoch(chain, 4)  # the helper computes epochs from genesis: still aligned
    assert _epoch(chain) == 4


# ---------------------------------------------------------------- commons totals


def test_commons_running_totals_saturate_instead_of_overflowing() -> None:
    chain = TestChain()
    overlay = StateOverlay(chain.state())
    near = AMOUNT_MAX - 10
    TOTAL.put(overlay, TOTALS.wire({"minted": 5, "from_interest": near, "granted": near}))
    info = BlockInfo(1, chain.time_ms + 1000, bytes(32), bytes(32), bytes(32), bytes(32), 0)
    ctx = CallContext(overlay, info, None, None, wiring=construct.WIRING)
    add_to_totals(ctx, interest=100, granted=11)
    assert commons_api.totals(overlay) == {
        "minted": 5,
        "from_interest": AMOUNT_MAX,
        "granted": AMOUNT_MAX,
    }


# ---------------------------------------------------------------- participation marks


def test_an_epoch_without_activity_rewrites_no_participation_mark() -> None:
    chain = health_chain()
    to_epoch(chain, 1, [chain.transfer(BOB, ALICE.public, 1)])  # bob signed in epoch 1
    to_epoch(chain, 2)  # epoch 1 closed: bob's mark is his nonce
    marks = [k for k, _ in chain.state().iterate(NONCE_MARKS.prefix)]
    assert marks  # the members who signed have marks
    start: int = GENESIS_TIME.get(chain.state())
    env_seconds = start + 3 * LOCALNET_EPOCH - chain.time_ms // 1000
    result = chain.execute([], seconds=env_seconds)
    assert _epoch(chain) == 3
    assert not [k for k in result.changes if k.startswith(NONCE_MARKS.prefix)]
