"""Settings of the JSON-RPC server (spec/rpc.md, "Limits and exposure").

Every limit has the default the spec names: listen on 127.0.0.1 only, a body
of at most 1 MiB, batches of at most 100 calls, a bounded number of WebSocket
connections and of subscriptions on each, no CORS origins, node-changing
("unsafe") methods off. Issue 17 added the limits that keep RPC from starving
consensus: worker threads, batch cost, per-connection rate limit, paginated
pool listing, body and read timeouts, a total connection cap (docs/rpc.md,
"Limits and isolation"). The node fills an ``RpcConfig`` from its
``[rpc]`` config section; tests build one with ``port=0``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class RpcConfig(BaseModel):
    """What the server binds and the limits it enforces; validated, immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1, description="interface to bind")
    port: int = Field(default=9944, ge=0, le=65535, description="TCP port; 0 picks a free one")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    max_batch: int = Field(default=100, ge=1, le=10_000)
    max_ws_connections: int = Field(default=100, ge=1, le=10_000)
    max_subscriptions_per_connection: int = Field(default=64, ge=1, le=10_000)
    # Messages queued for one WebSocket client before it counts as too slow
    # and is disconnected (a stalled reader must not hold node memory).
    ws_send_queue: int = Field(default=1024, ge=16, le=1_000_000)
    # Browser origins allowed by CORS and for WebSocket handshakes; "*" allows any.
    cors_origins: tuple[str, ...] = ()
    unsafe_methods: bool = False
    # The web explorer's static files at /explorer/ (docs/explorer.md); its own
    # page may then open a WebSocket from the same origin. Off for validators.
    explorer: bool = False
    # Where the built explorer lives; None: explorer/dist beside the packages.
    explorer_dir: Path | None = None
    # Idle connections, and connections that never finish their request headers,
    # are closed after this (hypercorn's idle timer; CometBFT: 10 s).
    keep_alive_timeout_s: int = Field(default=10, ge=1, le=3600)
    keep_alive_max_requests: int = Field(default=100_000, ge=1)

    # ---- isolation from consensus and limits against abuse (docs/rpc.md,
    # "Limits and isolation"); every one is reachable from the node's [rpc].
    # Worker threads running RPC work off the event loop (JSON of large
    # bodies and replies, block decoding); a trio.CapacityLimiter.
    worker_threads: int = Field(default=2, ge=1, le=64)
    # A batch whose summed method costs exceed this is refused whole (-32600).
    # Most methods cost 1; see ``Method.cost`` and docs/rpc.md.
    max_batch_cost: int = Field(default=1000, ge=1, le=1_000_000)
    # Token bucket per connection, in cost units: refill per second and
    # capacity; a call or batch that finds too few tokens gets -32005. 0: off.
    rate_limit_per_s: float = Field(default=5000.0, ge=0, le=1_000_000)
    rate_limit_burst: int = Field(default=10_000, ge=1, le=10_000_000)
    # The same per client address, shared by all its connections (a client
    # reconnecting for every batch starts each connection's bucket afresh). 0: off.
    rate_limit_per_ip_s: float = Field(default=20_000.0, ge=0, le=10_000_000)
    rate_limit_per_ip_burst: int = Field(default=40_000, ge=1, le=100_000_000)
    # author_pendingExtrinsics (unsafe only): page size when none is asked for,
    # and the hard cap on the ``limit`` parameter.
    pending_page_default: int = Field(default=100, ge=1, le=100_000)
    pending_page_max: int = Field(default=1000, ge=1, le=100_000)
    # A request body not received whole within this many seconds is answered
    # 408 and its connection closed (the app's deadline, rpc.app).
    body_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # hypercorn closes any connection silent this long, WebSockets included:
    # so the server pings every ``ws_ping_interval_s`` and a live client's pong
    # keeps it open; a dead peer is closed (jsonrpsee's ping / inactive limit).
    read_timeout_s: int = Field(default=60, ge=1, le=3600)
    ws_ping_interval_s: float = Field(default=20.0, gt=0, le=3600)
    # A reply (a whole batch's) larger than this is not sent: -32008 "response
    # too big", as Substrate's --rpc-max-response-size (15 MiB by default).
    max_response_bytes: int = Field(default=15 << 20, ge=1024, le=1 << 30)
    # HTTP requests in progress plus open WebSockets; beyond it a request gets
    # 503 with ``Connection: close`` and a WebSocket is closed with 1013.
    max_connections: int = Field(default=500, ge=1, le=100_000)

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} must be '*' or start with http(s)://")
        return origins

    @model_validator(mode="after")
    def _check_limits(self) -> RpcConfig:
        if self.max_ws_connections > self.max_connections:
            raise ValueError(
                f"max_ws_connections ({self.max_ws_connections}) exceeds "
                f"max_connections ({self.max_connections})"
            )
        if self.ws_ping_interval_s >= self.read_timeout_s:
            raise ValueError(
                f"ws_ping_interval_s ({self.ws_ping_interval_s:g}) must be below read_timeout_s "
                f"({self.read_timeout_s}): a live WebSocket client would be cut between pings"
            )
        if self.pending_page_default > self.pending_page_max:
            raise ValueError("pending_page_default exceeds pending_page_max")
        if self.rate_limit_per_s > 0 and self.rate_limit_burst < self.max_batch_cost:
            raise ValueError(
                f"rate_limit_burst ({self.rate_limit_burst}) is below max_batch_cost "
                f"({self.max_batch_cost}): the largest allowed batch could never run"
            )
        if self.rate_limit_per_ip_s > 0 and self.rate_limit_per_ip_burst < self.max_batch_cost:
            raise ValueError(
                f"rate_limit_per_ip_burst ({self.rate_limit_per_ip_burst}) is below "
                f"max_batch_cost ({self.max_batch_cost}): the largest allowed batch could never run"
            )
        return self

    @classmethod
    def from_listen(cls, listen: str, **limits: object) -> RpcConfig:
        """Build from a ``HOST:PORT`` string (the node's ``rpc.listen``) and other fields."""
        host, sep, port = listen.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"rpc listen: expected HOST:PORT, got {listen!r}")
        return cls.model_validate({"host": host.strip("[]"), "port": int(port), **limits})

    @property
    def bind(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def origin_allowed(self, origin: str) -> bool:
        return "*" in self.cors_origins or origin in self.cors_origins
