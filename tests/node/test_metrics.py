"""NodeMetrics: every metric is exposed, values follow what the node feeds in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest

from ledger.crypto import Keypair, blake2b256
from ledger.types import Block, Commit, CommitSig, Header, Validator, ValidatorSet
from node.daemon import metrics as metrics_module
from node.daemon.community_metrics import BioregionFigures, CommunityFigures, community_figures
from node.daemon.metrics import PULLED_METRICS, NodeMetrics
from p2p.config import P2PStats
from tests.pallets.credit_helpers import ANA, BEN, LUCIA, approve, fund_zine, submit_valid, wait
from tests.pallets.health_helpers import chain as health_chain
from tests.pallets.health_helpers import epoch_now, govern_ok, observe, to_epoch
from tests.pallets.helpers import ALICE, BOB

KEYS = sorted(
    (Keypair.dev(name) for name in ("alice", "bob", "charlie", "dave")), key=lambda k: k.public
)
VALIDATORS = ValidatorSet.of([Validator(k.public, 1) for k in KEYS])
ZERO = bytes(32)


def _block(
    height: int, timestamp_ms: int, extrinsics: int | tuple[bytes, ...], signers: int = 4
) -> tuple[Block, Commit]:
    header = Header(
        height, timestamp_ms, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, KEYS[0].public
    )
    body = (
        extrinsics
        if isinstance(extrinsics, tuple)
        else tuple(bytes([i]) for i in range(extrinsics))
    )
    block = Block(header, body, None)
    sigs = tuple(CommitSig(k.public, timestamp_ms, bytes(64)) for k in KEYS[:signers])
    return block, Commit(height, 2, block.hash, sigs)


def _value(metrics: NodeMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} not exposed"
    return value


def _figures(**overrides: object) -> CommunityFigures:
    values: dict[str, object] = {
        "height": 7, "active_funds": 2, "outstanding_credit": 5_000_000, "par30_bps": 250,
        "credit_velocity_bps": 1200, "commons_pool": 10**9, "commons_minted": 10,
        "commons_granted": 4,
        "bioregions": (
            BioregionFigures("alps", 6100, 900, 1), BioregionFigures("delta", None, 0, 0),
        ),
    }  # fmt: skip
    values.update(overrides)
    return CommunityFigures(**values)  # type: ignore[arg-type]


def test_on_block_updates_height_round_interval_and_counters() -> None:
    before = time.time()
    metrics = NodeMetrics()
    # Until the first block, the start counts as the last progress.
    assert before <= _value(metrics, "credichain_last_block_unixtime") <= time.time()
    before = time.time()
    metrics.on_block(*_block(1, 1_000_000, 3), pool_size=7, pool_bytes=700)
    metrics.on_block(*_block(2, 1_002_500, 5), pool_size=2, pool_bytes=90)
    assert _value(metrics, "credichain_height") == 2
    assert _value(metrics, "credichain_commit_round") == 2
    assert _value(metrics, "credichain_extrinsics_committed_total") == 8
    assert _value(metrics, "credichain_block_extrinsics_sum") == 8
    assert _value(metrics, "credichain_mempool_extrinsics") == 2
    assert _value(metrics, "credichain_mempool_bytes") == 90
    # One interval (the first block has no predecessor): 2.5 s.
    assert _value(metrics, "credichain_block_interval_seconds_count") == 1
    assert _value(metrics, "credichain_block_interval_seconds_sum") == 2.5
    assert _value(metrics, "credichain_rounds_per_height_sum") == 6
    assert before <= _value(metrics, "credichain_last_block_unixtime") <= time.time()


def test_finality_latency_runs_from_admission_to_commit() -> None:
    metrics = NodeMetrics()
    ours, theirs = b"submitted here", b"gossiped in"
    metrics.submitted(blake2b256(ours))
    time.sleep(0.05)
    metrics.on_block(*_block(1, 1_000, (theirs, ours)), pool_size=0, pool_bytes=0)
    assert _value(metrics, "credichain_finality_latency_seconds_count") == 1
    assert 0.05 <= _value(metrics, "credichain_finality_latency_seconds_sum") < 5
    metrics.on_block(*_block(2, 2_000, (ours,)), pool_size=0, pool_bytes=0)
    assert _value(metrics, "credichain_finality_latency_seconds_count") == 1, "counted once"


def test_pending_finality_clocks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_module, "MAX_PENDING_FINALITY", 2)
    metrics = NodeMetrics()
    for raw in (b"a", b"b", b"c"):
        metrics.submitted(blake2b256(raw))
    metrics.on_block(*_block(1, 1_000, (b"a", b"b", b"c")), pool_size=0, pool_bytes=0)
    assert _value(metrics, "credichain_finality_latency_seconds_count") == 2, "oldest dropped"


def test_commit_signers_give_missed_commits_and_last_signed_height() -> None:
    metrics = NodeMetrics()
    metrics.on_block(*_block(1, 1_000, 0), 0, 0, validators=VALIDATORS)
    metrics.on_block(*_block(2, 2_000, 0, signers=3), 0, 0, validators=VALIDATORS)
    last = KEYS[3].public.hex()
    assert _value(metrics, "credichain_validators") == 4
    assert _value(metrics, "credichain_validator_last_signed_height", validator=last) == 1
    assert _value(metrics, "credichain_validator_missed_commits_total", validator=last) == 1
    first = KEYS[0].public.hex()
    assert _value(metrics, "credichain_validator_last_signed_height", validator=first) == 2
    assert metrics.registry.get_sample_value(
        "credichain_validator_missed_commits_total", {"validator": first}
    ) in (None, 0)


def test_validators_seen_counts_the_set_members_reached_and_itself() -> None:
    metrics = NodeMetrics()
    stranger = Keypair.dev("eve").public
    metrics.validators_seen(VALIDATORS, [KEYS[1].public, stranger], KEYS[0].public)
    assert _value(metrics, "credichain_validators_connected") == 2
    metrics.validators_seen(VALIDATORS, [KEYS[1].public], None)  # a full node
    assert _value(metrics, "credichain_validators_connected") == 1
    assert _value(metrics, "credichain_validators") == 4


def test_sync_replay_and_signature_counters() -> None:
    metrics = NodeMetrics()
    metrics.synced(3)
    metrics.sync_status(True, 40)
    metrics.wal_replayed(12)
    metrics.signature_checks("vote")
    metrics.signature_checks("commit", 3)
    assert _value(metrics, "credichain_sync_blocks_total") == 1
    assert _value(metrics, "credichain_syncing") == 1
    assert _value(metrics, "credichain_sync_target_height") == 40
    assert _value(metrics, "credichain_wal_replayed_inputs") == 12
    assert _value(metrics, "credichain_signature_verifications_total", kind="vote") == 1
    assert _value(metrics, "credichain_signature_verifications_total", kind="commit") == 3
    metrics.sync_status(False, None)
    assert _value(metrics, "credichain_syncing") == 0
    with pytest.raises(ValueError, match="signature kind"):
        metrics.signature_checks("gossip")


def test_counting_verifier_counts_real_verifications_not_remembered_verdicts() -> None:
    metrics = NodeMetrics()
    verifier = metrics.verifier(1, remember=10)
    message = b"pay ana"
    good = (KEYS[0].public, message, KEYS[0].sign(message))
    bad = (KEYS[1].public, message, bytes(64))
    try:
        assert verifier.verify_many([good, bad]) == [True, False]
        assert verifier.verify_many([good]) == [True]  # remembered: no new check
    finally:
        verifier.close()
    assert _value(metrics, "credichain_signature_verifications_total", kind="extrinsic") == 2


def test_pulled_metrics_absent_until_sources_registered() -> None:
    text = generate_latest(NodeMetrics().registry).decode()
    for name in PULLED_METRICS:
        assert name not in text


def test_p2p_stats_read_at_scrape_time() -> None:
    metrics = NodeMetrics()
    stats = P2PStats()
    metrics.set_p2p_stats(stats)
    stats.peers, stats.bytes_in, stats.bytes_out = 3, 1234, 5678
    assert _value(metrics, "credichain_peers") == 3
    assert _value(metrics, "credichain_p2p_bytes_in_total") == 1234
    stats.bytes_out += 2
    assert _value(metrics, "credichain_p2p_bytes_out_total") == 5680
    with pytest.raises(TypeError, match="peers"):
        metrics.set_p2p_stats(object())  # type: ignore[arg-type]


def _clock(monkeypatch: pytest.MonkeyPatch, *readings: float) -> None:
    ticks: Iterator[float] = iter(readings)
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))


def test_community_refresh_is_spaced_by_its_own_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = NodeMetrics()
    runs: list[int] = []

    def compute() -> CommunityFigures:
        runs.append(1)
        return _figures(height=len(runs))

    _clock(monkeypatch, 0.0, 0.2, 10.0, 10.2)  # each run "costs" 0.2 s
    assert metrics.refresh_community(compute, now=100.0)
    assert _value(metrics, "credichain_community_height") == 1
    assert _value(metrics, "credichain_community_refresh_seconds") == pytest.approx(0.2)
    # 0.2 s x COMMUNITY_COST_FACTOR (50) = 10 s before the next run.
    assert not metrics.refresh_community(compute, now=109.9)
    assert metrics.refresh_community(compute, now=110.0)
    assert len(runs) == 2 and _value(metrics, "credichain_community_height") == 2


def test_a_failing_refresh_keeps_the_last_figures_and_is_counted() -> None:
    metrics = NodeMetrics()
    assert metrics.refresh_community(_figures, now=0.0)

    def broken() -> CommunityFigures:
        raise KeyError("a pallet bug")

    assert not metrics.refresh_community(broken, now=1_000.0)
    assert _value(metrics, "credichain_community_refresh_errors_total") == 1
    assert _value(metrics, "credichain_community_height") == 7


def test_community_families_and_bioregion_labels() -> None:
    metrics = NodeMetrics()
    metrics.refresh_community(_figures, now=0.0)
    assert _value(metrics, "credichain_active_funds") == 2
    assert _value(metrics, "credichain_outstanding_credit") == 5_000_000
    assert _value(metrics, "credichain_par30_bps") == 250
    assert _value(metrics, "credichain_credit_velocity_bps") == 1200
    assert _value(metrics, "credichain_commons_pool") == 10**9
    assert _value(metrics, "credichain_commons_granted") == 4
    assert _value(metrics, "credichain_bioregion_health_bps", bioregion="alps") == 6100
    assert _value(metrics, "credichain_bioregion_credit_velocity_bps", bioregion="alps") == 900
    assert _value(metrics, "credichain_bioregion_funds", bioregion="delta") == 0
    # No oracle round yet: no health sample (absent, not a made-up 0).
    health = {"bioregion": "delta"}
    assert metrics.registry.get_sample_value("credichain_bioregion_health_bps", health) is None


def test_every_metric_name_is_exposed_once_sources_are_set() -> None:
    metrics = NodeMetrics()
    metrics.set_p2p_stats(P2PStats())
    metrics.refresh_community(_figures, now=0.0)
    metrics.on_block(*_block(1, 1_000, 0), pool_size=0, pool_bytes=0, validators=VALIDATORS)
    exposed = {m.name for m in metrics.registry.collect()}
    assert exposed == metrics.metric_names()


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("active_funds", -1, "active_funds must be >= 0"),
        ("outstanding_credit", -1, "outstanding_credit must be >= 0"),
        ("par30_bps", 10_001, "par30_bps must be 0..10000"),
        ("credit_velocity_bps", -1, "credit_velocity_bps must be 0..10000"),
        ("commons_pool", -5, "commons_pool must be >= 0"),
        ("bioregions", (BioregionFigures("b", 1, 0, 0), BioregionFigures("a", 1, 0, 0)), "sorted"),
    ],
)
def test_community_figures_refuse_bad_values(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _figures(**{field: value})


def test_bioregion_figures_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="health_bps"):
        BioregionFigures("alps", 10_001, 0, 0)
    with pytest.raises(ValueError, match="credit_velocity_bps"):
        BioregionFigures("alps", None, -1, 0)


def test_two_nodes_in_one_process_do_not_clash() -> None:
    first, second = NodeMetrics(), NodeMetrics()
    first.on_block(*_block(5, 1_000, 0), pool_size=0, pool_bytes=0)
    assert _value(first, "credichain_height") == 5
    assert _value(second, "credichain_height") == 0


def test_community_figures_follow_a_loan_into_par30() -> None:
    chain = fund_zine()
    start = community_figures(chain.state(), chain.height)
    assert (start.active_funds, start.outstanding_credit, start.par30_bps) == (1, 0, 0)
    assert start.height == chain.height and start.commons_pool > 0
    approve(chain, submit_valid(chain, [LUCIA, ANA, BEN], 300, term=30, installments=1))
    lent = community_figures(chain.state(), chain.height)
    assert (lent.outstanding_credit, lent.par30_bps) == (300, 0)
    wait(chain, 30 + 31 * 86_400)
    late = community_figures(chain.state(), chain.height)
    assert late.active_funds == 1 and late.outstanding_credit == 300
    assert late.par30_bps == 10_000


def test_community_figures_read_bioregion_health_and_velocity() -> None:
    chain = fund_zine(health_chain(), contribution=10**11)
    govern_ok(chain, "health", "set_fund_bioregion", fund=0, bioregion="localnet")
    epoch = epoch_now(chain) + 1
    to_epoch(chain, epoch)
    assert observe(chain, ALICE, [6000] * 5).success
    assert observe(chain, BOB, [6000] * 5).success
    approve(chain, submit_valid(chain, [LUCIA, ANA, BEN], 3 * 10**10))
    figures = community_figures(chain.state(), chain.height)
    (region,) = figures.bioregions
    assert (region.bioregion, region.funds, region.health_bps) == ("localnet", 1, None)
    size = 5 * 10**11  # five funders x contribution, all still in the fund
    assert region.credit_velocity_bps == 3 * 10**10 * 10_000 // size
    assert figures.credit_velocity_bps == region.credit_velocity_bps
    to_epoch(chain, epoch + 1)  # the round closes: the oracles' score stands
    (region,) = community_figures(chain.state(), chain.height).bioregions
    assert region.health_bps == 6000
