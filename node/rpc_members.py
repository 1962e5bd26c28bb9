"""RPC queries of the members pallet (G1): memberships and registrars.

Like every pallet query, each reads the state of block ``at`` (the best
block when omitted). Only accounts, bioregions and attestation *hashes* are
on chain, so only they are served.

* ``members_get(address)``: the membership (or null) and the bioregions the
  account is a registrar of.
* ``members_list(bioregion?)``: members, of one bioregion or all, sorted.
* ``members_registrars(bioregion?)``: registrars, of one bioregion or all.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import field_validator

from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from pallets.health.storage import BIOREGION_RE
from pallets.members import api
from rpc.encoding import Address, address_text, hex0x
from rpc.registry import MethodRegistry, Params


def member_view(state: StateReader, account: bytes, hrp: str = DEFAULT_HRP) -> dict[str, Any]:
    record = api.member(state, account)
    membership = None
    if record is not None:
        registrar = record["registrar"]
        membership = {
            "bioregion": record["bioregion"],
            "attestation": hex0x(record["attestation"]),
            "registered": record["registered"],
            "registrar": None if registrar is None else address_text(registrar, hrp),
        }
    return {
        "account": address_text(account, hrp),
        "member": membership,
        "registrar_of": sorted(
            region for region, holder in api.registrars(state) if holder == account
        ),
    }


def member_list(
    state: StateReader, bioregion: str | None, hrp: str = DEFAULT_HRP
) -> list[dict[str, Any]]:
    out = []
    for account in api.members(state, bioregion):
        record = api.member(state, account)
        if record is not None:
            out.append(
                {
                    "account": address_text(account, hrp),
                    "bioregion": record["bioregion"],
                    "registered": record["registered"],
                }
            )
    return out


def registrar_list(
    state: StateReader, bioregion: str | None, hrp: str = DEFAULT_HRP
) -> list[dict[str, Any]]:
    return [
        {"bioregion": region, "account": address_text(account, hrp)}
        for region, account in api.registrars(state, bioregion)
    ]


class AccountParams(Params):
    address: Address


class BioregionParams(Params):
    bioregion: str | None = None

    @field_validator("bioregion")
    @classmethod
    def _bioregion_id(cls, value: str | None) -> str | None:
        if value is not None and not BIOREGION_RE.match(value):
            raise ValueError("a bioregion id is snake case: [a-z][a-z0-9_], at most 32 bytes")
        return value


ARRAY: Final = {"type": "array"}


def register_members_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register members_get, members_list, members_registrars (see the module doc)."""

    @registry.pallet_query(
        "members",
        "get",
        params=AccountParams,
        result={"type": "object"},
        description="An account's membership (G1) and the bioregions it is a registrar of.",
    )
    def members_get(state: StateReader, params: AccountParams) -> Any:
        return member_view(state, params.address, hrp)

    @registry.pallet_query(
        "members",
        "list",
        params=BioregionParams,
        result=ARRAY,
        description="Governance members, of one bioregion or all (at most 1000).",
    )
    def members_list(state: StateReader, params: BioregionParams) -> Any:
        return member_list(state, params.bioregion, hrp)

    @registry.pallet_query(
        "members",
        "registrars",
        params=BioregionParams,
        result=ARRAY,
        description="Registrars, of one bioregion or all (set by governance, G1).",
    )
    def members_registrars(state: StateReader, params: BioregionParams) -> Any:
        return registrar_list(state, params.bioregion, hrp)
