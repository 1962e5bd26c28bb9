"""Prometheus metrics of a node, served at GET /metrics on the metrics port.

Theory of operation
-------------------
One ``CollectorRegistry`` per node (not the process-global one), so tests
can run several nodes in one process without name clashes. prometheus-client
serves it from its own daemon thread, so nothing the scrape reads may be
something the trio loop mutates in steps:

* **Pushed** metrics (Gauge, Counter, Histogram: thread-safe) are set by the
  node's loop: ``on_block`` after every committed block (height, round,
  rounds per height, block interval, extrinsics, mempool, validators seen,
  missed commits, finality latency), ``mempool``, ``synced`` and
  ``sync_status`` (block sync), ``wal_replayed`` (consensus WAL replay at
  start), ``signature_checks`` (consensus messages) and ``verifier`` (a
  ``BatchVerifier`` counting the Ed25519 verifications it performs).
* **Pulled** at scrape time by a custom collector: p2p peers, bytes and
  handshakes (plain int attributes of ``P2PStats``, atomic to read; the
  refusals by reason are a dict copied in one C call, ``dict.copy``, which
  the GIL keeps atomic against the loop's increments), and the community figures
  (``node.daemon.community_metrics``), which the loop computes from a committed
  state in ``refresh_community`` and stores as one immutable snapshot; the
  scrape only reads that reference, never the trie.

Finality is the point of a BFT chain: an extrinsic is final when its block
commits. Finality latency is therefore measured from the moment this node
admitted an extrinsic (``submitted``, RPC or wallet) to the commit of the
block that holds it, in wall-clock seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ledger.crypto import blake2b256
from ledger.types import Block, Commit, ValidatorSet
from node.daemon.community_metrics import CommunityFigures
from pallets.executive.verify import BatchVerifier, SignedItem

log = structlog.get_logger("node.daemon.metrics")

# Admission times kept for finality latency; beyond this the oldest are dropped
# (an extrinsic that never commits must not hold memory forever).
MAX_PENDING_FINALITY = 100_000
# Community figures cost time on the node's loop: the next run waits at least
# this many times the last run's duration (so they take <= ~2% of the loop).
COMMUNITY_COST_FACTOR = 50
SIGNATURE_KINDS = ("extrinsic", "vote", "proposal", "commit")
# Handshake refusal reasons exposed from the start (at 0), so rate() and alerts
# see them before the first refusal; others appear when they first happen.
HANDSHAKE_REFUSALS = ("ip_limit", "busy", "max_peers", "evicted", "timeout")


class P2PCounters(Protocol):
    """The fields of ``p2p.config.P2PStats`` this module reads."""

    bytes_in: int
    bytes_out: int
    peers: int
    handshakes_ok: int
    handshake_timeouts: int
    handshakes_pending: int

    @property
    def handshake_failures(self) -> dict[str, int]: ...


class CountingVerifier(BatchVerifier):
    """The runtime's signature verifier, counting the Ed25519 checks it really runs.

    Verdicts served from the verifier's memory (an extrinsic checked at
    admission and again in its block) are not verifications and not counted.
    """

    def __init__(self, counter: Counter, threads: int = 1, *, remember: int = 0) -> None:
        super().__init__(threads, remember=remember)
        self._counter = counter

    def _verify(self, items: Sequence[SignedItem]) -> list[bool]:
        self._counter.inc(len(items))
        return super()._verify(items)


# Families the pulled collector yields, so deployment checks can verify alert
# rules and dashboards against every name (see ``NodeMetrics.metric_names``).
PULLED_METRICS = (
    "credichain_peers",
    "credichain_p2p_bytes_in",
    "credichain_p2p_bytes_out",
    "credichain_p2p_handshakes",
    "credichain_p2p_handshakes_refused",
    "credichain_p2p_handshake_timeouts",
    "credichain_p2p_handshakes_pending",
    "credichain_community_height",
    "credichain_active_funds",
    "credichain_outstanding_credit",
    "credichain_par30_bps",
    "credichain_credit_velocity_bps",
    "credichain_commons_pool",
    "credichain_commons_minted",
    "credichain_commons_granted",
    "credichain_bioregion_health_bps",
    "credichain_bioregion_credit_velocity_bps",
    "credichain_bioregion_funds",
    "credichain_fund_exit_arrears",
)


class _PulledCollector(Collector):
    """Reads the p2p counters and the latest community snapshot at scrape time."""

    def __init__(self) -> None:
        self.p2p: P2PCounters | None = None
        self.community: CommunityFigures | None = None

    def describe(self) -> list[Metric]:
        # Empty: the registry then does not call collect() at registration.
        return []

    def collect(self) -> Iterator[Metric]:
        p2p = self.p2p
        if p2p is not None:
            yield GaugeMetricFamily("credichain_peers", "Connected peers", value=p2p.peers)
            yield CounterMetricFamily(
                "credichain_p2p_bytes_in", "Bytes received from peers", value=p2p.bytes_in
            )
            yield CounterMetricFamily(
                "credichain_p2p_bytes_out", "Bytes sent to peers", value=p2p.bytes_out
            )
            yield from _handshake_families(p2p)
        figures = self.community  # one reference read: the snapshot is immutable
        if figures is not None:
            yield from _community_families(figures)


def _handshake_families(p2p: P2PCounters) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "credichain_p2p_handshakes",
        "Handshakes completed: authenticated, allowed peers (both directions)",
        value=p2p.handshakes_ok,
    )
    refused = CounterMetricFamily(
        "credichain_p2p_handshakes_refused",
        "Connections that did not become a peer at the handshake, by reason: ip_limit, "
        "busy, max_peers (refused before any cryptography), evicted (silent, its slot "
        "given to a newer connection), timeout, or the handshake's own code",
        labels=["reason"],
    )
    # dict.copy is one C call: the loop cannot change the dict in the middle of it.
    counts = dict.copy(p2p.handshake_failures)
    for reason in sorted(set(counts) | set(HANDSHAKE_REFUSALS)):
        refused.add_metric([reason], counts.get(reason, 0))
    yield refused
    yield CounterMetricFamily(
        "credichain_p2p_handshake_timeouts",
        "Handshakes closed at their deadline (also in handshakes_refused, reason=timeout)",
        value=p2p.handshake_timeouts,
    )
    yield GaugeMetricFamily(
        "credichain_p2p_handshakes_pending",
        "Inbound handshakes in progress (unauthenticated connections holding a slot)",
        value=p2p.handshakes_pending,
    )


def _community_families(figures: CommunityFigures) -> Iterator[Metric]:
    def gauge(name: str, doc: str, value: int) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, value=value)

    yield gauge(
        "credichain_community_height",
        "Block height the community figures were read at",
        figures.height,
    )
    yield gauge("credichain_active_funds", "Community funds accepting credit", figures.active_funds)
    yield gauge(
        "credichain_outstanding_credit",
        "Principal outstanding over all open loans (base units)",
        figures.outstanding_credit,
    )
    yield gauge(
        "credichain_par30_bps",
        "Portfolio at risk 30 days: bps of outstanding principal 30+ days late",
        figures.par30_bps,
    )
    yield gauge(
        "credichain_credit_velocity_bps",
        "Principal disbursed + repaid in the open health epoch over the funds' size (bps)",
        figures.credit_velocity_bps,
    )
    yield gauge(
        "credichain_commons_pool", "Commons pool balance (base units)", figures.commons_pool
    )
    yield gauge(
        "credichain_commons_minted",
        "Units minted by governance so far (R3)",
        figures.commons_minted,
    )
    yield gauge(
        "credichain_commons_granted",
        "Units granted from the commons pool so far (R2)",
        figures.commons_granted,
    )
    health = GaugeMetricFamily(
        "credichain_bioregion_health_bps",
        "Bioregion health score (H2, bps); absent before its first oracle round",
        labels=["bioregion"],
    )
    velocity = GaugeMetricFamily(
        "credichain_bioregion_credit_velocity_bps",
        "Credit velocity of a bioregion's funds in the open health epoch (bps)",
        labels=["bioregion"],
    )
    funds = GaugeMetricFamily(
        "credichain_bioregion_funds", "Funds placed in the bioregion", labels=["bioregion"]
    )
    for region in figures.bioregions:
        if region.health_bps is not None:
            health.add_metric([region.bioregion], region.health_bps)
        velocity.add_metric([region.bioregion], region.credit_velocity_bps)
        funds.add_metric([region.bioregion], region.funds)
    yield from (health, velocity, funds)
    arrears = GaugeMetricFamily(
        "credichain_fund_exit_arrears",
        "F5: claims of leaving funders unpaid past exit_period (base units); only funds in arrears",
        labels=["fund"],
    )
    for fund_id, owed in figures.fund_arrears:
        arrears.add_metric([str(fund_id)], owed)
    yield arrears


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
        self.finality = Histogram(
            "credichain_finality_latency_seconds",
            "From admission of an extrinsic at this node to the commit of its block",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
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
        self.syncing = Gauge(
            "credichain_syncing", "1 while block sync is catching up, else 0", registry=r
        )
        self.sync_target = Gauge(
            "credichain_sync_target_height",
            "Highest height a connected peer reports (0: no peer)",
            registry=r,
        )
        self.wal_replay = Gauge(
            "credichain_wal_replayed_inputs",
            "Consensus WAL inputs replayed at start (crash recovery of the current height)",
            registry=r,
        )
        self.signatures = Counter(
            "credichain_signature_verifications",
            "Ed25519 signature verifications performed, by what was signed",
            ["kind"],
            registry=r,
        )
        for kind in SIGNATURE_KINDS:
            self.signatures.labels(kind)
        self.validators = Gauge(
            "credichain_validators", "Validators in the set of the last height", registry=r
        )
        self.validators_connected = Gauge(
            "credichain_validators_connected",
            "Validators of the set this node reaches: connected peers, plus itself",
            registry=r,
        )
        self.missed_commits = Counter(
            "credichain_validator_missed_commits",
            "Committed blocks whose commit lacks the validator's precommit",
            ["validator"],
            registry=r,
        )
        self.last_signed = Gauge(
            "credichain_validator_last_signed_height",
            "Last height whose commit carries the validator's precommit",
            ["validator"],
            registry=r,
        )
        self.last_block_wall = Gauge(
            "credichain_last_block_unixtime",
            "Wall-clock time the last block committed (the node's start until its first)",
            registry=r,
        )
        # From the start, so "no block for 30 s" also covers a node that never commits.
        self.last_block_wall.set(time.time())
        self.community_seconds = Gauge(
            "credichain_community_refresh_seconds",
            "Time the last community-figures refresh took on the node's loop",
            registry=r,
        )
        self.community_errors = Counter(
            "credichain_community_refresh_errors",
            "Community-figures refreshes that failed (figures kept from the last success)",
            registry=r,
        )
        self._last_time_ms: int | None = None
        self._pending: OrderedDict[bytes, float] = OrderedDict()
        self._community_next = 0.0
        self._pulled = _PulledCollector()
        r.register(self._pulled)

    # ------------------------------------------------------------ wiring

    def set_p2p_stats(self, stats: P2PCounters) -> None:
        """Expose peers, p2p bytes and handshakes, read from ``stats`` at scrape time."""
        names = ("peers", "bytes_in", "bytes_out", "handshakes_ok", "handshake_timeouts")
        for name in (*names, "handshakes_pending"):
            if not isinstance(getattr(stats, name, None), int):
                raise TypeError(f"set_p2p_stats needs an int attribute {name!r} (P2PStats)")
        if not isinstance(getattr(stats, "handshake_failures", None), dict):
            raise TypeError("set_p2p_stats needs a dict attribute 'handshake_failures'")
        self._pulled.p2p = stats

    def verifier(self, threads: int = 1, *, remember: int = 0) -> BatchVerifier:
        """A ``BatchVerifier`` whose verifications count as kind="extrinsic"."""
        return CountingVerifier(self.signatures.labels("extrinsic"), threads, remember=remember)

    def metric_names(self) -> set[str]:
        """Every family name this node can expose (as written in PromQL, no suffixes)."""
        names = {m.name for m in self.registry.collect()}
        return names | set(PULLED_METRICS)

    # ------------------------------------------------------------ blocks

    def on_block(
        self,
        block: Block,
        commit: Commit,
        pool_size: int,
        pool_bytes: int,
        *,
        validators: ValidatorSet | None = None,
    ) -> None:
        """A block committed: chain figures, and who signed its commit."""
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
        if self._pending:
            now = time.monotonic()
            for raw in block.extrinsics:
                admitted = self._pending.pop(blake2b256(raw), None)
                if admitted is not None:
                    self.finality.observe(now - admitted)
        if validators is not None:
            self._commit_signers(header.height, commit, validators)

    def _commit_signers(self, height: int, commit: Commit, validators: ValidatorSet) -> None:
        signed = {sig.validator for sig in commit.signatures}
        self.validators.set(len(validators.validators))
        for validator in validators.validators:
            label = validator.public.hex()
            if validator.public in signed:
                self.last_signed.labels(label).set(height)
            else:
                self.missed_commits.labels(label).inc()

    def validators_seen(
        self, validators: ValidatorSet, connected: Iterable[bytes], own: bytes | None
    ) -> None:
        """How many of ``validators`` this node reaches (``own`` is its own key, if any)."""
        reach = set(connected)
        if own is not None:
            reach.add(own)
        self.validators.set(len(validators.validators))
        self.validators_connected.set(sum(1 for v in validators.validators if v.public in reach))

    def submitted(self, tx_hash: bytes) -> None:
        """This node admitted an extrinsic: start its finality clock."""
        self._pending[tx_hash] = time.monotonic()
        while len(self._pending) > MAX_PENDING_FINALITY:
            self._pending.popitem(last=False)

    def mempool(self, size: int, size_bytes: int) -> None:
        self.mempool_size.set(size)
        self.mempool_bytes.set(size_bytes)

    # ------------------------------------------------------------ sync, replay, signatures

    def synced(self, height: int) -> None:
        self.synced_blocks.inc()

    def sync_status(self, syncing: bool, target_height: int | None) -> None:
        self.syncing.set(1 if syncing else 0)
        self.sync_target.set(target_height or 0)

    def wal_replayed(self, inputs: int) -> None:
        self.wal_replay.set(inputs)

    def signature_checks(self, kind: str, count: int = 1) -> None:
        if kind not in SIGNATURE_KINDS:
            raise ValueError(f"signature kind must be one of {SIGNATURE_KINDS}, not {kind!r}")
        self.signatures.labels(kind).inc(count)

    # ------------------------------------------------------------ community

    def refresh_community(
        self, compute: Callable[[], CommunityFigures], *, now: float | None = None
    ) -> bool:
        """Recompute the community figures on the caller's (the node loop's) thread.

        Runs when the last run's cost times COMMUNITY_COST_FACTOR has elapsed:
        every block on a small chain, less often as the book grows. A failure
        keeps the previous snapshot and is counted and logged, never raised:
        a metrics bug must not stop a validator from committing.
        """
        now = time.monotonic() if now is None else now
        if now < self._community_next:
            return False
        started = time.perf_counter()
        try:
            figures = compute()
        except Exception:  # any bug in a pallet's read path; see docstring
            log.exception("community figures failed")
            self.community_errors.inc()
            figures = None
        cost = time.perf_counter() - started
        self.community_seconds.set(cost)
        self._community_next = now + cost * COMMUNITY_COST_FACTOR
        if figures is None:
            return False
        self._pulled.community = figures
        return True

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics from a daemon thread (prometheus_client's own server)."""
        start_http_server(port, addr=host, registry=self.registry)
