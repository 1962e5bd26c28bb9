"""Prometheus metrics of a node, served at GET /metrics on the metrics port.

One ``CollectorRegistry`` per node (not the process-global one), so tests can
run several nodes in one process without metric name clashes.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ledger.types import Block, Commit


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.height = Gauge("credichain_height", "Last committed block height", registry=r)
        self.round = Gauge(
            "credichain_commit_round", "Round in which the last block committed", registry=r
        )
        self.rounds = Histogram(
            "credichain_rounds_per_height",
            "Rounds needed per committed height (round + 1)",
            buckets=(1, 2, 3, 5, 10),
            registry=r,
        )
        self.block_interval = Histogram(
            "credichain_block_interval_seconds",
            "BFT time between consecutive blocks",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.extrinsics = Histogram(
            "credichain_block_extrinsics",
            "Extrinsics per committed block",
            buckets=(0, 1, 10, 100, 500, 1000, 2000, 5000),
            registry=r,
        )
        self.committed_extrinsics = Counter(
            "credichain_extrinsics_committed", "Extrinsics committed", registry=r
        )
        self.mempool_size = Gauge(
            "credichain_mempool_extrinsics", "Extrinsics in the pool", registry=r
        )
        self.mempool_bytes = Gauge("credichain_mempool_bytes", "Bytes in the pool", registry=r)
        self.synced_blocks = Counter(
            "credichain_sync_blocks", "Blocks fetched and applied by block sync", registry=r
        )
        self.last_block_wall = Gauge(
            "credichain_last_block_unixtime", "Wall-clock time the last block committed", registry=r
        )
        self._last_time_ms: int | None = None

    def on_block(self, block: Block, commit: Commit, pool_size: int, pool_bytes: int) -> None:
        header = block.header
        self.height.set(header.height)
        self.round.set(commit.round)
        self.rounds.observe(commit.round + 1)
        if self._last_time_ms is not None:
            self.block_interval.observe((header.timestamp_ms - self._last_time_ms) / 1000)
        self._last_time_ms = header.timestamp_ms
        self.extrinsics.observe(len(block.extrinsics))
        self.committed_extrinsics.inc(len(block.extrinsics))
        self.mempool(pool_size, pool_bytes)
        self.last_block_wall.set(time.time())

    def mempool(self, size: int, size_bytes: int) -> None:
        self.mempool_size.set(size)
        self.mempool_bytes.set(size_bytes)

    def synced(self, height: int) -> None:
        self.synced_blocks.inc()

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics from a daemon thread (prometheus_client's own server)."""
        start_http_server(port, addr=host, registry=self.registry)
