"""The door of the p2p listener: admission of inbound handshakes, and refusals.

Theory of operation
-------------------
``HandshakeGate`` is the trio side of ``p2p.admission``. The service's
accept loop asks it for a slot (``admit``) with nothing but the socket's
source address; a refusal is counted, maybe logged, and the socket reset
before any task or cryptography. A granted slot comes with a cancel scope:
while the connection is silent (no valid first handshake message yet) a
newcomer may take its slot, and the gate cancels that scope, which ends the
evicted handshake. The handshake reports ``spoke`` after its first message
and ``release`` when it ends, however it ends.

Known addresses are the dial targets given as IP addresses (the genesis
validators and the configured peers) and the addresses of peers that
completed a handshake (``learn``: an allowed identity came from there).

Every connection that does not become a peer goes through ``refused``: one
counter per reason in ``P2PStats.handshake_failures`` and a log line
sampled by ``SampledLog`` (the first per reason per interval; ``summarise``
writes the "N more in the last T s" lines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import structlog
import trio

from p2p.admission import BUSY, HandshakeAdmission, SampledLog, ip_group, is_ip_address
from p2p.config import P2PConfig, P2PStats, PeerAddress
from p2p.limits import SeenSet

log = structlog.get_logger("p2p")


def remote_host(stream: trio.SocketStream) -> tuple[str, str]:
    """``(host, "host:port")`` of the other end; ``("?", "?")`` if the socket is gone."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except (OSError, ValueError):
        return "?", "?"
    return str(host), f"{host}:{port}"


class HandshakeGate:
    """Slots for inbound handshakes, known addresses, and the accounting of refusals."""

    def __init__(
        self, config: P2PConfig, stats: P2PStats, targets: Callable[[], Iterable[PeerAddress]]
    ) -> None:
        self.stats = stats
        self.admission = HandshakeAdmission(
            config.max_pending_handshakes,
            config.max_pending_handshakes_per_ip,
            config.reserved_handshake_slots,
        )
        self.refusals = SampledLog(config.refusal_log_interval)
        self._targets = targets
        self._target_groups: frozenset[str] | None = None
        self._learned = SeenSet(config.remembered_peer_ips)
        # Cancel scopes of inbound handshakes still silent, by admission ticket.
        self._silent: dict[int, trio.CancelScope] = {}

    # ------------------------------------------------------------ known addresses

    def targets_changed(self) -> None:
        self._target_groups = None

    def learn(self, host: str) -> None:
        """A peer with an allowed identity came from ``host``: its address is known now."""
        self._learned.add(ip_group(host).encode())

    def is_known(self, group: str) -> bool:
        """Whether an address group may use the reserved handshake slots."""
        if self._target_groups is None:
            self._target_groups = frozenset(
                ip_group(a.host) for a in self._targets() if is_ip_address(a.host)
            )
        return group in self._target_groups or group.encode() in self._learned

    # ------------------------------------------------------------ slots

    def admit(
        self, host: str, remote: str, *, peers_full: bool
    ) -> tuple[int, trio.CancelScope] | None:
        """A slot for a new inbound connection; None when refused (counted: close it)."""
        if peers_full:
            self.refused("max_peers", remote, "refused before the handshake")
            return None
        group = ip_group(host)
        admission = self.admission.admit(group, self.is_known(group))
        if admission.ticket is None:
            self.refused(admission.refusal or BUSY, remote, "refused before the handshake")
            return None
        if admission.evicted is not None:
            victim = self._silent.pop(admission.evicted, None)
            if victim is not None:
                victim.cancel()  # its handshake ends and is counted as "evicted"
        scope = self._silent[admission.ticket] = trio.CancelScope()
        self.stats.handshakes_pending = self.admission.pending
        return admission.ticket, scope

    def spoke(self, ticket: int) -> None:
        """The connection sent a valid first handshake message: it keeps its slot."""
        self.admission.spoke(ticket)
        self._silent.pop(ticket, None)

    def release(self, ticket: int) -> None:
        """The handshake ended (any way): its slot is free."""
        self._silent.pop(ticket, None)
        self.admission.release(ticket)
        self.stats.handshakes_pending = self.admission.pending

    # ------------------------------------------------------------ refusals

    def refused(self, reason: str, remote: str, detail: str) -> None:
        """Count a connection that did not become a peer; log it if first of its reason lately."""
        self.stats.handshake_failures[reason] += 1
        now = trio.current_time()
        if self.refusals.note(reason, now):
            log.warning(
                "handshake_refused",
                reason=reason,
                remote=remote,
                error=detail,
                sampled=f"further {reason} refusals are summarised every "
                f"{self.refusals.interval:g} s",
            )
        self._log_suppressed(now)

    def _log_suppressed(self, now: float) -> None:
        for summary in self.refusals.due(now):
            log.warning(
                "handshake_refusals_suppressed",
                reason=summary.key,
                count=summary.count,
                seconds=round(summary.seconds, 1),
                total=self.stats.handshake_failures[summary.key],
            )

    async def summarise(self) -> None:
        """Write the summaries of refusals left unlogged, once their interval is over."""
        while True:
            await trio.sleep(self.refusals.interval)
            self._log_suppressed(trio.current_time())
