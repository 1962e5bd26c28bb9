"""The localnet's oracles observe an epoch over RPC: shared by the live e2e tests.

The localnet bioregion's oracles are alice and bob (docs/health.md). Their two
observations differ by one in two components, so the medians take the floor
of the mean (H3) and the score is docs/health.md's worked example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ledger.crypto import Keypair
from ledger.types import Call
from rpc.client import RpcClient
from scripts.demo_fedicredits import DemoError, Driver

REGION: Final = "localnet"
OBSERVATIONS: Final = {
    "alice": [6000, 4000, 5000, 7000, 3000],
    "bob": [6000, 4001, 5000, 7000, 3001],
}
MEDIANS: Final = [6000, 4000, 5000, 7000, 3000]


def observe_health(chain: Driver, client: RpcClient, say: Callable[[str], None] = print) -> int:
    """Alice and bob observe the open epoch; return it (retried if it closes meanwhile)."""
    for _attempt in range(3):
        epoch = int(client.call("health_get", REGION)["open_epoch"])
        calls = [
            (
                Keypair.dev(name),
                Call("health", "observe", {"bioregion": REGION, "epoch": epoch, "components": c}),
            )
            for name, c in OBSERVATIONS.items()
        ]
        try:
            chain.submit_all(calls)
        except DemoError as error:
            if "WrongEpoch" not in str(error):
                raise
            say(f"epoch {epoch} closed while observing; observing the next one")
            continue
        return epoch
    raise AssertionError("three epochs closed while alice and bob were observing")
