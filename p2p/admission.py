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
  filling every slot they can get still leave room for the validators.

This follows CometBFT's transport: filter a connection by its address before
the upgrade (``ConnFilterFunc``, ``ConnDuplicateIPFilter``), bound the number
of incoming connections, and bound the handshake with ``handshake_timeout``
(the deadline itself is the service's cancel scope). Outbound dials do not
pass through here: they go only to configured targets, one at a time each.

``SampledLog`` keeps refusals from flooding the log. Per key (the refusal
reason) the first event of each ``interval`` is logged in full; the rest are
only counted, and ``due`` returns one summary per key ("N more in the last T
s") once its interval is over. An attacker making thousands of refusals a
second costs at most two log lines per reason per interval; the exact
figures are in the counters (``P2PStats.handshake_failures``) anyway.
"""

from __future__ import annotations

import ipaddress
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


class HandshakeAdmission:
    """Inbound handshakes in progress: a cap per address group and a global cap
    with slots reserved for known addresses."""

    __slots__ = ("_per_group", "capacity", "pending", "per_ip", "reserved")

    def __init__(self, capacity: int, per_ip: int, reserved: int = 0) -> None:
        if capacity <= 0 or per_ip <= 0:
            raise ValueError(f"capacity and per_ip must be positive, got {capacity}, {per_ip}")
        if not 0 <= reserved < capacity:
            raise ValueError(f"reserved must be in 0..{capacity - 1}, got {reserved}")
        self.capacity = capacity
        self.per_ip = per_ip
        self.reserved = reserved
        self.pending = 0
        self._per_group: dict[str, int] = {}

    def admit(self, group: str, known: bool) -> str | None:
        """Take a slot for ``group``; or the refusal reason (``ip_limit``, ``busy``)."""
        held = self._per_group.get(group, 0)
        if held >= self.per_ip:
            return IP_LIMIT
        limit = self.capacity if known else self.capacity - self.reserved
        if self.pending >= limit:
            return BUSY
        self._per_group[group] = held + 1
        self.pending += 1
        return None

    def release(self, group: str) -> None:
        """Give back a slot ``admit`` granted (the handshake ended, however)."""
        held = self._per_group.get(group, 0)
        if held <= 0:
            raise RuntimeError(f"no handshake slot held by {group}")
        if held == 1:
            del self._per_group[group]
        else:
            self._per_group[group] = held - 1
        self.pending -= 1

    def held_by(self, group: str) -> int:
        return self._per_group.get(group, 0)

    def __len__(self) -> int:
        """Address groups holding a slot now (bounded by ``capacity``)."""
        return len(self._per_group)


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
