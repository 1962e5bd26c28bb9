"""Loan arithmetic, pure and exact: the schedule (L2), interest (L3), lateness (L5).

Theory of operation
-------------------
Interest is simple interest on outstanding principal by block time:
``principal * rate_bps * seconds / (10 000 * 31 536 000)``. The division is
never rounded away: an accrual adds ``numerator // DENOMINATOR`` units of
interest and carries ``numerator % DENOMINATOR`` (the *remainder
numerator*, always < DENOMINATOR < 2**64) into the next accrual. So the
interest accrued in any number of steps equals the interest of one step
over the same time at the same principal, to the unit.

The schedule has ``n`` equal principal parts (the last takes the remainder
of the division) due at ``start + term * k // n``, k = 1..n, each moved by
the loan's extension. Interest due with each part is the interest of the
outstanding principal over that interval if every part is paid on time
(cumulative numerators floored, so the parts sum to the total exactly).
"""

from __future__ import annotations

from typing import Final

YEAR_SECONDS: Final = 31_536_000
DENOMINATOR: Final = 10_000 * YEAR_SECONDS


def accrue(outstanding: int, rate_bps: int, seconds: int, remainder: int) -> tuple[int, int]:
    """(whole units of interest, new remainder numerator) for ``seconds`` more."""
    if seconds < 0 or not 0 <= remainder < DENOMINATOR:
        raise ValueError("time goes forward and the remainder is below the denominator")
    numerator = outstanding * rate_bps * seconds + remainder
    return numerator // DENOMINATOR, numerator % DENOMINATOR


def principal_parts(amount: int, installments: int) -> list[int]:
    """L2: equal parts, the last taking the remainder."""
    part = amount // installments
    return [part] * (installments - 1) + [amount - part * (installments - 1)]


def due_times(start: int, term: int, installments: int, extension: int = 0) -> list[int]:
    return [start + term * k // installments + extension for k in range(1, installments + 1)]


def schedule(
    amount: int, rate_bps: int, start: int, term: int, installments: int, extension: int = 0
) -> list[tuple[int, int, int]]:
    """(due, principal, interest) per installment when every part is paid on time."""
    parts = principal_parts(amount, installments)
    dues = due_times(start, term, installments, extension)
    rows = []
    outstanding, previous, numerator, paid_interest = amount, start, 0, 0
    for due, part in zip(dues, parts, strict=True):
        numerator += outstanding * rate_bps * (due - previous)
        total_so_far = numerator // DENOMINATOR
        rows.append((due, part, total_so_far - paid_interest))
        paid_interest = total_so_far
        outstanding -= part
        previous = due
    return rows


def principal_due_by(
    amount: int, start: int, term: int, installments: int, extension: int, now: int
) -> int:
    """Principal that should have been paid by ``now`` (parts whose due time passed)."""
    parts = principal_parts(amount, installments)
    dues = due_times(start, term, installments, extension)
    return sum(part for part, due in zip(parts, dues, strict=True) if due < now)


def overdue_since(
    amount: int,
    principal_paid: int,
    start: int,
    term: int,
    installments: int,
    extension: int,
    now: int,
) -> int | None:
    """L5: the due time of the first installment unpaid past its due date, else None."""
    parts = principal_parts(amount, installments)
    dues = due_times(start, term, installments, extension)
    cumulative = 0
    for part, due in zip(parts, dues, strict=True):
        cumulative += part
        if cumulative > principal_paid:
            return due if due < now else None
    return None
