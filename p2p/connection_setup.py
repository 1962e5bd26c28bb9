"""Opening connections: from an accepted or dialled TCP stream to an authenticated peer.

Theory of operation
-------------------
``ConnectionSetup`` runs the accept loop and one dial loop per configured
peer (exponential backoff with jitter; the loop waits while a connection to
that identity exists, whichever side opened it). Every connection is
authenticated by the Noise handshake of ``p2p.handshake``; the peer it
yields is handed to the service (``on_peer``), which decides whether to keep
it (``P2PService`` keeps one connection per identity and at most
``max_peers``).

**Unauthenticated connections** are cheap to open and must stay cheap to
refuse. An inbound connection is first admitted by ``p2p.gate`` (rules in
``p2p.admission``) on its source address alone, in the accept loop, before
a task or any cryptography: at most ``max_pending_handshakes_per_ip``
handshakes in progress per address and ``max_pending_handshakes`` in all,
the last ``reserved_handshake_slots`` of them only for known addresses (dial
targets given as IP addresses, and addresses that completed a handshake
before). When a slot is wanted and none is free, the oldest connection that
has not yet sent a valid first handshake message gives its slot up
(``evicted``): silence holds nothing against a peer that speaks. The whole
handshake, from accept to an authenticated peer, must end within
``handshake_timeout`` or the socket is closed. Outbound dials take no slot:
they go to configured targets only, so strangers filling the inbound slots
cannot stop us reaching the validators. Every refusal is counted by reason
in ``stats`` and logged sampled (the first per reason per
``refusal_log_interval``, then a summary).
"""

from __future__ import annotations

import errno
import random
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

import structlog
import trio

from ledger.crypto import Keypair
from p2p.config import P2PConfig, P2PStats, PeerAddress
from p2p.connect import run_handshake
from p2p.gate import HandshakeGate, remote_host
from p2p.handshake import CheckPeer, Handshake, HandshakeError, HandshakeResult, StaticKey
from p2p.limits import SeenSet
from p2p.peer import PeerConnection

log = structlog.get_logger("p2p")

_ACCEPT_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})

OnPeer = Callable[[PeerConnection], Awaitable[None]]
"""``on_peer(peer)``: keep and run an authenticated peer until it goes."""


class ConnectionSetup:
    """Accepts and dials TCP streams, authenticates them, hands the peers on.

    ``peers`` is the service's table of connected peers, read only: a dial
    loop waits while its identity is connected, the accept loop tells the
    gate when the table is full.
    """

    def __init__(
        self,
        *,
        identity: Keypair,
        static_key: StaticKey,
        genesis_hash: bytes,
        config: P2PConfig,
        stats: P2PStats,
        gate: HandshakeGate,
        peers: Mapping[bytes, PeerConnection],
        check_peer: CheckPeer,
        on_peer: OnPeer,
    ) -> None:
        self.identity = identity
        self.static_key = static_key
        self.genesis_hash = genesis_hash
        self.config = config
        self.stats = stats
        self.gate = gate
        self.peers = peers
        self.check_peer = check_peer
        self.on_peer = on_peer
        self._replay_guard = SeenSet(config.replay_guard_size)

    async def dial_loop(self, address: PeerAddress, scope: trio.CancelScope) -> None:
        """Keep a connection to ``address`` until ``scope`` is cancelled."""
        delay = self.config.reconnect_min
        with scope:
            while True:
                existing = self.peers.get(address.identity)
                if existing is not None:
                    await existing.closed.wait()
                    await trio.sleep(self.config.reconnect_min * random.uniform(0.5, 1.5))
                    continue
                connected = False
                try:
                    with trio.fail_after(self.config.dial_timeout):
                        stream = await trio.open_tcp_stream(address.host, address.port)
                except (OSError, trio.TooSlowError) as exc:
                    log.debug("dial_failed", peer=str(address), error=str(exc))
                else:
                    connected = await self.handle_connection(
                        stream, initiator=True, expected=address.identity, remote=str(address)
                    )
                delay = (
                    self.config.reconnect_min
                    if connected
                    else min(delay * 2, self.config.reconnect_max)
                )
                await trio.sleep(delay * random.uniform(0.5, 1.5))

    async def accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        """Accept connections on ``listener``; each admitted one is handled in ``nursery``."""
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_RESOURCE_ERRORS:
                    raise
                # Out of file descriptors or memory: wait instead of spinning or dying.
                log.error("accept_failed", error=str(exc))
                await trio.sleep(0.1)
                continue
            host, remote = remote_host(stream)
            slot = self.gate.admit(
                host, remote, peers_full=len(self.peers) >= self.config.max_peers
            )
            if slot is None:
                # Before any task or cryptography: an RST, a counter, maybe a log line.
                await trio.aclose_forcefully(stream)
                continue
            inbound = partial(
                self.handle_connection,
                stream,
                initiator=False,
                expected=None,
                remote=remote,
                slot=slot,
            )
            nursery.start_soon(inbound)

    async def _authenticate(
        self,
        stream: trio.SocketStream,
        initiator: bool,
        expected: bytes | None,
        remote: str,
        slot: tuple[int, trio.CancelScope] | None,
    ) -> tuple[HandshakeResult, bytes] | None:
        """The Noise handshake under its deadline; None (counted) when it did not succeed."""
        ticket, evict = slot if slot is not None else (None, trio.CancelScope())
        try:
            with evict:
                # The deadline covers the whole handshake, however slowly the bytes come.
                with trio.fail_after(self.config.handshake_timeout):
                    handshake = Handshake(
                        initiator=initiator,
                        identity=self.identity,
                        static=self.static_key,
                        genesis_hash=self.genesis_hash,
                        check_peer=self.check_peer,
                        replay_guard=None if initiator else self._replay_guard,
                        expected_identity=expected,
                    )
                    spoke = None if ticket is None else partial(self.gate.spoke, ticket)
                    return await run_handshake(stream, handshake, spoke)
            self.gate.refused("evicted", remote, "silent: its slot went to a newer connection")
        except HandshakeError as exc:
            self.gate.refused(exc.reason, remote, str(exc))
        except trio.TooSlowError:
            self.stats.handshake_timeouts += 1
            self.gate.refused(
                "timeout", remote, f"handshake not done in {self.config.handshake_timeout:g} s"
            )
        finally:
            if ticket is not None:
                self.gate.release(ticket)
        return None

    async def handle_connection(
        self,
        stream: trio.SocketStream,
        *,
        initiator: bool,
        expected: bytes | None,
        remote: str,
        slot: tuple[int, trio.CancelScope] | None = None,
    ) -> bool:
        """Handshake, then run the peer until it goes; True if the handshake succeeded.

        ``slot`` is the admission ticket of an inbound connection and the
        cancel scope that evicts it while it is silent.
        """
        try:
            authenticated = await self._authenticate(stream, initiator, expected, remote, slot)
            if authenticated is None:
                return False
            result, leftover = authenticated
            self.stats.handshakes_ok += 1
            self.gate.learn(remote_host(stream)[0])  # an allowed identity came from there
            peer = PeerConnection(
                identity=result.peer_identity,
                remote=remote,
                initiator=initiator,
                stream=stream,
                noise=result.noise,
                leftover=leftover,
                config=self.config,
                stats=self.stats,
            )
            await self.on_peer(peer)
            return True
        finally:
            # Whatever happened (refusal, fault, shutdown), the socket is closed.
            await trio.aclose_forcefully(stream)
