"""The genesis configuration a pallet's ``genesis`` hook reads: plain values.

``genesis/`` validates the JSON document (pydantic) and builds this; the
executive (``pallets.executive.genesis``) runs the hooks. Pallets never see
the JSON document, so they do not depend on ``genesis/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.types import ValidatorSet


@dataclass(frozen=True, slots=True)
class GenesisConfig:
    chain: str
    genesis_time: int  # seconds since the Unix epoch
    validators: ValidatorSet
    balances: tuple[tuple[bytes, int], ...]  # (account, amount), accounts distinct
    params: Mapping[str, Mapping[str, int]]
    localnet: bool = False
    module_balances: tuple[tuple[str, int], ...] = field(default=())  # (module name, amount)
    # health (H1): (bioregion id, its oracle accounts), ids distinct
    bioregions: tuple[tuple[str, tuple[bytes, ...]], ...] = field(default=())
    # members (G1): registrars as (bioregion, account); members as (account,
    # bioregion, attestation hash); the bioregions must be among ``bioregions``
    registrars: tuple[tuple[str, bytes], ...] = field(default=())
    members: tuple[tuple[bytes, str, bytes], ...] = field(default=())
