"""The peer-to-peer service: listen, dial, one connection per identity, gossip, sync.

Theory of operation
-------------------
``P2PService.run`` opens the listener and, in one nursery, accepts inbound
connections and keeps a dial loop per configured peer (exponential backoff
with jitter; the loop waits while a connection to that identity exists,
whichever side opened it). Every connection is authenticated by the Noise
handshake of ``p2p.handshake``; at most ``max_peers`` peers stay.

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

**Block sync.** ``request_blocks`` sends a ``BlockRequest`` and waits for the
matching ``BlockResponse`` (or a timeout, or the peer's disconnection). The
node serves requests through the ``serve_blocks`` callback; responses are
bounded in count and bytes.

**Faults.** Anything malformed ends the connection and adds fault points to
the identity (``p2p.peer.FAULT_POINTS``); enough points ban it for
``ban_seconds``, refused at the handshake meanwhile.
"""

from __future__ import annotations

import errno
import itertools
import random
from collections.abc import Callable, Sequence
from functools import partial

import structlog
import trio

from ledger.crypto import HASH_LEN, Keypair
from p2p.config import P2PConfig, P2PStats, PeerAddress
from p2p.connect import run_handshake
from p2p.gate import HandshakeGate, remote_host
from p2p.gossip import Gossip
from p2p.handshake import Handshake, HandshakeError, HandshakeResult, StaticKey
from p2p.limits import PeerScores, SeenSet
from p2p.messages import (
    MAX_BLOCK_RESPONSE_BYTES,
    MAX_BLOCKS_PER_REQUEST,
    BlockRequest,
    BlockResponse,
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

log = structlog.get_logger("p2p")

_ACCEPT_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})

ServeBlocks = Callable[[int, int], Sequence[tuple[bytes, bytes]]]
"""``serve_blocks(from_height, count)`` -> committed ``(block bytes, commit bytes)`` in order."""


class P2PError(Exception):
    """A request to the p2p layer that cannot be met."""


class PeerUnavailable(P2PError):
    """The peer is not connected, went away, or its send queue is full."""


class RequestTimeout(P2PError):
    """The peer did not answer a block request in time."""


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
        self._replay_guard = SeenSet(self.config.replay_guard_size)
        self.gossip = Gossip(self.config.seen_global, self.stats)
        self.gate = HandshakeGate(self.config, self.stats, self._targets.values)
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
                    nursery.start_soon(self._accept_loop, listener)
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
        request_id = next(self._request_ids)
        send, receive = trio.open_memory_channel[BlockResponse](1)
        peer.pending[request_id] = (send, count)
        try:
            if not peer.send_message(BlockRequest(request_id, from_height, count)):
                raise PeerUnavailable(f"peer {_short(identity)} send queue is full")
            with trio.fail_after(timeout or self.config.request_timeout):
                response = await receive.receive()
        except trio.TooSlowError:
            raise RequestTimeout(f"peer {_short(identity)} did not answer in time") from None
        except trio.EndOfChannel:
            raise PeerUnavailable(f"peer {_short(identity)} disconnected") from None
        finally:
            if peer.pending.pop(request_id, None) is not None:
                peer.expired.append(request_id)
        return list(response.blocks)

    def _serve(self, request: BlockRequest) -> BlockResponse:
        count = min(request.count, self.config.max_blocks_per_response)
        budget = min(self.config.max_response_bytes, MAX_BLOCK_RESPONSE_BYTES - 1024)
        entries = [] if self.serve_blocks is None else self.serve_blocks(request.from_height, count)
        out: list[tuple[bytes, bytes]] = []
        used = 0
        for block, commit in list(entries)[:count]:
            if not isinstance(block, bytes) or not isinstance(commit, bytes):
                raise TypeError("serve_blocks must return (bytes, bytes) pairs")
            used += len(block) + len(commit) + 16
            if used > budget:
                break
            out.append((block, commit))
        return BlockResponse(request.request_id, tuple(out))

    # ================================================================ connections

    def _start_dialing(self, address: PeerAddress) -> None:
        assert self._nursery is not None
        scope = trio.CancelScope()
        self._dial_scopes[address.identity] = scope
        self._nursery.start_soon(self._dial_loop, address, scope)

    async def _dial_loop(self, address: PeerAddress, scope: trio.CancelScope) -> None:
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
                    connected = await self._handle_connection(
                        stream, initiator=True, expected=address.identity, remote=str(address)
                    )
                delay = (
                    self.config.reconnect_min
                    if connected
                    else min(delay * 2, self.config.reconnect_max)
                )
                await trio.sleep(delay * random.uniform(0.5, 1.5))

    async def _accept_loop(self, listener: trio.SocketListener) -> None:
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
            assert self._nursery is not None
            inbound = partial(
                self._handle_connection,
                stream,
                initiator=False,
                expected=None,
                remote=remote,
                slot=slot,
            )
            self._nursery.start_soon(inbound)

    def _check_peer(self, identity: bytes) -> str | None:
        if self.scores.is_banned(identity, trio.current_time()):
            return "banned"
        if not self.allow(identity):
            return "not_allowed"
        return None

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
                        check_peer=self._check_peer,
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

    async def _handle_connection(
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
            if self._register(peer):
                await self._run_peer(peer)
            return True
        finally:
            # Whatever happened (refusal, fault, shutdown), the socket is closed.
            await trio.aclose_forcefully(stream)

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
        if isinstance(message, (Proposal, Vote, Extrinsics)):
            fresh = self.gossip.accept(peer, message, body)
            if fresh is not None:
                await self._inbound_send.send((peer.identity, fresh))
        elif isinstance(message, Status):
            if message.genesis_hash != self.genesis_hash:
                raise PeerError("wrong_genesis", "status for another chain")
            peer.status = message
            await self._inbound_send.send((peer.identity, message))
        elif isinstance(message, Have):
            for key in message.keys:
                peer.seen.add(key)
        elif isinstance(message, BlockRequest):
            wait = peer.request_bucket.take(1, trio.current_time())
            if wait > 0:
                await trio.sleep(wait)
            peer.send_message(self._serve(message))
        elif isinstance(message, BlockResponse):
            waiting = peer.pending.pop(message.request_id, None)
            if waiting is None and message.request_id in peer.expired:
                peer.expired.remove(message.request_id)  # a late answer: drop it quietly
            elif waiting is None:
                raise PeerError("unsolicited_response", f"no request {message.request_id}")
            else:
                send, count = waiting
                if len(message.blocks) > count:
                    raise PeerError(
                        "bad_message", f"{len(message.blocks)} blocks for {count} asked"
                    )
                send.send_nowait(message)
        elif isinstance(message, Ping):
            peer.send_message(Pong(message.nonce))
        # Pong: its arrival already reset the idle timer; nothing else to do.
