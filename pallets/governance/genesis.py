"""Governance genesis: round 0 starts at genesis time; the deposit account exists."""

from __future__ import annotations

from pallets.balances.currency import register_module_account
from pallets.governance import rounds
from pallets.governance.api import DEPOSIT_MODULE
from pallets.support.context import CallContext
from pallets.support.genesis_config import GenesisConfig


def build(config: GenesisConfig, ctx: CallContext) -> None:
    register_module_account(ctx, DEPOSIT_MODULE)
    rounds.start_round(ctx, 0, config.genesis_time)
