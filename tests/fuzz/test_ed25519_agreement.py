"""Every signature check of the node gives the same verdict on Ed25519's edge cases.

A node checks a signature in four ways: ``ledger.crypto.verify`` (votes,
proposals, handshake proofs, the mempool without a shared verifier), and
``pallets.executive.verify.BatchVerifier`` inline, on worker threads, and with
its memory of recent successes (blocks, the mempool of a running node). If
one of them accepted a signature another refuses, a block could be valid on
one node and invalid on the next, and the chain would split. spec/wire.md §2
asks for libsodium's strict rules: canonical S, no small-order R or A.

The edge cases are built by hand (S + L, each small-order point as R or A,
non-canonical encodings of points) and by hypothesis (random tampering);
every verifier must agree with ``verify``, and on the edge cases refuse.
The last tests take them through a whole block and the pool's validation.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair, verify
from ledger.types import Call, Extrinsic
from pallets.executive.executor import InvalidBlock
from pallets.executive.validate import BAD_SIGNATURE, InvalidExtrinsic, validate_extrinsic
from pallets.executive.verify import BatchVerifier
from tests.fuzz.harness import EXAMPLES
from tests.fuzz.strategies import SMALL_ORDER_ED25519
from tests.pallets.helpers import BOB, TestChain

GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493  # L
FIELD_PRIME = 2**255 - 19
KEY = Keypair.dev("alice")
MESSAGE = b"credichain edge case"
SIGNATURE = KEY.sign(MESSAGE)


def with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


def s_of(signature: bytes) -> int:
    return int.from_bytes(signature[32:], "little")


def edge_cases() -> list[tuple[str, bytes, bytes]]:
    """(what, public key, signature) over MESSAGE; every one must be refused."""
    cases = [
        ("S + L (malleated copy)", KEY.public, with_s(SIGNATURE, s_of(SIGNATURE) + GROUP_ORDER)),
        ("S + 2L", KEY.public, with_s(SIGNATURE, s_of(SIGNATURE) + 2 * GROUP_ORDER)),
        ("S = L", KEY.public, with_s(SIGNATURE, GROUP_ORDER)),
        ("S with the top bits set", KEY.public, with_s(SIGNATURE, 2**256 - 1)),
        # A non-canonical encoding of alice's key: y + p still fits in 255 bits
        # only for tiny y, so use the identity's non-canonical form instead.
        (
            "A = y p+1 (identity, non-canonical)",
            (FIELD_PRIME + 1).to_bytes(32, "little"),
            bytes(64),
        ),
    ]
    for index, point in enumerate(SMALL_ORDER_ED25519):
        # R = A = a small-order point with S = 0 satisfies [S]B = R + [k]A for every
        # message when A is the identity: the classic forgery of lax verifiers.
        cases.append((f"small-order A #{index}, R = A, S = 0", point, point + bytes(32)))
        cases.append((f"small-order R #{index}", KEY.public, point + SIGNATURE[32:]))
    return cases


CASES = edge_cases()


def verdicts(items: list[tuple[bytes, bytes, bytes]]) -> dict[str, list[bool]]:
    """The verdict of every way the node checks signatures, item by item."""
    single = [verify(*item) for item in items]
    with BatchVerifier(1) as inline, BatchVerifier(2, min_batch=1) as threaded:
        remembering = BatchVerifier(1, remember=1024)
        remembering.verify_many([(KEY.public, MESSAGE, SIGNATURE)])  # a success in memory
        return {
            "verify": single,
            "batch inline": inline.verify_many(items),
            "batch on 2 threads": threaded.verify_many(items),
            "one by one": [inline.verify_one(*item) for item in items],
            "remembering": remembering.verify_many(items),
        }


def test_the_honest_signature_verifies_everywhere() -> None:
    found = verdicts([(KEY.public, MESSAGE, SIGNATURE)])
    assert all(v == [True] for v in found.values()), found


@pytest.mark.parametrize(("what", "public", "signature"), CASES, ids=[c[0] for c in CASES])
def test_edge_case_is_refused_by_every_verifier(what: str, public: bytes, signature: bytes) -> None:
    # Mixed into a batch with honest items, as in a block: position must not matter.
    items = [(KEY.public, MESSAGE, SIGNATURE), (public, MESSAGE, signature)] * 2
    found = verdicts(items)
    assert all(v == [True, False, True, False] for v in found.values()), (what, found)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([KEY.public, *SMALL_ORDER_ED25519])
            | st.binary(min_size=32, max_size=32),
            st.integers(0, 63),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_tampered_signatures_get_one_verdict_from_every_verifier(
    tampering: list[tuple[bytes, int, int]],
) -> None:
    items = []
    for public, position, xor in tampering:
        signature = bytearray(SIGNATURE)
        signature[position] ^= xor
        items.append((public, MESSAGE, bytes(signature)))
    found = verdicts(items)
    assert all(v == found["verify"] for v in found.values()), found


# ---------------------------------------------------------------- whole paths


def malleated_transfer(chain: TestChain) -> tuple[bytes, bytes]:
    honest = Extrinsic.decode(chain.transfer(KEY, BOB.public, 5))
    bad = Extrinsic(
        honest.signer,
        honest.nonce,
        honest.valid_until,
        honest.call,
        with_s(honest.signature, s_of(honest.signature) + GROUP_ORDER),
    )
    return honest.encode(), bad.encode()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_block_with_a_malleated_signature_is_invalid_on_every_node(threads: int) -> None:
    chain = TestChain(threads=threads)
    honest, bad = malleated_transfer(chain)
    with pytest.raises(InvalidBlock, match="extrinsic 0: bad signature"):
        chain.runtime.execute(chain.root, chain.next_env(), [bad])
    with pytest.raises(InvalidExtrinsic) as refused:
        validate_extrinsic(bad, chain.state(), chain.runtime.rules, height=1, max_future_nonce=4)
    assert refused.value.kind == BAD_SIGNATURE
    chain.execute([honest])  # the honest twin is fine (and checks the invariants)


def test_an_extrinsic_signed_by_a_small_order_key_is_refused() -> None:
    chain = TestChain()
    for point in SMALL_ORDER_ED25519:
        forged = Extrinsic(
            point, 0, 100, Call("system", "remark", {"text": "x"}), point + bytes(32)
        )
        with pytest.raises(InvalidExtrinsic) as refused:
            validate_extrinsic(forged.encode(), chain.state(), chain.runtime.rules, height=1)
        assert refused.value.kind == BAD_SIGNATURE
