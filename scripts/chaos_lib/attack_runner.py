"""One attack profile run: for each attack a baseline window, the attack window, recovery.

Theory of operation
-------------------
1. Start an ``AttackNet`` (4 validators, fresh directory), wait for height 2,
   have ``alice`` pay the profile's keys, and *probe* the cost of the
   expensive read methods (one call each, three times, on node0) to choose
   the batch that costs the node most within the body limit.
2. For each attack, in order:
   - *baseline*: ``baseline`` seconds with no traffic; its rate is the number
     of blocks committed in it per second (commit times from the headers,
     ``AttackNet.commit_times``);
   - *attack window*: the attack prepares, calls ``win.begin()`` and attacks
     for ``duration`` seconds. ``begin`` starts the honest user
     (``watch_transfer``: a funded key of this attack sends a transfer to bob
     with ``author_submitAndWatchExtrinsic`` over node0's WebSocket, with a
     ``chain_subscribeNewHeads`` subscription on the same connection),
     ``watch_delay`` seconds into the window (at once for the block burst,
     whose transfer must ride in the burst). Each node's RSS is sampled
     every ``RSS_EVERY_S`` from the start of the window to the end of
     recovery;
   - *ratio* = blocks committed in the window ÷ (baseline rate × window);
   - *recovery* = the time from the end of the window to the start of the
     first ``RECOVERY_WINDOW_S`` window (sliding by ``RECOVERY_STEP_S``)
     holding at least ``TARGET`` x the baseline rate; ``None`` if none
     within ``recovery_limit``;
   - *memory growth* = per node, peak RSS minus RSS at the window's start.
3. Before the next attack the net must be healthy (every node running and
   within ``HEALTH_LAG`` blocks of the top, within ``HEALTH_WAIT_S``);
   otherwise it is stopped and a fresh one started and funded (reported).

Nothing here asserts a target: a refused request, a closed connection, a
halted chain or a node that exits are figures of the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from ledger.crypto import Keypair, encode_address
from scripts.chaos_lib.attack_kinds import (
    ATTACKS,
    RESTART_AT_S,
    RESTART_IN_BASELINE,
    AttackContext,
    AttackSizes,
    restart_victim,
)
from scripts.chaos_lib.attack_net import (
    MORTALITY,
    RPC_FAILURES,
    Accounts,
    AttackNet,
    fund,
)
from scripts.chaos_lib.attack_traffic import Watch, transfer, watch_transfer

TARGET = 0.8
RECOVERY_WINDOW_S = 2.0
RECOVERY_STEP_S = 0.25
RSS_EVERY_S = 0.5
HEALTH_LAG = 3
HEALTH_WAIT_S = 30.0
BODY_LIMIT = 1 << 20
PROBE_CALLS = 3
HEADS_AFTER_S = 2.0  # the watcher follows new heads this long after the window


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    directory: Path
    attacks: tuple[str, ...]
    seed: int = 1
    baseline: float = 10.0
    duration: float = 15.0
    recovery_limit: float = 60.0
    watch_timeout: float = 30.0
    watch_delay: float = 1.0
    sizes: AttackSizes = field(default_factory=AttackSizes)


@dataclass
class AttackResult:
    name: str
    description: str
    net: int
    baseline_s: float = 0.0
    baseline_blocks: int = 0
    baseline_rate: float = 0.0
    window_s: float = 0.0
    finalized: int = 0
    expected: float = 0.0
    ratio: float | None = None
    recovery_s: float | None = None
    rss_before_mib: list[float | None] = field(default_factory=list)
    rss_peak_mib: list[float | None] = field(default_factory=list)
    rss_growth_mib: float | None = None
    watch: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    nodes_exited: list[tuple[int, int | None]] = field(default_factory=list)
    error: str | None = None
    fresh_net: str | None = None  # why this attack got a fresh net, if it did
    # CPU seconds used from the window's start until the attack stopped: the
    # runner's own (the attacker shares the machine) and each node's.
    cpu_s: dict[str, Any] = field(default_factory=dict)
    loadavg: list[float] = field(default_factory=list)  # the machine's, at the window's start

    @property
    def watched_finalized(self) -> bool:
        return bool(self.watch.get("finalized"))


@dataclass
class ProfileResult:
    attacks: list[AttackResult] = field(default_factory=list)
    probe: dict[str, Any] = field(default_factory=dict)
    nets_started: int = 0
    exit_codes: list[list[int | None]] = field(default_factory=list)
    seconds: float = 0.0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


class _Window:
    """What an attack sees of the runner: ``begin`` marks the window and starts the watch."""

    def __init__(self, runner: AttackRunner, nursery: trio.Nursery, watch_raw: bytes) -> None:
        self.runner = runner
        self.nursery = nursery
        self.watch_raw = watch_raw
        self.watch = Watch()
        self.watch_done = trio.Event()
        self.started = False
        self.start_wall = self.start = self.stop_at = 0.0
        self.rss_before: list[int | None] = []
        self.cpu_before: tuple[float, list[float | None]] = (0.0, [])
        self.loadavg: list[float] = []
        self.rss_peak: list[int | None] = []
        self.sampling = trio.CancelScope()

    async def begin(self, watch_ready: trio.Event | None = None) -> float:
        config = self.runner.config
        net = self.runner.net
        self.started = True
        self.rss_before = net.rss()
        self.cpu_before = (_own_cpu(), net.cpu())
        self.loadavg = [round(x, 2) for x in os.getloadavg()]
        self.rss_peak = list(self.rss_before)
        self.start_wall, self.start = time.time(), time.monotonic()
        self.stop_at = self.start + config.duration
        self.nursery.start_soon(self._watch, watch_ready)
        self.nursery.start_soon(self._sample)
        return self.stop_at

    @property
    def end_wall(self) -> float:
        return self.start_wall + (self.stop_at - self.start)

    async def _watch(self, ready: trio.Event | None) -> None:
        config = self.runner.config
        try:
            if ready is None:
                await trio.sleep(config.watch_delay)
            await watch_transfer(
                self.runner.net.urls[0],
                self.watch_raw,
                config.watch_timeout,
                self.watch,
                self.stop_at + HEADS_AFTER_S,
                ready,
            )
        finally:
            self.watch_done.set()

    async def _sample(self) -> None:
        with self.sampling:
            while True:
                for i, kib in enumerate(self.runner.net.rss()):
                    if kib is not None:
                        self.rss_peak[i] = max(self.rss_peak[i] or 0, kib)
                await trio.sleep(RSS_EVERY_S)


class AttackRunner:
    def __init__(self, config: ProfileConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.say = say
        self.result = ProfileResult()
        self.accounts = Accounts(
            config.seed,
            flood_keys=config.sizes.flood_keys,
            burst_senders=config.sizes.burst_senders,
        )
        self.rng = random.Random(config.seed)
        self.began = time.monotonic()
        self.net: AttackNet = self._new_net()

    def _elapsed(self) -> str:
        return f"[{time.monotonic() - self.began:6.1f}s]"

    # ------------------------------------------------------------ the net

    def _new_net(self) -> AttackNet:
        index = self.result.nets_started
        self.result.nets_started += 1
        net = AttackNet(self.config.directory / f"net{index}")
        self.say(f"{self._elapsed()} starting net{index} in {net.root}")
        try:
            net.start()
            fund(net, self.accounts.to_fund())
        except BaseException:
            self.result.exit_codes.append(net.close())
            raise
        self.say(f"{self._elapsed()} net{index} up at height {net.height(0)}, accounts funded")
        return net

    def _healthy(self) -> bool:
        net = self.net
        deadline = time.monotonic() + HEALTH_WAIT_S
        while time.monotonic() < deadline:
            if net.exited():
                return False
            heights = net.heights()
            if all(h is not None for h in heights):
                top = max(h for h in heights if h is not None)
                if all(h is not None and h >= top - HEALTH_LAG for h in heights):
                    return True
            time.sleep(0.5)
        return False

    def _unfit(self, previous: AttackResult | None) -> str | None:
        """Why the net cannot serve the next attack's baseline, or None."""
        if previous is not None and previous.recovery_s is None:
            return f"{previous.name} left the chain below {TARGET} x its baseline"
        if previous is not None and previous.nodes_exited:
            return f"nodes {previous.nodes_exited} exited during {previous.name}"
        if not self._healthy():
            return f"a node is down or more than {HEALTH_LAG} blocks behind"
        return None

    def close(self) -> None:
        self.result.exit_codes.append(self.net.close())

    # ------------------------------------------------------------ the probe

    def probe(self) -> tuple[str, list[Any], int]:
        """The read method whose fullest batch (within the body limit) costs the node most."""
        keys = ["0x" + self.rng.randbytes(32).hex() for _ in range(self.config.sizes.proof_keys)]
        candidates: list[tuple[str, list[Any]]] = [
            ("rpc_discover", []),
            ("state_getMetadata", []),
            ("state_getReadProof", [keys]),
        ]
        client = self.net.clients[0]
        timings: dict[str, Any] = {}
        best: tuple[float, str, list[Any], int] = (-1.0, "rpc_discover", [], 1)
        for method, params in candidates:
            spent = []
            for _ in range(PROBE_CALLS):
                began = time.perf_counter()
                with contextlib.suppress(*RPC_FAILURES):
                    client.call(method, *params)
                spent.append(time.perf_counter() - began)
            call_bytes = len(method) + sum(len(k) + 3 for k in keys) * (len(params) > 0) + 60
            fits = max(1, min(self.config.sizes.rpc_batch, (BODY_LIMIT - 64) // call_bytes))
            per_call = statistics.median(spent)
            timings[method] = {"median_ms": round(per_call * 1000, 1), "batch_fits": fits}
            if per_call * fits > best[0]:
                best = (per_call * fits, method, params, fits)
        self.result.probe = {"timings": timings, "chosen": best[1], "batch": best[3]}
        self.say(f"{self._elapsed()} probe: {timings}; chosen {best[1]} x {best[3]}")
        return best[1], best[2], best[3]

    # ------------------------------------------------------------ the run

    def run(self) -> ProfileResult:
        try:
            method, params, batch = self.probe()
            previous: AttackResult | None = None
            for index, name in enumerate(self.config.attacks):
                why = self._unfit(previous)
                if why:
                    self.say(f"{self._elapsed()} {why}: a fresh net for {name}")
                    self.close()
                    self.net = self._new_net()
                result = trio.run(self._one, index, name, (method, params, batch))
                result.fresh_net = why
                previous = result
                self.result.attacks.append(result)
                self._report(result)
        finally:
            self.close()
            self.result.seconds = round(time.monotonic() - self.began, 1)
        return self.result

    def _watch_raw(self, index: int) -> bytes:
        net = self.net
        key = self.accounts.watch[index % len(self.accounts.watch)]
        nonce = net.clients[0].next_index(encode_address(key.public, net.hrp))
        valid_until = net.clients[0].best_height() + MORTALITY
        bob = Keypair.dev("bob").public
        return transfer(key, nonce, bob, 10**6, valid_until, net.genesis_hash).encode()

    async def _one(
        self, index: int, name: str, expensive: tuple[str, list[Any], int]
    ) -> AttackResult:
        config, net = self.config, self.net
        attack = ATTACKS[name]
        doc = (attack.__doc__ or name).split("\n\n")[0]
        result = AttackResult(name, " ".join(doc.split()), self.result.nets_started - 1)
        low = (net.height(0) or 1) - 1
        watch_raw = self._watch_raw(index)
        method, params, batch = expensive
        sizes = config.sizes
        if name == "rpc_batch":
            sizes = dataclasses.replace(sizes, rpc_batch=batch)
        ctx = AttackContext(
            net, self.accounts, sizes, self.rng, 0.0, config.duration, (method, params)
        )
        control: dict[str, Any] = {}
        length = config.baseline
        b0 = time.time()
        if name in RESTART_IN_BASELINE:
            length = max(config.baseline, config.duration)
            follow_until = time.monotonic() + length + 30

            async def restart_in_peace() -> None:
                await trio.sleep(RESTART_AT_S)
                control.update(await restart_victim(ctx, follow_until))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(restart_in_peace)
                await trio.sleep(length)
                b1 = time.time()
        else:
            await trio.sleep(length)
            b1 = time.time()
        times = await trio.to_thread.run_sync(net.commit_times, low)
        result.baseline_s = round(b1 - b0, 2)
        result.baseline_blocks = sum(1 for t in times.values() if b0 <= t < b1)
        result.baseline_rate = result.baseline_blocks / (b1 - b0)
        ctx.baseline_rate = result.baseline_rate
        self.say(
            f"{self._elapsed()} {name}: baseline {result.baseline_rate:.2f} blocks/s; attacking "
            f"{config.duration:.0f}s"
        )
        async with trio.open_nursery() as nursery:
            win = _Window(self, nursery, watch_raw)
            try:
                result.details = await attack(ctx, win)
                if control:
                    result.details["baseline_restart"] = control
            except Exception as exc:  # the run goes on: a failed attack is a figure of the run
                result.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                self.say(f"          the attack itself failed: {result.error}")
            if not win.started:
                result.error = result.error or "the attack never began its window"
                win.watch_done.set()
                return result
            result.window_s = round(win.stop_at - win.start, 2)
            result.loadavg = win.loadavg
            own, nodes = win.cpu_before
            result.cpu_s = {
                "runner": round(_own_cpu() - own, 2),
                "nodes": [
                    None if a is None or b is None else round(b - a, 2)
                    for a, b in zip(nodes, net.cpu(), strict=True)
                ],
                "seconds": round(time.monotonic() - win.start, 2),
            }
            result.recovery_s, times = await self._recovery(win.end_wall, result.baseline_rate, low)
            with trio.move_on_after(config.watch_timeout + 10):
                await win.watch_done.wait()
            win.sampling.cancel()
        result.finalized = sum(1 for t in times.values() if win.start_wall <= t < win.end_wall)
        result.expected = round(result.baseline_rate * result.window_s, 1)
        if result.expected > 0:
            result.ratio = round(result.finalized / result.expected, 2)
        result.rss_before_mib = [_mib(k) for k in win.rss_before]
        result.rss_peak_mib = [_mib(k) for k in win.rss_peak]
        growth = [
            (p - b) / 1024
            for b, p in zip(win.rss_before, win.rss_peak, strict=True)
            if b is not None and p is not None
        ]
        result.rss_growth_mib = round(max(growth), 1) if growth else None
        if win.watch.block_hash is not None:
            win.watch.block_extrinsics = await trio.to_thread.run_sync(
                self._block_size, win.watch.block_hash
            )
        result.watch = win.watch.to_json()
        result.nodes_exited = net.exited()
        return result

    def _block_size(self, block_hash: str) -> int | None:
        for client in self.net.clients:
            with contextlib.suppress(*RPC_FAILURES):
                return len(client.call("chain_getBlock", block_hash)["block"]["extrinsics"])
        return None

    async def _recovery(
        self, end: float, rate: float, low: int
    ) -> tuple[float | None, dict[int, float]]:
        """Seconds from ``end`` to the first window at >= TARGET x ``rate``; the commit times."""
        need = TARGET * rate * RECOVERY_WINDOW_S
        margin = max(0.5, 2.0 / rate) if rate > 0 else 0.5
        deadline = end + self.config.recovery_limit
        times: dict[int, float] = {}
        while True:
            times = await trio.to_thread.run_sync(self.net.commit_times, low) or times
            stamps = sorted(times.values())
            observed = time.time() - margin
            start = end
            while start + RECOVERY_WINDOW_S <= observed and start <= deadline:
                count = sum(1 for t in stamps if start <= t < start + RECOVERY_WINDOW_S)
                if count >= need:
                    return round(start - end, 2), times
                start += RECOVERY_STEP_S
            if observed > deadline + RECOVERY_WINDOW_S:
                return None, times
            await trio.sleep(0.5)

    def _report(self, r: AttackResult) -> None:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        recovery = "none" if r.recovery_s is None else f"{r.recovery_s:.2f}s"
        watch = "finalized" if r.watched_finalized else f"NOT finalized ({r.watch.get('error')})"
        self.say(
            f"{self._elapsed()} {r.name}: {r.finalized} blocks of {r.expected:.0f} expected "
            f"(ratio {ratio}); recovery {recovery}; RSS growth {r.rss_growth_mib} MiB; "
            f"watched transfer {watch}"
        )
        if r.nodes_exited:
            self.say(f"          nodes exited: {r.nodes_exited}")
