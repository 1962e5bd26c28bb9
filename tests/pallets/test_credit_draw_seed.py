"""C6 (issue 18): the draw's seed is the draw block's VRF output hashed with the request id,
and a request withdrawn after its draw cannot be re-rolled (``resubmit_cooldown``)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import blake2b256
from pallets.credit.draw import DRAW_SEED_DOMAIN, draw_reviewers, draw_seed
from pallets.support.params import param
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    FUNDERS,
    LUCIA,
    fund_zine,
    ok,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import TestChain, assert_noop

# ---------------------------------------------------------------- the seed


def test_draw_seed_is_the_documented_bytes() -> None:
    output = bytes(range(64))
    assert DRAW_SEED_DOMAIN == b"credichain/draw-seed/1"
    assert draw_seed(output, 258) == blake2b256(
        b"credichain/draw-seed/1" + output + b"\x00\x00\x00\x00\x00\x00\x01\x02"
    )
    with pytest.raises(ValueError, match="64-byte"):
        draw_seed(bytes(32), 0)
    with pytest.raises(ValueError, match="u64"):
        draw_seed(output, 2**64)


def test_the_stored_seed_is_the_draw_blocks_vrf_output_with_the_request_id() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    # submit_valid's last block is the draw block (valid height + 2)
    (draw,) = request(chain, request_id)["draws"]
    height, seed = draw[0], draw[1]
    assert height == chain.height
    assert seed == draw_seed(chain.vrf_output, request_id)


def _two_valid_in_one_block(chain: TestChain) -> tuple[int, int]:
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA], 300))
    # Ana's co-signature makes request 0 valid in the block where Ben's request 1 is
    # submitted (and valid at once): both are drawn in one later block.
    result = chain.execute(
        [
            chain.sign(ANA, "credit", "sign", {"request": 0}),
            chain.sign(BEN, "credit", "submit", request_args([BEN], 200)),
        ]
    )
    assert all(r.success for r in result.receipts), result.receipts
    wait(chain, 1)
    wait(chain, 1)
    return 0, 1


def test_two_requests_valid_in_one_block_get_their_own_seeds() -> None:
    chain = fund_zine(trust_initial=2000)
    first, second = _two_valid_in_one_block(chain)
    a, b = request(chain, first), request(chain, second)
    assert a["valid_height"] == b["valid_height"]
    ((height_a, seed_a, keep_a, _, panel_a, eligible_a),) = a["draws"]
    ((height_b, seed_b, keep_b, _, panel_b, eligible_b),) = b["draws"]
    assert height_a == height_b == chain.height  # one draw block ...
    assert seed_a != seed_b  # ... two seeds
    assert seed_a == draw_seed(chain.vrf_output, first)
    assert seed_b == draw_seed(chain.vrf_output, second)
    assert draw_reviewers(seed_a, [(x, t) for x, t in eligible_a], 300, 3, keep_a) == panel_a
    assert draw_reviewers(seed_b, [(x, t) for x, t in eligible_b], 200, 3, keep_b) == panel_b
    assert a["status"] == b["status"] == "in_review"


def test_panels_of_requests_drawn_in_one_block_are_independent() -> None:
    """Over 3 000 block outputs, two requests' panels coincide as often as two independent
    draws do (1 in C(9, 3) = 84), not always as when the seed lacked the request id."""
    accounts = [blake2b256(bytes([i])) for i in range(9)]
    candidates = [(a, 100) for a in accounts]
    trials, same, with_first = 3000, 0, 0
    beside_first: Counter[bytes] = Counter()  # request 1's reviewers when funder 0 is on 0's
    for i in range(trials):
        output = blake2b256(b"block" + i.to_bytes(4, "big")) * 2  # a 64-byte stand-in
        panel_0 = draw_reviewers(draw_seed(output, 0), candidates, 300, 3)
        panel_1 = draw_reviewers(draw_seed(output, 1), candidates, 300, 3)
        assert panel_0 is not None and panel_1 is not None
        same += set(panel_0) == set(panel_1)
        if accounts[0] in panel_0:
            with_first += 1
            beside_first.update(panel_1)
    expected = trials / 84  # about 36
    assert expected / 2 < same < expected * 2, same
    # given that funder 0 sits on request 0's panel, request 1's panel still holds
    # each funder (funder 0 too) about 1/3 of the time, within 20%
    assert set(beside_first) == set(accounts)
    third = with_first / 3
    assert all(abs(n - third) < 0.2 * third for n in beside_first.values()), beside_first


# ---------------------------------------------------------------- resubmit_cooldown


def test_resubmit_cooldown_defaults_to_review_max() -> None:
    from pallets.support.params import defaults

    assert defaults()["credit"]["resubmit_cooldown"] == defaults()["credit"]["review_max"]
    chain = fund_zine()  # a localnet genesis
    state = chain.state()
    assert param(state, "credit", "resubmit_cooldown") == param(state, "credit", "review_max")


def test_a_request_withdrawn_after_its_draw_cannot_be_resubmitted_during_the_cooldown() -> None:
    chain = fund_zine(trust_initial=2000)
    withdrawn = submit_valid(chain, [LUCIA, ANA, BEN])
    assert request(chain, withdrawn)["draws"]
    ok(chain, LUCIA, "credit", "withdraw", request=withdrawn)
    cooldown = param(chain.state(), "credit", "resubmit_cooldown")
    withdrawn_at = chain.time_ms // 1000
    # the same borrowers, or any one of them with others, cannot submit to this fund
    for submitter, borrowers in (
        (LUCIA, [LUCIA, ANA, BEN]),
        (BEN, [BEN]),
        (ANA, [FUNDERS[0], ANA]),
    ):
        raw = chain.sign(submitter, "credit", "submit", request_args(borrowers))
        receipt = assert_noop(chain, submitter, raw, "ResubmitCooldown", "C6")
        assert receipt.error is not None and "resubmit_cooldown" in receipt.error.message
        assert str(withdrawn_at + cooldown) in receipt.error.message
    # a funder who was not a borrower is free to ask
    ok(chain, FUNDERS[1], "credit", "submit", **request_args([FUNDERS[1]], 100))
    # one second before the end: still refused; at the end: accepted
    wait(chain, withdrawn_at + cooldown - 1 - chain.time_ms // 1000 - 1)
    raw = chain.sign(LUCIA, "credit", "submit", request_args([LUCIA, ANA, BEN]))
    assert_noop(chain, LUCIA, raw, "ResubmitCooldown", "C6")
    assert chain.time_ms // 1000 == withdrawn_at + cooldown - 1
    again = submit_valid(chain, [LUCIA, ANA, BEN])
    assert request(chain, again)["status"] == "in_review"


def test_a_request_withdrawn_before_its_draw_starts_no_cooldown() -> None:
    chain = fund_zine(trust_initial=2000)
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA, BEN]))
    ok(chain, LUCIA, "credit", "withdraw", request=0)  # still awaiting signatures
    assert request(chain, 0)["draws"] == []
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA, BEN]))


# ---------------------------------------------------------------- the documented recipe


def _documented_recipe() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "credit.md").read_text()
    match = re.search(r"<!-- recipe: draw -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/credit.md lost its draw recipe"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "docs/credit.md", "exec"), namespace)
    return namespace


def test_the_recipe_in_docs_credit_md_gives_the_chains_seeds_and_panels() -> None:
    recipe = _documented_recipe()
    for i in range(300):
        output = blake2b256(b"output" + i.to_bytes(4, "big")) * 2
        request_id = i * 7919
        seed = draw_seed(output, request_id)
        assert recipe["draw_seed"](output, request_id) == seed
        n = 3 + i % 12
        eligible = [(blake2b256(bytes([i % 256, j])), 50 + (i * j) % 200) for j in range(n)]
        keep = [eligible[0][0]] if i % 5 == 0 else []
        amount, minimum = 100 + (i * 37) % 900, 1 + i % 4
        expected = draw_reviewers(seed, eligible, amount, minimum, keep)
        assert recipe["draw"](seed, eligible, amount, minimum, keep) == expected


def test_a_chain_draw_is_rerun_from_the_page() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    record = request(chain, request_id)
    ((_height, seed, keep, _excluded, panel, eligible),) = record["draws"]
    recipe = _documented_recipe()
    assert recipe["draw_seed"](chain.vrf_output, request_id) == seed
    minimum = param(chain.state(), "credit", "min_reviewers")
    pairs = [(a, t) for a, t in eligible]
    assert recipe["draw"](seed, pairs, record["amount"], minimum, keep) == panel
