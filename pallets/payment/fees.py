"""Fees (P1), the community allowance (P2) and reaping of dust (P3).

Theory of operation
-------------------
``fee = base_fee + length × byte_fee + weight × weight_fee``, all integers in
minor units, all governance parameters (section ``payment``); ``weight`` is
the call's declared weight for its arguments, ``length`` the encoded
extrinsic's bytes. As in Substrate's transaction-payment pallet the fee is
derived, never signed: the wire format does not change, and a wallet asks
``payment_queryInfo`` what an extrinsic will cost.

A registered person (G1) making a community call (``community.py``) pays
nothing while the call's weight fits in what is left of their
``allowance_weight`` for the current epoch; usage is stored with the epoch it
counts in, so a new epoch starts from zero without any hook walking the
members. Beyond the allowance they pay like anyone; a call never draws on
both.

The fee moves from the signer to the commons pool (R1), so the total supply
does not change (I1). If a fee leaves a signer who is not a registered person
with less than ``balances.existential_deposit``, the rest is reaped into the
pool too (P3): an account that cannot pay for anything does not linger in the
state. Its nonce stays, so an old extrinsic of the account can never be
replayed (docs/runtime.md).
"""

from __future__ import annotations

from typing import Final

from ledger.overlay import StateReader
from pallets.balances.currency import COMMONS, module_account
from pallets.balances.storage import FREE, MODULE_ACCOUNTS
from pallets.members import api as members_api
from pallets.payment.community import is_community_call
from pallets.payment.events import DustReaped, FeePaid
from pallets.payment.storage import ALLOWANCE_USED, DUST_COLLECTED, FEES_COLLECTED
from pallets.support.context import CallContext
from pallets.support.declare import CallDef
from pallets.support.params import U64_MAX, param
from pallets.support.payment import CannotPay, FeeQuote
from pallets.system.hooks import epoch_at

POOL: Final = module_account(COMMONS)


def inclusion_fee(state: StateReader, weight: int, length: int) -> tuple[int, int, int]:
    """(base, length, weight) parts of the fee of an extrinsic."""
    return (
        param(state, "payment", "base_fee"),
        length * param(state, "payment", "byte_fee"),
        weight * param(state, "payment", "weight_fee"),
    )


def allowance_left(state: StateReader, account: bytes, epoch: int) -> int:
    """Community weight ``account`` may still use fee-free in ``epoch`` (0 for non-members)."""
    if not members_api.is_member(state, account):
        return 0
    usage = ALLOWANCE_USED.get(state, account)
    used = usage[1] if usage is not None and usage[0] == epoch else 0
    return max(0, param(state, "payment", "allowance_weight") - used)


class Payment:
    """The ``TransactionPayment`` the executor and the pool use."""

    def quote(
        self,
        state: StateReader,
        time: int,
        signer: bytes,
        call: CallDef,
        weight: int,
        length: int,
        *,
        reserved_free_weight: int = 0,
        reserved_fees: int = 0,
        epoch: int | None = None,
    ) -> FeeQuote:
        if epoch is None:
            epoch = epoch_at(state, time)
        return _quote(
            state, epoch, signer, call, weight, length, reserved_free_weight, reserved_fees
        )

    def charge(
        self, ctx: CallContext, signer: bytes, call: CallDef, weight: int, length: int
    ) -> FeeQuote:
        epoch = ctx.block.epoch
        quote = _quote(ctx, epoch, signer, call, weight, length, 0, 0)
        if quote.free:
            usage = ALLOWANCE_USED.get(ctx, signer)
            used = usage[1] if usage is not None and usage[0] == epoch else 0
            ALLOWANCE_USED.put(ctx, signer, [epoch, used + weight])
            ctx.emit(FeePaid, who=signer, fee=0, allowance=weight)
            return quote
        fee = quote.due
        remaining = FREE.get(ctx, signer) - fee
        if fee:
            FREE.put(ctx, POOL, FREE.get(ctx, POOL) + fee)
            FEES_COLLECTED.put(ctx, min(U64_MAX, FEES_COLLECTED.get(ctx) + fee))
        FREE.put(ctx, signer, remaining)
        ctx.emit(FeePaid, who=signer, fee=fee, allowance=0)
        if 0 < remaining < param(ctx, "balances", "existential_deposit") and not (
            members_api.is_member(ctx, signer) or MODULE_ACCOUNTS.contains(ctx, signer)
        ):
            FREE.put(ctx, signer, 0)
            FREE.put(ctx, POOL, FREE.get(ctx, POOL) + remaining)
            DUST_COLLECTED.put(ctx, min(U64_MAX, DUST_COLLECTED.get(ctx) + remaining))
            ctx.emit(DustReaped, who=signer, amount=remaining)
        return quote


def fee_quote(
    state: StateReader,
    epoch: int,
    signer: bytes,
    call: CallDef,
    weight: int,
    length: int,
    reserved_free_weight: int = 0,
) -> FeeQuote:
    """The fee of an extrinsic, without asking whether its signer can pay it."""
    base, by_length, by_weight = inclusion_fee(state, weight, length)
    free = (
        is_community_call(call.pallet, call.name)
        and allowance_left(state, signer, epoch) - reserved_free_weight >= weight
    )
    return FeeQuote(weight, length, base, by_length, by_weight, free)


def _quote(
    state: StateReader,
    epoch: int,
    signer: bytes,
    call: CallDef,
    weight: int,
    length: int,
    reserved_free_weight: int,
    reserved_fees: int,
) -> FeeQuote:
    quote = fee_quote(state, epoch, signer, call, weight, length, reserved_free_weight)
    balance: int = FREE.get(state, signer)
    if balance < reserved_fees + quote.due:
        pending = f" with {reserved_fees} pending" if reserved_fees else ""
        raise CannotPay(f"balance {balance}, fee {quote.due}{pending}")
    return quote


PAYMENT: Final = Payment()
