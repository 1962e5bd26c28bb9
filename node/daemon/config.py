"""Node configuration: ``HOME/config.toml``, overridable by environment variables.

Every setting is documented in ``CONFIG_TEMPLATE`` (written by ``credichain
node init``) and validated by pydantic; a bad value is refused at start with
the setting's dotted name and the reason. An environment variable
``CREDICHAIN_<SECTION>__<KEY>`` overrides the file, for example
``CREDICHAIN_RPC__LISTEN=0.0.0.0:9944`` (containers, systemd units).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from p2p.config import P2PConfig
from rpc.config import RpcConfig


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the setting."""


def parse_hostport(value: str, setting: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"{setting}: expected HOST:PORT, got {value!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"{setting}: port {port} out of range")
    return host.strip("[]"), port


def _check_listen(value: str) -> str:
    parse_hostport(value, "listen")
    return value


class NodeSection(BaseModel):
    moniker: str = Field("credichain-node", min_length=1, max_length=64)
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class P2PSection(BaseModel):
    listen: str = "127.0.0.1:30333"
    # Extra peers beyond the validator set, "PUBKEYHEX@host:port".
    peers: list[str] = Field(default_factory=list)
    max_peers: int = Field(50, ge=1, le=1000)
    # The whole Noise handshake, from accept (or connect) to an authenticated peer.
    handshake_timeout_ms: int = Field(5000, ge=100, le=60_000)
    # Inbound handshakes in progress (unauthenticated), in all and per source
    # address (IPv6: per /64); the reserved ones only for known addresses
    # (the validators' and peers' addresses, and past peers').
    max_pending_handshakes: int = Field(32, ge=1, le=4096)
    max_pending_handshakes_per_ip: int = Field(4, ge=1, le=4096)
    reserved_handshake_slots: int = Field(8, ge=0, le=4095)
    # Refusals: the first per reason per interval is logged, then one summary line.
    refusal_log_interval_ms: int = Field(10_000, ge=100, le=3_600_000)

    _listen = field_validator("listen")(_check_listen)

    @model_validator(mode="after")
    def _check_handshake_slots(self) -> P2PSection:
        if self.reserved_handshake_slots >= self.max_pending_handshakes:
            raise ValueError("reserved_handshake_slots must be below max_pending_handshakes")
        if self.max_pending_handshakes_per_ip > self.max_pending_handshakes:
            raise ValueError("max_pending_handshakes_per_ip exceeds max_pending_handshakes")
        return self

    def p2p_config(self, base: P2PConfig | None = None) -> P2PConfig:
        """The p2p service's settings: ``base`` (or the defaults) with this section's values."""
        return replace(
            base or P2PConfig(),
            max_peers=self.max_peers,
            handshake_timeout=self.handshake_timeout_ms / 1000,
            max_pending_handshakes=self.max_pending_handshakes,
            max_pending_handshakes_per_ip=self.max_pending_handshakes_per_ip,
            reserved_handshake_slots=self.reserved_handshake_slots,
            refusal_log_interval=self.refusal_log_interval_ms / 1000,
        )

    @field_validator("peers")
    @classmethod
    def _check_peers(cls, peers: list[str]) -> list[str]:
        for peer in peers:
            key, sep, addr = peer.partition("@")
            if not sep or len(key) != 64:
                raise ValueError(f"peer {peer!r}: expected 64-hex-digit key@host:port")
            bytes.fromhex(key)
            parse_hostport(addr, f"peer {peer!r}")
        return peers


class RpcSection(BaseModel):
    enabled: bool = True
    listen: str = "127.0.0.1:9944"
    max_body_bytes: int = Field(1 << 20, ge=1024, le=64 << 20)
    max_batch: int = Field(100, ge=1, le=10_000)
    max_ws_connections: int = Field(100, ge=1, le=10_000)
    max_subscriptions_per_connection: int = Field(64, ge=1, le=10_000)
    cors_origins: list[str] = Field(default_factory=list)
    unsafe_methods: bool = False
    explorer: bool = False
    # Isolation from consensus and limits against abuse (docs/rpc.md, "Limits
    # and isolation"); the defaults are rpc.config.RpcConfig's.
    ws_send_queue: int = Field(1024, ge=16, le=1_000_000)
    worker_threads: int = Field(2, ge=1, le=64)
    max_batch_cost: int = Field(1000, ge=1, le=1_000_000)
    rate_limit_per_s: int = Field(5000, ge=0, le=1_000_000)
    rate_limit_burst: int = Field(10_000, ge=1, le=10_000_000)
    rate_limit_per_ip_s: int = Field(20_000, ge=0, le=10_000_000)
    rate_limit_per_ip_burst: int = Field(40_000, ge=1, le=100_000_000)
    pending_page_default: int = Field(100, ge=1, le=100_000)
    pending_page_max: int = Field(1000, ge=1, le=100_000)
    body_timeout_s: int = Field(10, ge=1, le=3600)
    read_timeout_s: int = Field(60, ge=1, le=3600)
    ws_ping_interval_s: int = Field(20, ge=1, le=3600)
    keep_alive_timeout_s: int = Field(10, ge=1, le=3600)
    max_connections: int = Field(500, ge=1, le=100_000)
    max_response_bytes: int = Field(15 << 20, ge=1024, le=1 << 30)

    _listen = field_validator("listen")(_check_listen)

    def server_config(self) -> RpcConfig:
        """The ``RpcConfig`` the node's RPC server runs with (every field of this section)."""
        fields = self.model_dump(exclude={"enabled", "listen", "cors_origins"})
        return RpcConfig.from_listen(self.listen, cors_origins=tuple(self.cors_origins), **fields)

    @model_validator(mode="after")
    def _check_server_config(self) -> RpcSection:
        self.server_config()  # cross-field rules (e.g. max_ws_connections <= max_connections)
        return self


class MetricsSection(BaseModel):
    enabled: bool = True
    listen: str = "127.0.0.1:9615"

    _listen = field_validator("listen")(_check_listen)


class ConsensusSection(BaseModel):
    timeout_propose_ms: int = Field(1000, ge=50, le=60_000)
    timeout_prevote_ms: int = Field(500, ge=20, le=60_000)
    timeout_precommit_ms: int = Field(500, ge=20, le=60_000)
    timeout_delta_ms: int = Field(250, ge=0, le=60_000)
    # Pause after a commit before the next height starts, to gather extrinsics.
    block_interval_ms: int = Field(100, ge=0, le=60_000)
    # Blocks when there is work (CometBFT's create_empty_blocks = false): after
    # the pause, a node with no transaction waits for one (or for a peer's
    # proposal or vote of the next height) up to create_empty_blocks_interval_ms
    # after the last commit, then makes a heartbeat block so that block time
    # (review windows, governance rounds, epochs) still moves. true: a block
    # every block_interval_ms, work or not.
    create_empty_blocks: bool = False
    create_empty_blocks_interval_ms: int = Field(10_000, ge=1, le=600_000)
    # Every validator executes a block before voting for it; on 2 cores a block
    # of 1 000 transfers takes a few hundred ms per node (scripts/bench_localnet.py).
    max_block_extrinsics: int = Field(1000, ge=1, le=100_000)
    max_block_bytes: int = Field(4 << 20, ge=1024, le=16 << 20)

    @model_validator(mode="after")
    def _check_heartbeat(self) -> ConsensusSection:
        if self.create_empty_blocks_interval_ms < self.block_interval_ms:
            raise ValueError(
                "create_empty_blocks_interval_ms must be at least block_interval_ms "
                f"({self.create_empty_blocks_interval_ms} < {self.block_interval_ms})"
            )
        return self

    @property
    def idle_wait_ms(self) -> int:
        """How long after a commit an idle node waits for work; 0 = it never waits."""
        return 0 if self.create_empty_blocks else self.create_empty_blocks_interval_ms


class MempoolSection(BaseModel):
    max_count: int = Field(50_000, ge=1, le=10_000_000)
    max_bytes: int = Field(64 << 20, ge=1024, le=4 << 30)
    max_per_sender: int = Field(1000, ge=1, le=100_000)


class StorageSection(BaseModel):
    # Keep the state of only the last N blocks; 0 keeps every version (auditors).
    prune_keep_versions: int = Field(0, ge=0)


class HistorySection(BaseModel):
    # The history index (node/daemon/history.py): account_history, funds_statement.
    enabled: bool = True


class SectionEnvSource(EnvSettingsSource):
    """Only ``CREDICHAIN_<SECTION>__<KEY>`` variables reach the config.

    A variable named as a whole section is not a setting: ``CREDICHAIN_RPC``
    is the clients' node URL (node/cli/options.py), which an operator often
    has set in the same shell, and read as the ``[rpc]`` section it would be
    parsed as JSON and stop ``node init`` and ``node start`` with a traceback.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        sections = {f"{self.env_prefix}{name}".lower() for name in self.settings_cls.model_fields}
        found = super()._load_env_vars()
        return {name: value for name, value in found.items() if name.lower() not in sections}


class NodeConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDICHAIN_", env_nested_delimiter="__", extra="forbid"
    )

    node: NodeSection = Field(default_factory=NodeSection)
    p2p: P2PSection = Field(default_factory=P2PSection)
    rpc: RpcSection = Field(default_factory=RpcSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    consensus: ConsensusSection = Field(default_factory=ConsensusSection)
    mempool: MempoolSection = Field(default_factory=MempoolSection)
    storage: StorageSection = Field(default_factory=StorageSection)
    history: HistorySection = Field(default_factory=HistorySection)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides the file's values passed as init kwargs.
        return (SectionEnvSource(settings_cls), init_settings)


def load_config(path: Path) -> NodeConfig:
    """Read and validate ``path``; raise ``ConfigError`` naming the bad setting."""
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text()) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return NodeConfig(**raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


SECTION_DOCS: dict[str, str] = {
    "node": "Identity and logging. log_format: console (people) or json (log shippers).",
    "p2p": (
        "Peer-to-peer: listen address; extra peers beyond the genesis validators as\n"
        '# "PUBKEYHEX@host:port"; the handshake deadline; inbound handshakes in\n'
        "# progress in all and per source address, some reserved for known addresses\n"
        "# (docs/p2p.md); refusals logged once per reason per interval, then summarised."
    ),
    "rpc": (
        "JSON-RPC over HTTP and WebSocket on one port. Listens on 127.0.0.1 only by\n"
        "# default; limits per spec/rpc.md; no CORS origins and no node-changing\n"
        "# (unsafe) methods unless enabled; explorer serves /explorer/. Isolation\n"
        "# and abuse limits (worker threads, batch cost, per-connection rate limit,\n"
        "# pending-pool pages, body/read timeouts, connection cap): docs/rpc.md."
    ),
    "metrics": "Prometheus metrics at GET /metrics.",
    "consensus": (
        "Timeouts grow by timeout_delta_ms per round; block_interval_ms is the pause\n"
        "# after a commit; block limits in extrinsics and bytes. Blocks when there is\n"
        "# work: with create_empty_blocks = false a node with no transaction waits after\n"
        "# the pause, and a transaction (or a peer's proposal) starts the next block at\n"
        "# once; an idle chain makes a heartbeat block every\n"
        "# create_empty_blocks_interval_ms so that block time (review windows, governance\n"
        "# rounds, epochs) moves. Production default 10 s (at most 360 blocks per idle\n"
        "# hour; keep it well under the 30 s CredichainNoNewBlock alert); a localnet\n"
        "# uses 1 s. create_empty_blocks = true makes a block every block_interval_ms\n"
        "# (docs/consensus.md, docs/operations.md)."
    ),
    "mempool": "Pool limits: count, bytes, and extrinsics per sender.",
    "storage": (
        "prune_keep_versions: the state of only the newest N blocks is kept, pruned at\n"
        "# each start and by credichain node prune (blocks are never pruned; RPC reads\n"
        "# of an older state are refused). 0, the default: an archive node keeps every\n"
        "# state version. credichain node du shows what takes the space (docs/operations.md)."
    ),
    "history": (
        "The history index of accounts and funds (RPC account_history, funds_statement),\n"
        "# in data/history, rebuilt from the blocks by credichain node reindex."
    ),
}


def render_config(config: NodeConfig) -> str:
    """A commented ``config.toml`` holding every setting of ``config``."""
    lines = [
        "# credichain node configuration. Every setting can be overridden by an",
        "# environment variable CREDICHAIN_<SECTION>__<KEY>, e.g. CREDICHAIN_RPC__LISTEN.",
        "",
    ]
    for section, model in config:
        lines.append(f"# {SECTION_DOCS[section]}")
        lines.append(f"[{section}]")
        for key, value in model.model_dump().items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)
