"""System genesis: genesis time, epoch 0, the initial validator set."""

from __future__ import annotations

from pallets.support.context import CallContext
from pallets.support.genesis_config import GenesisConfig
from pallets.system.storage import CHAIN, GENESIS_TIME, TIME, VALIDATORS


def build(config: GenesisConfig, ctx: CallContext) -> None:
    CHAIN.put(ctx, config.chain)
    GENESIS_TIME.put(ctx, config.genesis_time)
    TIME.put(ctx, config.genesis_time)
    VALIDATORS.put(ctx, config.validators.to_wire())
