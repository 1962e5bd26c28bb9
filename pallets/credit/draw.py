"""The reviewer draw (C6) and the same-percentage rule (C3): pure functions.

Theory of operation
-------------------
``draw_seed(vrf_output, request_id)`` is the seed of a request's draw:
``blake2b256(b"credichain/draw-seed/1" || vrf_output || u64be(request_id))``
where ``vrf_output`` is the 64-byte verified VRF output of the block that
runs the draw (its proposer's proof in the header, docs/PROTOCOL.md §3). The
request id in the seed gives two requests drawn in one block independent
panels.

``draw_reviewers(seed, candidates, amount, minimum, keep)`` is the whole
draw, a pure function of stored values, so anyone can re-run it (the RPC
method ``credit_redraw`` does, from the seed stored on the request):

1. ``candidates`` are (account, trust) pairs sorted by account: the fund's
   funders minus the borrowers and anyone excluded by a conflict (C7).
2. They are shuffled by Fisher-Yates, for j = n-1 down to 1, swapping
   positions j and ``k = int_be(blake2b256(DRAW_DOMAIN || seed || u32be(j)))
   mod (j + 1)`` (the digest read as a big-endian unsigned integer). A
   256-bit value reduced modulo at most 64 candidates has a bias below
   2**-250.
3. Reviewers already on the panel (``keep``, after a conflict replacement)
   stay; shuffled candidates are appended until there are at least
   ``minimum`` reviewers AND their trust sums to at least ``amount`` (they
   bring the same percentage of their trust, so the sum must cover it).
4. If all candidates together cannot cover it the draw returns None: the
   request cannot proceed. (Lent reviewers of federated funds, C6/X1, are
   already among the candidates when the fund's own could not cover it:
   ``lifecycle.candidates`` decides that once, and the list is stored.)

``shares(trusts, amount)`` is what each of a group brings under the
same-percentage rule: ``trust_i * amount / total``, floored, the units lost
to flooring given by largest remainder (ties to the earlier member) so the
shares sum to ``amount`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ledger.crypto import blake2b256
from ledger.vrf import OUTPUT_LEN as VRF_OUTPUT_LEN

DRAW_DOMAIN: Final = b"credichain/reviewer-draw/1"
DRAW_SEED_DOMAIN: Final = b"credichain/draw-seed/1"


def draw_seed(vrf_output: bytes, request_id: int) -> bytes:
    """The seed of ``request_id``'s draw in the block whose VRF output is ``vrf_output``."""
    if len(vrf_output) != VRF_OUTPUT_LEN or not 0 <= request_id < 2**64:
        raise ValueError("draw_seed: a 64-byte VRF output and a u64 request id")
    return blake2b256(DRAW_SEED_DOMAIN + vrf_output + request_id.to_bytes(8, "big"))


def shuffled(seed: bytes, items: Sequence[bytes]) -> list[bytes]:
    """A deterministic Fisher-Yates shuffle of ``items`` driven by ``seed``."""
    out = list(items)
    for j in range(len(out) - 1, 0, -1):
        digest = blake2b256(DRAW_DOMAIN + seed + j.to_bytes(4, "big"))
        k = int.from_bytes(digest, "big") % (j + 1)
        out[j], out[k] = out[k], out[j]
    return out


def draw_reviewers(
    seed: bytes,
    candidates: Sequence[tuple[bytes, int]],
    amount: int,
    minimum: int,
    keep: Sequence[bytes] = (),
) -> list[bytes] | None:
    """The panel: ``keep`` plus drawn candidates, or None if trust cannot cover ``amount``."""
    trust = dict(candidates)
    accounts = sorted(account for account in trust if account not in keep)
    panel = list(keep)
    covered = sum(trust.get(account, 0) for account in panel)
    for account in shuffled(seed, accounts):
        if len(panel) >= minimum and covered >= amount:
            break
        panel.append(account)
        covered += trust[account]
    if len(panel) < minimum or covered < amount:
        return None
    return panel


def shares(trusts: Sequence[int], amount: int) -> list[int]:
    """What each brings at the same percentage so that the shares sum to ``amount``."""
    total = sum(trusts)
    if total < amount or total == 0:
        raise ValueError(f"trust {total} does not cover {amount}")
    floors = [t * amount // total for t in trusts]
    remainders = [t * amount % total for t in trusts]
    missing = amount - sum(floors)
    order = sorted(range(len(trusts)), key=lambda i: (-remainders[i], i))
    for i in order[:missing]:
        floors[i] += 1
    return floors
