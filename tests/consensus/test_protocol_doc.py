"""docs/protocol/consensus.md's and docs/PROTOCOL.md's worked examples are recomputed
from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.types import Proposal, VoteType, block_vrf_alpha, vote_sign_bytes

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol" / "consensus.md"
PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
GENESIS, BLOCK = bytes([0x11]) * 32, bytes([0x22]) * 32


def example(name: str, doc: Path = DOC) -> bytes:
    text = doc.read_text()
    match = re.search(rf"<!-- example: {name} -->\n((?:    .*\n)+)", text)
    assert match, f"no example {name!r} in {doc}"
    return bytes.fromhex(re.sub(r"\s", "", match.group(1)))


@pytest.mark.parametrize(
    ("name", "computed"),
    [
        (
            "vote_sign_bytes",
            vote_sign_bytes(GENESIS, 7, 2, VoteType.PRECOMMIT, BLOCK, 1_700_000_000_123),
        ),
        ("proposal_sign_bytes", Proposal.sign_bytes_of(GENESIS, 7, 2, -1, BLOCK)),
    ],
)
def test_documented_sign_bytes_match_the_code(name: str, computed: bytes) -> None:
    assert example(name) == computed


def test_documented_block_vrf_alpha_matches_the_code() -> None:
    computed = block_vrf_alpha(GENESIS, 7, 2, bytes([0x33]) * 64)
    assert example("block_vrf_alpha", PROTOCOL) == computed
    assert len(computed) == 22 + 32 + 8 + 4 + 64
