"""Every fuzz target by name (for the tests and the runners in scripts/)."""

from __future__ import annotations

from typing import Final

from tests.fuzz.harness import Target
from tests.fuzz.targets_ledger import CODEC, EXTRINSIC
from tests.fuzz.targets_p2p import P2P_FRAMES, P2P_HANDSHAKE
from tests.fuzz.targets_rpc import RPC_HTTP

TARGETS: Final[dict[str, Target]] = {
    t.name: t for t in (CODEC, EXTRINSIC, P2P_FRAMES, P2P_HANDSHAKE, RPC_HTTP)
}
