"""P2P settings, peer addresses and counters.

Theory of operation
-------------------
``P2PConfig`` holds every bound and timeout of the peer layer in one frozen
record with safe defaults; the node builds it from its settings file.
``PeerAddress`` is a dial target, written ``PUBKEYHEX@host:port`` in the
node's configuration. ``P2PStats`` is a bag of plain counters the service
increments and the node exports to Prometheus; reading them never blocks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ledger.crypto import KEY_LEN


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """Where to dial a peer, and the identity that must answer there."""

    identity: bytes
    host: str
    port: int

    def __post_init__(self) -> None:
        if len(self.identity) != KEY_LEN:
            raise ValueError(f"peer identity must be {KEY_LEN} bytes, got {len(self.identity)}")
        if not self.host:
            raise ValueError("peer host is empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"peer port {self.port} outside 1..65535")

    @classmethod
    def parse(cls, text: str) -> PeerAddress:
        """``PUBKEYHEX@host:port`` (IPv6 hosts in brackets: ``KEY@[::1]:30333``)."""
        key, sep, hostport = text.partition("@")
        if not sep:
            raise ValueError(f"peer {text!r}: expected PUBKEYHEX@host:port")
        try:
            identity = bytes.fromhex(key)
        except ValueError:
            raise ValueError(f"peer {text!r}: key is not hex") from None
        host, colon, port = hostport.rpartition(":")
        if not colon or not port.isdigit():
            raise ValueError(f"peer {text!r}: expected host:port after '@'")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return cls(identity, host, int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.identity.hex()}@{host}:{self.port}"


# Fields that may be zero (all others must be positive).
_MAY_BE_ZERO = frozenset({"reserved_handshake_slots"})


@dataclass(frozen=True, slots=True)
class P2PConfig:
    max_peers: int = 50
    # Inbound handshakes in progress (unauthenticated connections), in all and
    # per source address (IPv6: per /64); the last reserved_handshake_slots of
    # them only for known addresses (configured peers, past peers). See p2p.admission.
    max_pending_handshakes: int = 32
    max_pending_handshakes_per_ip: int = 4
    reserved_handshake_slots: int = 8
    # The whole handshake, from accept (or connect) to an authenticated peer.
    handshake_timeout: float = 5.0
    # Refusals are logged once per reason per interval, then summarised.
    refusal_log_interval: float = 10.0
    # Source addresses of peers that completed a handshake, remembered as known.
    remembered_peer_ips: int = 1024
    dial_timeout: float = 5.0
    reconnect_min: float = 0.5
    # Dial targets are the few validators and configured peers, so redialling
    # them often is cheap; a long backoff would keep a healed network split
    # for up to 1.5x this long (scripts/chaos.py measured 2 s recoveries
    # after 6 s partitions with 30 s here, and unbounded growth with longer ones).
    reconnect_max: float = 2.0
    # A write that makes no progress for this long means the peer stopped reading.
    write_timeout: float = 10.0
    # Send a ping after this much outbound silence; drop a peer silent for idle_timeout.
    ping_interval: float = 15.0
    idle_timeout: float = 60.0
    # Outbound queue per peer: a full queue drops the message (counted), never blocks.
    send_queue_messages: int = 4096
    send_queue_bytes: int = 64 << 20
    # Inbound metering per peer (token buckets; the reader waits when in debt).
    recv_bytes_per_second: float = 16 << 20
    recv_bytes_burst: float = 64 << 20
    recv_messages_per_second: float = 5000.0
    recv_messages_burst: float = 20000.0
    block_requests_per_second: float = 20.0
    block_requests_burst: float = 40.0
    # Dedup memory.
    seen_per_peer: int = 16384
    seen_global: int = 65536
    replay_guard_size: int = 65536
    # Faults: points per kind, ban threshold and duration.
    ban_threshold: float = 100.0
    ban_seconds: float = 300.0
    score_decay_per_second: float = 1.0
    # Block sync.
    max_blocks_per_response: int = 64
    max_response_bytes: int = 32 << 20
    request_timeout: float = 10.0
    inbound_capacity: int = 1024

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value < 0 or (value == 0 and name not in _MAY_BE_ZERO):
                raise ValueError(f"p2p config {name} must be positive, got {value}")
        if self.reconnect_min > self.reconnect_max:
            raise ValueError("p2p config reconnect_min exceeds reconnect_max")
        if self.reserved_handshake_slots >= self.max_pending_handshakes:
            raise ValueError(
                "p2p config reserved_handshake_slots must be below max_pending_handshakes"
            )
        if self.max_pending_handshakes_per_ip > self.max_pending_handshakes:
            raise ValueError(
                "p2p config max_pending_handshakes_per_ip exceeds max_pending_handshakes"
            )


@dataclass(slots=True)
class P2PStats:
    """Counters for metrics (and two gauges, ``peers`` and ``handshakes_pending``)."""

    bytes_in: int = 0
    bytes_out: int = 0
    messages_in: Counter[str] = field(default_factory=Counter)
    messages_out: Counter[str] = field(default_factory=Counter)
    duplicates_in: int = 0
    dropped_out: int = 0
    peer_faults: Counter[str] = field(default_factory=Counter)
    handshakes_ok: int = 0
    # Every connection refused before it became a peer, by reason: before the
    # handshake (ip_limit, busy, max_peers), its deadline (timeout), or the
    # handshake's own codes (not_allowed, genesis, decrypt, closed, ...).
    handshake_failures: Counter[str] = field(default_factory=Counter)
    handshake_timeouts: int = 0
    # Inbound handshakes in progress now (a gauge, not a counter).
    handshakes_pending: int = 0
    connects: int = 0
    disconnects: int = 0
    peers: int = 0
