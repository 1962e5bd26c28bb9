"""Members genesis: the registrars and members a chain starts with (G1).

The members pallet's genesis runs before the health pallet's (pallet index
order), so bioregions are checked against the genesis config, not the state.
"""

from __future__ import annotations

from pallets.health.storage import BIOREGION_RE, pad
from pallets.members import api
from pallets.members.storage import REGISTRARS
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.genesis_config import GenesisConfig


def build(config: GenesisConfig, ctx: CallContext) -> None:
    known = {region for region, _ in config.bioregions}
    for region, account in config.registrars:
        _known(region, known, "registrar")
        if api.is_registrar(ctx, region, account):
            raise RuntimeFault(f"genesis lists registrar 0x{account.hex()} of {region!r} twice")
        REGISTRARS.put(ctx, pad(region) + account, True)
    for account, region, attestation in config.members:
        _known(region, known, "member")
        if api.is_member(ctx, account):
            raise RuntimeFault(f"genesis lists member 0x{account.hex()} twice")
        if api.holder_of(ctx, attestation) is not None:
            raise RuntimeFault(f"genesis uses attestation 0x{attestation.hex()} twice")
        api.add_member(ctx, account, region, attestation, config.genesis_time, None)


def _known(region: str, known: set[str], what: str) -> None:
    if not BIOREGION_RE.match(region) or region not in known:
        raise RuntimeFault(f"genesis {what} of bioregion {region!r}, which genesis does not list")
