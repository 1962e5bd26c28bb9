"""Members calls (G1): governance sets registrars; registrars register and revoke.

A registrar checks a person's identity off chain (a meeting, a document, a
community's own process) and registers their account with the *hash* of
that attestation: the chain stores no personal data, and the hash index
refuses a second membership for the same attestation. Revoking frees the
attestation, so a person whose membership was revoked by mistake (or who
moved to another bioregion) can be registered again: at once on the same
account, and on another account from the next governance round. Votes cast
in a round stay counted after a revocation, and the round's spending is kept
per account, so a new account in the same round would give one person a
second voice-credit budget (G1, G2).

A person changes keys (G1 key rotation) with ``rotate_key`` signed by the old
key, or, when the key is lost, by a registrar of their bioregion:
``start_recovery`` names the new key, and after ``recovery_delay`` anyone may
``finish_recovery``; until then the old key can ``cancel_recovery`` (it was
not lost, or someone is trying to take it over). Membership, trust at every
fund and the credit history follow the person (``api.move_member``). A key
changes at most once per ``recovery_delay``, so a key change cannot re-roll a
credit draw sooner than ``resubmit_cooldown`` (C6; the parameters are checked
to keep it so); and it waits while the person has trust in use (open requests
and loans name the key that signed them) or voted this governance round.
"""

from __future__ import annotations

from typing import Final

from pallets.balances import currency
from pallets.health.api import bioregion_exists
from pallets.health.storage import BIOREGION, pad
from pallets.members import api
from pallets.members.errors import (
    AlreadyMember,
    AlreadyRegistrar,
    AttestationUsed,
    CannotMove,
    KeyTaken,
    NoRecovery,
    NotMember,
    NotRegistrar,
    RecoveryPending,
    RevokedThisRound,
    SameKey,
    TooManyRegistrars,
    TooSoon,
    UnknownBioregion,
)
from pallets.members.events import (
    KeyRotated,
    MemberRegistered,
    MemberRevoked,
    RecoveryCancelled,
    RecoveryStarted,
    RegistrarAdded,
    RegistrarRemoved,
)
from pallets.members.storage import (
    MAX_REGISTRARS,
    RECOVERIES,
    RECOVERY,
    REGISTRARS,
    REVOCATION,
    REVOKED,
)
from pallets.support.argtypes import ACCOUNT, HASH
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet

calls = CallSet("members")

MEMBER_WEIGHT: Final = 14  # register: at most 12 storage operations
REGISTRAR_WEIGHT: Final = MAX_REGISTRARS + 6


@calls.call(
    0,
    args=(("bioregion", BIOREGION), ("registrar", ACCOUNT)),
    weight=REGISTRAR_WEIGHT,
    origin=GOVERNANCE,
)
def add_registrar(ctx: CallContext, bioregion: str, registrar: bytes) -> None:
    """Make ``registrar`` a registrar of ``bioregion`` (G1)."""
    if not bioregion_exists(ctx, bioregion):
        raise UnknownBioregion(f"bioregion {bioregion!r} is not registered")
    if api.is_registrar(ctx, bioregion, registrar):
        raise AlreadyRegistrar(f"already a registrar of {bioregion!r}")
    present = sum(1 for _ in ctx.iterate(REGISTRARS.prefix + pad(bioregion)))
    if present >= MAX_REGISTRARS:
        raise TooManyRegistrars(f"{bioregion!r} already has {MAX_REGISTRARS} registrars")
    REGISTRARS.put(ctx, pad(bioregion) + registrar, True)
    ctx.emit(RegistrarAdded, bioregion=bioregion, registrar=registrar)


@calls.call(
    1,
    args=(("bioregion", BIOREGION), ("registrar", ACCOUNT)),
    weight=MEMBER_WEIGHT,
    origin=GOVERNANCE,
)
def remove_registrar(ctx: CallContext, bioregion: str, registrar: bytes) -> None:
    """Remove a registrar; the members it registered stay members (G1)."""
    if not api.is_registrar(ctx, bioregion, registrar):
        raise NotRegistrar(f"not a registrar of {bioregion!r}")
    REGISTRARS.delete(ctx, pad(bioregion) + registrar)
    ctx.emit(RegistrarRemoved, bioregion=bioregion, registrar=registrar)


@calls.call(
    2,
    args=(("member", ACCOUNT), ("bioregion", BIOREGION), ("attestation", HASH)),
    weight=MEMBER_WEIGHT,
)
def register(ctx: CallContext, member: bytes, bioregion: str, attestation: bytes) -> None:
    """A registrar of ``bioregion`` registers ``member`` on an attestation's hash (G1)."""
    if not bioregion_exists(ctx, bioregion):
        raise UnknownBioregion(f"bioregion {bioregion!r} is not registered")
    if not api.is_registrar(ctx, bioregion, ctx.signer):
        raise NotRegistrar(f"the signer is not a registrar of {bioregion!r}")
    if api.is_member(ctx, member):
        raise AlreadyMember("the account is already a member (one membership per account)")
    if api.holder_of(ctx, attestation) is not None:
        raise AttestationUsed("this attestation already backs a membership")
    revoked = REVOKED.get(ctx, attestation)
    if revoked is not None:
        last = REVOCATION.unwire(revoked)
        this_round = api.round_now(ctx)
        if last["round"] == this_round and last["account"] != member:
            raise RevokedThisRound(
                f"this attestation's membership was revoked in round {this_round}; it can back "
                f"another account from round {this_round + 1} (or the same account now)"
            )
        REVOKED.delete(ctx, attestation)
    api.add_member(ctx, member, bioregion, attestation, ctx.block.time, ctx.signer)
    ctx.emit(
        MemberRegistered,
        member=member,
        bioregion=bioregion,
        attestation=attestation,
        registrar=ctx.signer,
    )


@calls.call(3, args=(("member", ACCOUNT),), weight=MEMBER_WEIGHT + 4)
def revoke(ctx: CallContext, member: bytes) -> None:
    """A registrar of the member's bioregion revokes the membership (G1).

    Votes the member already cast stay counted (they were a member then);
    quorum counts the members at tally time. It waits while open credit
    requests or loans name the member: their initial trust (T1) may be what
    covers their stakes (I6).
    """
    record = api.member(ctx, member)
    if record is None:
        raise NotMember("the account is not a member")
    region = record["bioregion"]
    if not api.is_registrar(ctx, region, ctx.signer):
        raise NotRegistrar(f"the signer is not a registrar of {region!r}, the member's bioregion")
    reason = api.revocation_blocker(ctx, member)
    if reason is not None:
        raise CannotMove(f"cannot revoke now: {reason}")
    api.remove_member(ctx, member, record)
    revocation = {"round": api.round_now(ctx), "account": member}
    REVOKED.put(ctx, record["attestation"], REVOCATION.wire(revocation))
    ctx.emit(MemberRevoked, member=member, bioregion=region, registrar=ctx.signer)


# ---------------------------------------------------------------- G1: a person's new key


def _check_handover(ctx: CallContext, old: bytes, new: bytes) -> None:
    """What any key change needs: a member, a fresh new key, not too soon, nothing stuck."""
    record = api.member(ctx, old)
    if record is None:
        raise NotMember("the account is not a member")
    if new == old:
        raise SameKey("the new key is the member's key")
    if api.is_member(ctx, new):
        raise KeyTaken("the new key already belongs to a member")
    if currency.is_module_account(ctx, new):
        raise KeyTaken("a module account (a fund's cash, the commons...) cannot be a person's key")
    since = api.key_since(ctx, old) or record["registered"]
    delay = ctx.param("members", "recovery_delay")
    if ctx.block.time < since + delay:
        raise TooSoon(f"this key holds the membership since {since}; a change from {since + delay}")
    reason = api.rotation_blocker(ctx, old, new)
    if reason is not None:
        raise CannotMove(f"cannot change keys now: {reason}")


def _hand_over(ctx: CallContext, old: bytes, new: bytes, by: bytes) -> None:
    RECOVERIES.delete(ctx, old)
    api.move_member(ctx, old, new)
    ctx.emit(KeyRotated, old=old, new=new, by=by)


@calls.call(4, args=(("new", ACCOUNT),), weight=api.KEY_CHANGE_WORK)
def rotate_key(ctx: CallContext, new: bytes) -> None:
    """The member's key hands the membership, trust and history over to ``new`` (G1)."""
    if RECOVERIES.get(ctx, ctx.signer) is not None:
        raise RecoveryPending("a recovery of this key is pending: cancel it first")
    _check_handover(ctx, ctx.signer, new)
    _hand_over(ctx, ctx.signer, new, ctx.signer)


@calls.call(5, args=(("member", ACCOUNT), ("new", ACCOUNT)), weight=MEMBER_WEIGHT)
def start_recovery(ctx: CallContext, member: bytes, new: bytes) -> None:
    """A registrar of the member's bioregion starts recovering a lost key (G1)."""
    record = api.member(ctx, member)
    if record is None:
        raise NotMember("the account is not a member")
    if not api.is_registrar(ctx, record["bioregion"], ctx.signer):
        raise NotRegistrar(f"the signer is not a registrar of {record['bioregion']!r}")
    # A new recovery replaces a pending one (its delay starts again): a pending
    # one whose new key became a member since could otherwise never finish.
    if new == member:
        raise SameKey("the new key is the member's key")
    if api.is_member(ctx, new):
        raise KeyTaken("the new key already belongs to a member")
    recovery = {"new": new, "registrar": ctx.signer, "started": ctx.block.time}
    RECOVERIES.put(ctx, member, RECOVERY.wire(recovery))
    completes = ctx.block.time + ctx.param("members", "recovery_delay")
    ctx.emit(RecoveryStarted, member=member, new=new, registrar=ctx.signer, completes=completes)


@calls.call(6, args=(), weight=MEMBER_WEIGHT)
def cancel_recovery(ctx: CallContext) -> None:
    """The member's key cancels a recovery of itself: it is not lost (G1)."""
    if RECOVERIES.get(ctx, ctx.signer) is None:
        raise NoRecovery("no recovery of this key is pending")
    RECOVERIES.delete(ctx, ctx.signer)
    ctx.emit(RecoveryCancelled, member=ctx.signer)


@calls.call(7, args=(("member", ACCOUNT),), weight=api.KEY_CHANGE_WORK)
def finish_recovery(ctx: CallContext, member: bytes) -> None:
    """After ``recovery_delay``, anyone completes a registrar's recovery (G1)."""
    raw = RECOVERIES.get(ctx, member)
    if raw is None:
        raise NoRecovery("no recovery of this member's key is pending")
    recovery = RECOVERY.unwire(raw)
    due = recovery["started"] + ctx.param("members", "recovery_delay")
    if ctx.block.time < due:
        raise TooSoon(f"the recovery completes at {due}; the old key may still cancel it")
    _check_handover(ctx, member, recovery["new"])
    _hand_over(ctx, member, recovery["new"], recovery["registrar"])
