"""The peer-to-peer service: listen, dial, one connection per identity, gossip, sync.

Theory of operation
-------------------
``P2PService.run`` opens the listener and, in one nursery, accepts inbound
connections and keeps a dial loop per configured peer; both are
``p2p.connection_setup``, which also admits unauthenticated connections
(``p2p.gate``) and runs the Noise handshake of ``p2p.handshake`` under its
deadline. At most ``max_peers`` peers stay.

**One connection per identity.** When both sides dial at once each ends up
with two connections to the other. Both keep the one *initiated by the lower
identity key* and close the other, so they agree without talking; a new
connection in the same direction as the existing one replaces it (the peer
restarted and the old socket is dead).

**Delivery.** Messages go to the node through one bounded memory channel
(``inbound``) as ``(peer_id, message)``. When the node is slow, each peer's
reader waits, which pushes back through TCP to that peer only.

**Gossip and dedup** are ``p2p.gossip``: nothing is sent to a peer twice and
each item reaches the node once. Relaying is the node's decision: it calls
``broadcast`` after verifying what it received.

**Sending never blocks.** ``broadcast`` and ``send`` are synchronous: they
queue frames on each peer's bounded queue and return. A full queue drops
the message for that peer (counted); a peer that stops reading is cut off by
the writer's ``write_timeout``.

**Block sync.** ``request_blocks`` asks one peer for committed blocks and
waits for its answer; the node serves peers' requests through the
``serve_blocks`` callback (``p2p.block_requests``).

**Faults.** Anything malformed ends the connection and adds fault points to
the identity (``p2p.peer.FAULT_POINTS``); enough points ban it for
``ban_seconds``, refused at the handshake meanwhile.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import structlog
import trio

from ledger.crypto import HASH_LEN, Keypair
from p2p.block_requests import (
    P2PError,
    PeerUnavailable,
    RequestTimeout,
    ServeBlocks,
    answer_block_request,
    deliver_block_response,
    wait_for_blocks,
)
from p2p.config import P2PConfig, P2PStats, PeerAddress
from p2p.connection_setup import ConnectionSetup
from p2p.gate import HandshakeGate
from p2p.gossip import Gossip
from p2p.handshake import StaticKey
from p2p.limits import PeerScores
from p2p.messages import (
    MAX_BLOCKS_PER_REQUEST,
    BlockRequest,
    BlockResponse,
    Document,
    DocumentRequest,
    Extrinsics,
    Have,
    Message,
    Ping,
    Pong,
    Proposal,
    Status,
    Vote,
)
from p2p.peer import PeerConnection, PeerError

__all__ = ["P2PError", "P2PService", "PeerUnavailable", "RequestTimeout", "ServeBlocks"]

log = structlog.get_logger("p2p")


def _short(identity: bytes) -> str:
    return identity.hex()[:16]


class P2PService:
    def __init__(
        self,
        *,
        identity: Keypair,
        genesis_hash: bytes,
        allow: Callable[[bytes], bool],
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        peers: Sequence[PeerAddress] = (),
        serve_blocks: ServeBlocks | None = None,
        config: P2PConfig | None = None,
        static_key: StaticKey | None = None,
    ) -> None:
        if len(genesis_hash) != HASH_LEN:
            raise ValueError(f"genesis hash must be {HASH_LEN} bytes, got {len(genesis_hash)}")
        if not 0 <= listen_port < 65536:
            raise ValueError(f"listen port {listen_port} outside 0..65535")
        self.identity = identity
        self.genesis_hash = genesis_hash
        self.allow = allow
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.serve_blocks = serve_blocks
        self.config = config or P2PConfig()
        self.static_key = static_key or StaticKey.generate()
        self.stats = P2PStats()
        self.peers: dict[bytes, PeerConnection] = {}
        self.scores = PeerScores(
            self.config.ban_threshold, self.config.score_decay_per_second, self.config.ban_seconds
        )
        self._targets: dict[bytes, PeerAddress] = {}
        self._dial_scopes: dict[bytes, trio.CancelScope] = {}
        self.gossip = Gossip(self.config.seen_global, self.stats)
        self.gate = HandshakeGate(self.config, self.stats, self._targets.values)
        self._setup = ConnectionSetup(
            identity=identity,
            static_key=self.static_key,
            genesis_hash=genesis_hash,
            config=self.config,
            stats=self.stats,
            gate=self.gate,
            peers=self.peers,
            check_peer=self._check_peer,
            on_peer=self._keep_and_run,
        )
        self._request_ids = itertools.count(1)
        self._local_status: Status | None = None
        self._nursery: trio.Nursery | None = None
        self._inbound_send, self.inbound = trio.open_memory_channel[tuple[bytes, Message]](
            self.config.inbound_capacity
        )
        for address in peers:
            if address.identity == identity.public:
                raise ValueError(f"peer list contains our own identity ({address})")
            self._targets[address.identity] = address

    # ================================================================ lifecycle

    async def run(self, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and dial until cancelled; ``task_status.started(port)`` once listening."""
        listeners = await trio.open_tcp_listeners(self.listen_port, host=self.listen_host)
        self.listen_port = listeners[0].socket.getsockname()[1]
        log.info("p2p_listening", host=self.listen_host, port=self.listen_port)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for listener in listeners:
                    nursery.start_soon(self._setup.accept_loop, listener, nursery)
                nursery.start_soon(self.gate.summarise)
                for address in list(self._targets.values()):
                    self._start_dialing(address)
                task_status.started(self.listen_port)
        finally:
            self._nursery = None
            for listener in listeners:
                await trio.aclose_forcefully(listener)

    def add_peer(self, address: PeerAddress) -> None:
        """Dial ``address`` (and keep redialling it) from now on.

        Adding an identity again with a new address replaces the old target.
        """
        if address.identity == self.identity.public:
            raise ValueError("cannot add ourselves as a peer")
        if self._targets.get(address.identity) == address:
            return
        self.remove_peer(address.identity, disconnect=False)
        self._targets[address.identity] = address
        self.gate.targets_changed()
        if self._nursery is not None:
            self._start_dialing(address)

    def remove_peer(self, identity: bytes, disconnect: bool = True) -> None:
        """Stop dialling ``identity``; with ``disconnect``, drop its connection too.

        A connection we dialled lives in its dial task, so it ends with it
        even without ``disconnect``; one the peer dialled stays unless asked.
        """
        self._targets.pop(identity, None)
        self.gate.targets_changed()
        scope = self._dial_scopes.pop(identity, None)
        if scope is not None:
            scope.cancel()
        if disconnect and identity in self.peers:
            self.peers[identity].close("removed")

    def refresh_allowlist(self) -> list[bytes]:
        """Disconnect connected peers ``allow`` now refuses (e.g. after a validator set change)."""
        dropped = [i for i in sorted(self.peers) if not self.allow(i)]
        for identity in dropped:
            log.info("peer_no_longer_allowed", peer=_short(identity))
            self.peers[identity].close("no longer allowed")
        return dropped

    def disconnect(self, identity: bytes, fault: str | None = None, points: float = 0) -> None:
        """Drop a peer; with ``fault``, count ``points`` against it (the node found it lying)."""
        if fault is not None:
            self._penalize(identity, fault, points)
        peer = self.peers.get(identity)
        if peer is not None:
            peer.close(fault or "disconnected by the node")

    # ================================================================ queries

    def connected_peers(self) -> list[bytes]:
        return sorted(self.peers)

    def peer_status(self, identity: bytes) -> Status | None:
        peer = self.peers.get(identity)
        return None if peer is None else peer.status

    def peers_behind(self, height: int, round_: int = 0) -> list[bytes]:
        """Peers whose last Status is behind ``(height, round_)`` (or unknown)."""
        behind = []
        for identity in sorted(self.peers):
            status = self.peers[identity].status
            if status is None or (status.height, status.round) < (height, round_):
                behind.append(identity)
        return behind

    # ================================================================ sending

    def set_status(self, status: Status) -> int:
        """Record our status (sent to every new peer) and broadcast it now."""
        if status.genesis_hash != self.genesis_hash:
            raise ValueError("status genesis_hash is not this chain's")
        self._local_status = status
        return self.broadcast(status)

    def broadcast(self, message: Message) -> int:
        """Queue ``message`` to every peer that lacks it; returns how many it was queued to."""
        return self.gossip.fan_out((self.peers[i] for i in sorted(self.peers)), message)

    def send(self, identity: bytes, message: Message, *, force: bool = False) -> bool:
        """Queue ``message`` to one peer; with ``force``, even if it has it already."""
        peer = self.peers.get(identity)
        return peer is not None and self.gossip.fan_out([peer], message, force) == 1

    # ================================================================ block sync

    async def request_blocks(
        self, identity: bytes, from_height: int, count: int, timeout: float | None = None
    ) -> list[tuple[bytes, bytes]]:
        """Ask one peer for committed blocks; the node verifies what comes back.

        Raises ``PeerUnavailable`` (not connected, queue full, disconnected
        while waiting) or ``RequestTimeout``.
        """
        if from_height < 0:
            raise ValueError(f"from_height must be >= 0, got {from_height}")
        if not 1 <= count <= MAX_BLOCKS_PER_REQUEST:
            raise ValueError(f"count must be in 1..{MAX_BLOCKS_PER_REQUEST}, got {count}")
        peer = self.peers.get(identity)
        if peer is None:
            raise PeerUnavailable(f"peer {_short(identity)} is not connected")
        request = BlockRequest(next(self._request_ids), from_height, count)
        return await wait_for_blocks(peer, request, timeout or self.config.request_timeout)

    # ================================================================ connections

    def _start_dialing(self, address: PeerAddress) -> None:
        assert self._nursery is not None
        scope = trio.CancelScope()
        self._dial_scopes[address.identity] = scope
        self._nursery.start_soon(self._setup.dial_loop, address, scope)

    def _check_peer(self, identity: bytes) -> str | None:
        if self.scores.is_banned(identity, trio.current_time()):
            return "banned"
        if not self.allow(identity):
            return "not_allowed"
        return None

    async def _keep_and_run(self, peer: PeerConnection) -> None:
        """An authenticated peer from ``ConnectionSetup``: keep it and run it, or drop it."""
        if self._register(peer):
            await self._run_peer(peer)

    def _register(self, peer: PeerConnection) -> bool:
        existing = self.peers.get(peer.identity)
        if existing is not None and existing.initiator != peer.initiator:
            # Simultaneous dials: keep the connection initiated by the lower identity.
            lower_is_us = self.identity.public < peer.identity
            if peer.initiator != lower_is_us:
                log.debug("duplicate_connection_closed", peer=_short(peer.identity))
                return False
        if existing is None and len(self.peers) >= self.config.max_peers:
            log.warning("peer_refused", peer=_short(peer.identity), reason="max_peers")
            return False
        if existing is not None:
            existing.close("replaced by a newer connection")
        self.peers[peer.identity] = peer
        self.stats.peers = len(self.peers)
        self.stats.connects += 1
        log.info("peer_connected", peer=_short(peer.identity), remote=peer.remote,
                 initiator=peer.initiator)  # fmt: skip
        if not peer.initiator:
            peer.send_message(Ping(0))  # the accept signal run_handshake waits for
        if self._local_status is not None:
            peer.send_message(self._local_status)
        return True

    async def _run_peer(self, peer: PeerConnection) -> None:
        kind, detail = "closed", ""
        try:
            await peer.run(self._on_message)
        except PeerError as exc:
            kind, detail = exc.kind, str(exc)
            if exc.points:
                self._penalize(peer.identity, exc.kind, exc.points)
        finally:
            if self.peers.get(peer.identity) is peer:
                del self.peers[peer.identity]
            self.stats.peers = len(self.peers)
            self.stats.disconnects += 1
            for send, _ in peer.pending.values():
                send.close()
            peer.closed.set()
        log.info("peer_disconnected", peer=_short(peer.identity), reason=kind,
                 detail=detail or peer.close_reason)  # fmt: skip

    def _penalize(self, identity: bytes, kind: str, points: float) -> None:
        self.stats.peer_faults[kind] += 1
        banned = self.scores.penalize(identity, points, trio.current_time())
        log.warning("peer_fault", peer=_short(identity), kind=kind, points=points, banned=banned)
        if banned and identity in self.peers:
            self.peers[identity].close("banned")

    # ================================================================ receiving

    async def _on_message(self, peer: PeerConnection, message: Message, body: bytes) -> None:
        if isinstance(message, (Proposal, Vote, Extrinsics, Document)):
            fresh = self.gossip.accept(peer, message, body)
            if fresh is not None:
                await self._inbound_send.send((peer.identity, fresh))
        elif isinstance(message, Status):
            if message.genesis_hash != self.genesis_hash:
                raise PeerError("wrong_genesis", "status for another chain")
            peer.status = message
            await self._inbound_send.send((peer.identity, message))
        elif isinstance(message, DocumentRequest):
            # metered as block requests are: each may cost the node 64 file reads
            wait = peer.request_bucket.take(1, trio.current_time())
            if wait > 0:
                await trio.sleep(wait)
            await self._inbound_send.send((peer.identity, message))  # the node answers
        elif isinstance(message, Have):
            for key in message.keys:
                peer.seen.add(key)
        elif isinstance(message, BlockRequest):
            wait = peer.request_bucket.take(1, trio.current_time())
            if wait > 0:
                await trio.sleep(wait)
            peer.send_message(answer_block_request(message, self.serve_blocks, self.config))
        elif isinstance(message, BlockResponse):
            deliver_block_response(peer, message)
        elif isinstance(message, Ping):
            peer.send_message(Pong(message.nonce))
        # Pong: its arrival already reset the idle timer; nothing else to do.
