"""The runtime's view of transaction payment (P1): a quote, a charge.

Theory of operation
-------------------
The framework does not know what money is. A pallet that charges for
inclusion declares a ``TransactionPayment`` on its ``Pallet`` (at most one
pallet may); the executor then calls ``charge`` for every extrinsic it
includes, *before* the nonce moves and the call runs, in the block's own
layer: the fee stays paid whatever the call then does (Substrate's
``ChargeTransactionPayment`` signed extension does the same). A signer who
cannot pay makes the extrinsic invalid (``cannot pay fee``): the block
builder skips it and a block that holds it is invalid.

``quote`` is the same computation without writing: the pool uses it to
refuse a signer who cannot pay what they already have pending plus the
newcomer, and to order extrinsics by fee per weight; ``payment_queryInfo``
serves it to wallets. ``reserved_free_weight`` is allowance (P2) that the
signer's pending extrinsics will already use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ledger.overlay import StateReader

if TYPE_CHECKING:
    from pallets.support.context import CallContext
    from pallets.support.declare import CallDef

CANNOT_PAY = "cannot pay fee"


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """What including one extrinsic costs its signer, and why."""

    weight: int  # declared weight of the call, plus the per-extrinsic base weight
    length: int  # encoded bytes
    base_fee: int
    length_fee: int
    weight_fee: int
    free: bool  # covered by the signer's community allowance (P2)

    @property
    def inclusion_fee(self) -> int:
        """The fee before any allowance: what orders extrinsics in the pool."""
        return self.base_fee + self.length_fee + self.weight_fee

    @property
    def due(self) -> int:
        """What the signer pays: nothing when the allowance covers it."""
        return 0 if self.free else self.inclusion_fee

    @property
    def free_weight(self) -> int:
        return self.weight if self.free else 0


class CannotPay(Exception):
    """The signer cannot pay ``quote.due``; ``detail`` says what they hold."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TransactionPayment(Protocol):
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
        """The fee of including this extrinsic next; raises ``CannotPay`` if the
        signer cannot pay it on top of ``reserved_fees``. ``epoch``: the epoch at
        ``time`` if the caller knows it already (the pool, once per head)."""
        ...

    def charge(
        self, ctx: CallContext, signer: bytes, call: CallDef, weight: int, length: int
    ) -> FeeQuote:
        """Take the fee (or the allowance) in ``ctx``'s state; ``CannotPay`` writes nothing."""
        ...
