"""Who may start a handshake, and how refusals are logged: pure bookkeeping, no I/O.

Theory of operation
-------------------
Until the Noise handshake ends we do not know who is on the other side: an
inbound connection is just a source address holding a socket, a task and a
handshake slot. ``HandshakeAdmission`` decides, from that address alone and
before any cryptography, whether the connection may take a slot:

* at most ``per_ip`` handshakes in progress per source address (``ip_limit``),
  so one address cannot hold the slots others need; IPv6 addresses are
  grouped by their /64 (one host usually owns a whole /64), IPv4-mapped IPv6
  addresses count as the IPv4 address;
* at most ``capacity`` handshakes in progress in all (``busy``), of which the
  last ``reserved`` are kept for *known* addresses: those of the configured
  validators and peers, and those that completed a handshake before. Unknown
  addresses may hold ``capacity - reserved`` slots at most, so strangers
  filling every slot they can get still leave room for the validators;
* a connection is *silent* until it has sent a valid first handshake
  message (``spoke``). A real peer speaks within one round trip of
  connecting; a squatter never does. When a group or the pool is full, the
  oldest silent connection that may be displaced (of the same group; else a
  stranger's; else, for a known address, a known one's) loses its slot to
  the newcomer (``evicted``), so connections that send nothing can delay a
  handshake but never hold a slot against one that speaks, even from the
  same address. Only when every slot that could be freed holds a connection
  that spoke is the newcomer refused.

This follows CometBFT's transport: filter a connection by its address before
the upgrade (``ConnFilterFunc``, ``ConnDuplicateIPFilter``), bound the number
of incoming connections, and bound the handshake with ``handshake_timeout``
(the deadline itself is the service's cancel scope); evicting the oldest
silent connection goes further than CometBFT, in the spirit of Bitcoin
Core's eviction of inbound connections when its slots are full. Outbound
dials do not pass through here: they go only to configured targets, one at
a time each.

``SampledLog`` keeps refusals from flooding the log. Per key (the refusal
reason) the first event of each ``interval`` is logged in full; the rest are
only counted, and ``due`` returns one summary per key ("N more in the last T
s") once its interval is over. An attacker making thousands of refusals a
second costs at most two log lines per reason per interval; the exact
figures are in the counters (``P2PStats.handshake_failures``) anyway.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass

IP_LIMIT = "ip_limit"
BUSY = "busy"


def is_ip_address(host: str) -> bool:
    """Whether ``host`` is an IP address (not a name to resolve)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def ip_group(host: str) -> str:
    """The key a source address is limited by: the IPv4 address, or the IPv6 /64.

    Anything that does not parse as an address (a Unix socket path, "?") is
    its own group.
    """
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class Admission:
    """``admit``'s answer: a slot (``ticket``) or a ``refusal``; maybe a slot taken back.

    ``evicted`` is the ticket of a silent connection whose slot went to this
    one: the caller must close that connection.
    """

    ticket: int | None
    refusal: str | None = None
    evicted: int | None = None


@dataclass(slots=True)
class _Slot:
    group: str
    known: bool


class HandshakeAdmission:
    """Inbound handshakes in progress: a cap per address group and a global cap
    with slots reserved for known addresses; silent connections are evicted first."""

    __slots__ = (
        "_per_group",
        "_silent",
        "_silent_in_group",
        "_slots",
        "_tickets",
        "capacity",
        "per_ip",
        "reserved",
    )

    def __init__(self, capacity: int, per_ip: int, reserved: int = 0) -> None:
        if capacity <= 0 or per_ip <= 0:
            raise ValueError(f"capacity and per_ip must be positive, got {capacity}, {per_ip}")
        if not 0 <= reserved < capacity:
            raise ValueError(f"reserved must be in 0..{capacity - 1}, got {reserved}")
        self.capacity = capacity
        self.per_ip = per_ip
        self.reserved = reserved
        self._tickets = itertools.count(1)
        self._slots: dict[int, _Slot] = {}
        self._per_group: dict[str, int] = {}
        # Tickets that have not yet sent a valid first message, oldest first
        # (dicts keep insertion order): per group, and per kind (stranger, known).
        self._silent_in_group: dict[str, dict[int, None]] = {}
        self._silent: tuple[dict[int, None], dict[int, None]] = ({}, {})

    @property
    def pending(self) -> int:
        return len(self._slots)

    def admit(self, group: str, known: bool) -> Admission:
        """A slot for a new connection from ``group``, or the refusal (``ip_limit``, ``busy``).

        When the group or the pool is full, the oldest *silent* connection
        that may be displaced (same group; else a stranger's; else, for a
        known arrival, a known one's) gives its slot to the new one.
        """
        evicted = None
        if self._per_group.get(group, 0) >= self.per_ip:
            evicted = _oldest(self._silent_in_group.get(group, {}))
            if evicted is None:
                return Admission(None, IP_LIMIT)
            self._remove(evicted)  # a swap within the group: the pool holds as many
        elif len(self._slots) >= (self.capacity if known else self.capacity - self.reserved):
            evicted = _oldest(self._silent[0])
            if evicted is None and known:
                evicted = _oldest(self._silent[1])
            if evicted is None:
                return Admission(None, BUSY)
            self._remove(evicted)
        ticket = next(self._tickets)
        self._slots[ticket] = _Slot(group, known)
        self._per_group[group] = self._per_group.get(group, 0) + 1
        self._silent_in_group.setdefault(group, {})[ticket] = None
        self._silent[known][ticket] = None
        return Admission(ticket, None, evicted)

    def spoke(self, ticket: int) -> None:
        """The connection sent a valid first handshake message: it is no longer evictable."""
        slot = self._slots.get(ticket)
        if slot is not None:
            self._unsilence(ticket, slot)

    def release(self, ticket: int) -> bool:
        """Give back the slot of a handshake that ended; False if it was evicted already."""
        if ticket not in self._slots:
            return False
        self._remove(ticket)
        return True

    def held_by(self, group: str) -> int:
        return self._per_group.get(group, 0)

    def silent(self) -> int:
        """Connections holding a slot that have not sent a valid first message."""
        return len(self._silent[0]) + len(self._silent[1])

    def __len__(self) -> int:
        """Address groups holding a slot now (bounded by ``capacity``)."""
        return len(self._per_group)

    def _unsilence(self, ticket: int, slot: _Slot) -> None:
        self._silent[slot.known].pop(ticket, None)
        in_group = self._silent_in_group.get(slot.group)
        if in_group is not None:
            in_group.pop(ticket, None)
            if not in_group:
                del self._silent_in_group[slot.group]

    def _remove(self, ticket: int) -> None:
        slot = self._slots.pop(ticket)
        self._unsilence(ticket, slot)
        held = self._per_group[slot.group]
        if held == 1:
            del self._per_group[slot.group]
        else:
            self._per_group[slot.group] = held - 1


def _oldest(tickets: dict[int, None]) -> int | None:
    return next(iter(tickets), None)


@dataclass(frozen=True, slots=True)
class Suppressed:
    """``count`` events of ``key`` not logged during the ``seconds`` after the one that was."""

    key: str
    count: int
    seconds: float


@dataclass(slots=True)
class _Window:
    start: float
    count: int = 0


class SampledLog:
    """Per key, the first event of each interval is logged; the rest are summarised."""

    __slots__ = ("_ended", "_windows", "interval")

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"sampling interval must be positive, got {interval}")
        self.interval = interval
        self._windows: dict[str, _Window] = {}
        self._ended: list[Suppressed] = []

    def note(self, key: str, now: float) -> bool:
        """One event of ``key`` at ``now``: True if it should be logged in full."""
        window = self._windows.get(key)
        if window is not None and now - window.start < self.interval:
            window.count += 1
            return False
        if window is not None and window.count:
            self._ended.append(Suppressed(key, window.count, now - window.start))
        self._windows[key] = _Window(now)
        return True

    def due(self, now: float) -> list[Suppressed]:
        """Summaries of the intervals over by ``now`` that left events unlogged, by key."""
        out, self._ended = self._ended, []
        for key in sorted(self._windows):
            window = self._windows[key]
            if now - window.start >= self.interval:
                del self._windows[key]
                if window.count:
                    out.append(Suppressed(key, window.count, now - window.start))
        return sorted(out, key=lambda s: s.key)
