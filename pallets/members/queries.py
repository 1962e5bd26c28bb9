"""Queries of the members pallet (G1): memberships and registrars.

Only accounts, bioregions and attestation *hashes* are on chain, so only they
are served.

* ``get(address)``: the membership (or None), the bioregions the account
  is a registrar of, when its key took over from an earlier key of the same
  person (0: never), and a pending recovery of its key (G1: the member has
  until ``completes`` to cancel it).

* ``list(bioregion?)``: members, of one bioregion or all, sorted.
* ``registrars(bioregion?)``: registrars, of one bioregion or all.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.health.storage import BIOREGION, MAX_BIOREGIONS
from pallets.members import api
from pallets.members.storage import MAX_REGISTRARS, MEMBER
from pallets.support.argtypes import ACCOUNT, U64, List, Optional
from pallets.support.params import param
from pallets.support.queries import QueryReader, QuerySet, Struct

MAX_MEMBERS: Final = 1000
_MEMBER: Final = dict(MEMBER.record.fields)
RECOVERY_VIEW: Final = Struct(
    "recovery_view",
    (("new", ACCOUNT), ("registrar", ACCOUNT), ("started", U64), ("completes", U64)),
)
MEMBER_VIEW: Final = Struct(
    "member_view",
    (
        ("account", ACCOUNT),
        ("member", Optional(MEMBER.record)),
        ("registrar_of", List(BIOREGION, MAX_BIOREGIONS)),
        ("key_since", U64),
        ("recovery", Optional(RECOVERY_VIEW)),
    ),
)
MEMBER_ROW: Final = Struct(
    "member_row",
    (
        ("account", ACCOUNT),
        ("bioregion", _MEMBER["bioregion"]),
        ("registered", _MEMBER["registered"]),
    ),
)
REGISTRAR_ROW: Final = Struct("registrar_row", (("bioregion", BIOREGION), ("account", ACCOUNT)))

queries = QuerySet("members")


@queries.query("get", args=(("address", ACCOUNT),), result=MEMBER_VIEW)
def get(state: QueryReader, address: bytes) -> dict[str, Any]:
    """An account's membership (G1) and the bioregions it is a registrar of."""
    record = api.member(state, address)
    pending = api.recovery(state, address)
    if pending is not None:
        pending["completes"] = pending["started"] + param(state, "members", "recovery_delay")
    return {
        "account": address,
        "member": None if record is None else MEMBER.wire(record),
        "registrar_of": sorted(
            region for region, holder in api.registrars(state) if holder == address
        ),
        "key_since": api.key_since(state, address),
        "recovery": pending,
    }


@queries.query(
    "list", args=(("bioregion", Optional(BIOREGION)),), result=List(MEMBER_ROW, MAX_MEMBERS)
)
def list_members(state: QueryReader, bioregion: str | None) -> list[dict[str, Any]]:
    """Governance members, of one bioregion or all (at most 1000)."""
    out = []
    for account in api.members(state, bioregion):
        record = api.member(state, account)
        if record is not None:
            out.append({"account": account, **{k: record[k] for k in ("bioregion", "registered")}})
    return out


@queries.query(
    "registrars",
    args=(("bioregion", Optional(BIOREGION)),),
    result=List(REGISTRAR_ROW, MAX_BIOREGIONS * MAX_REGISTRARS),
)
def registrars(state: QueryReader, bioregion: str | None) -> list[dict[str, Any]]:
    """Registrars, of one bioregion or all (set by governance, G1)."""
    return [
        {"bioregion": region, "account": account}
        for region, account in api.registrars(state, bioregion)
    ]
