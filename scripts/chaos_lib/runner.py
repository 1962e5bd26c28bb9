"""One chaos run: start the net and the bank, inject the schedule, heal, check, summarise.

Theory of operation
-------------------
1. Start a ``ChaosNet`` (4 validators behind the proxy; a twin home if the
   ``twin`` kind is enabled), wait for height 2, fund the bank, start it, and
   measure the *baseline block interval* (median over the last 30 blocks).
2. Until ``duration`` is spent: take the next fault from the ``Planner``,
   inject it, wait its duration, heal it, then measure *recovery* (heal to
   the next new block anywhere) and *catch-up* (heal to every validator past
   the height at heal). A recovery slower than ``recovery_blocks`` baseline
   intervals, a chain that does not move within ``STALL_LIMIT_S``, or a node
   that exits on its own is a violation (the node is restarted and the run
   goes on).
3. Heal everything, drain the bank, compare every height over RPC, reconcile
   every acknowledged transfer, stop the nodes with SIGTERM (exit code 0
   expected), then read the stopped homes and replay them.

``RunResult.violations`` is empty when every check passed.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.daemon.config import load_config
from scripts.chaos_lib.checks import check_agreement, check_homes, check_logs, check_replay
from scripts.chaos_lib.faults import Fault, Injector, Planner
from scripts.chaos_lib.net import ChaosNet
from scripts.chaos_lib.workload import RPC_FAILURES, BankWorkload

STALL_LIMIT_S = 60.0
CATCHUP_LIMIT_S = 120.0
POLL_S = 0.05
HEIGHT_POLL_S = 0.25
HALT_WINDOW_S = 2.5  # no block for this long at the end of a fault: the fault halted the chain
MAX_RESTARTS = 3  # restarts of a node that exits on its own before it is left down


@dataclass(frozen=True, slots=True)
class RunConfig:
    directory: Path
    duration: float
    seed: int
    kinds: tuple[str, ...]
    accounts: int = 24
    rate: float = 20.0
    recovery_blocks: int = 3
    replay_homes: str = "one"  # "one" (node0), "all", or "none"
    invariants_every: int = 10


@dataclass
class FaultRecord:
    kind: str
    description: str
    note: str
    at_s: float
    halted: bool
    recovery_s: float | None = None
    catchup_s: float | None = None


@dataclass
class RunResult:
    faults: list[FaultRecord] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    baseline_interval_s: float = 0.0
    check_interval_s: float = 0.0
    heights_compared: int = 0
    divergent_heights: int = 0
    lost_transfers: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(f.kind for f in self.faults).items()))


class ChaosRunner:
    def __init__(self, config: RunConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.say = say
        self.result = RunResult()
        self.started = time.monotonic()
        twin_of = 3 if "twin" in config.kinds else None
        self.net = ChaosNet(config.directory, seed=config.seed, twin_of=twin_of)
        self.bank = BankWorkload(
            self.net, accounts=config.accounts, seed=config.seed, rate=config.rate
        )
        # The twin runs once, last: the evidence it provokes removes its key from
        # the set (G6), after which 3 validators tolerate no fault at all.
        self.twin = "twin" in config.kinds
        self.planner = Planner(tuple(k for k in config.kinds if k != "twin"), config.seed)
        self._evidence_scan = 0
        self.injector = Injector(self.net, config.seed)
        self._crashes: Counter[int] = Counter()

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _violation(self, text: str) -> None:
        self.say(f"  VIOLATION {text}")
        self.result.violations.append(text)

    # ------------------------------------------------------------ the run

    def run(self) -> RunResult:
        try:
            self._start()
            deadline = time.monotonic() + self.config.duration
            while self.planner.kinds and time.monotonic() < deadline:
                self._one_fault(self.planner.next())
            if self.twin:
                self._twin_finale()
            self._finish()
        finally:
            self.bank.stop()
            self.net.close()
        self._offline_checks()
        return self.result

    def _start(self) -> None:
        net = self.net
        net.start_all()
        self._wait("height 2 on every node", lambda: self._min_height() >= 2, 120)
        self.bank.fund()
        self.bank.start()
        time.sleep(5)
        client = net.clients[0]
        top = client.best_height()
        stamps = [
            int(h["timestamp"])
            for h in client.batch(
                [("chain_getHeader", [client.call("chain_getBlockHash", n)])
                 for n in range(max(1, top - 30), top + 1)]
            )
        ]  # fmt: skip
        gaps = [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
        self.result.baseline_interval_s = statistics.median(gaps) if gaps else 1.0
        propose_s = load_config(net.homes[0] / "config.toml").consensus.timeout_propose_ms / 1000
        # A halted chain restarts with a round change, which no block interval
        # measured on a healthy chain includes: the check's interval is the
        # slower of the measured one and the round's propose timeout.
        self.result.check_interval_s = max(self.result.baseline_interval_s, propose_s)
        self.say(
            f"net up at height {top}; baseline block interval "
            f"{self.result.baseline_interval_s * 1000:.0f} ms; bank of {self.config.accounts} "
            f"accounts, total {self.bank.total}"
        )

    def _min_height(self) -> int:
        heights = self.net.heights()
        return min((h if h is not None else -1) for h in heights.values())

    def _wait(self, what: str, check: Callable[[], bool], timeout: float) -> float | None:
        """Poll ``check``; the seconds it took, or None (and a violation) on timeout."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            self._restart_crashed()
            if check():
                return time.monotonic() - began
            time.sleep(POLL_S)
        self._violation(f"timed out after {timeout:.0f}s waiting for {what}")
        return None

    def _restart_crashed(self) -> None:
        for index, code in self.net.unexpected_exits():
            node = self.net.nodes[index]
            self._violation(
                f"node{index} exited on its own with code {code}; last lines:\n{node.log_tail(15)}"
            )
            self._crashes[index] += 1
            if self._crashes[index] > MAX_RESTARTS:
                self._violation(f"node{index} keeps exiting: left down for the rest of the run")
                self.net.expected_down.add(index)
            else:
                node.start()

    def _sleep_watching(self, fault: Fault) -> bool:
        """Sleep the fault's duration; True if no block was made in its last HALT_WINDOW_S."""
        began = time.monotonic()
        last_height, last_change = self.net.top_height(), began
        while (left := fault.duration - (time.monotonic() - began)) > 0:
            time.sleep(min(HEIGHT_POLL_S, left))
            height = self.net.top_height()
            if height > last_height:
                last_height, last_change = height, time.monotonic()
        return fault.duration >= HALT_WINDOW_S and time.monotonic() - last_change >= HALT_WINDOW_S

    def _twin_finale(self) -> None:
        """Run the twin until the chain holds evidence against its key (or TWIN_MAX_S)."""
        fault = self.planner.twin(self.net.twin_of or 0)
        client = self.net.clients[(fault.node + 1) % self.net.count]
        start = client.best_height()

        def evidence_committed() -> bool:
            with contextlib.suppress(*RPC_FAILURES):
                top = client.best_height()
                for height in range(self._evidence_scan, top + 1):
                    block = client.call("chain_getBlock", client.call("chain_getBlockHash", height))
                    if block["block"]["evidence"]:
                        self.result.info["twin_evidence_height"] = height
                        return True
                    self._evidence_scan = height + 1
            return False

        self._evidence_scan = start
        self._one_fault(fault, until=evidence_committed)

    def _one_fault(self, fault: Fault, until: Callable[[], bool] | None = None) -> None:
        at = self._elapsed()
        self.say(f"[{at:6.1f}s] {fault.describe()}")
        before = self.net.top_height()
        note = self.injector.inject(fault)
        if note:
            self.say(f"          {note}")
        if fault.kind == "term" and note != "exit code 0":
            self._violation(f"SIGTERM of node{fault.node}: {note} (a clean stop exits 0)")
        if until is None:
            halted = self._sleep_watching(fault)
        else:
            halted = False
            waited = self._wait(f"{fault.kind}: {until.__name__}", until, fault.duration)
            self.result.info[f"{fault.kind}_seconds_to_{until.__name__}"] = waited
            time.sleep(2.0)  # a little longer: the removal takes effect at H + 2
        at_heal = max(self.net.top_height(), before)
        self.injector.heal(fault)
        healed = time.monotonic()
        record = FaultRecord(fault.kind, fault.describe(), note, at, halted)
        record.recovery_s = self._wait(
            f"a new block after healing {fault.kind}",
            lambda: self.net.top_height() > at_heal,
            STALL_LIMIT_S,
        )
        caught_up = self._wait(
            f"every validator past height {at_heal} after {fault.kind}",
            lambda: self._min_height() > at_heal,
            CATCHUP_LIMIT_S,
        )
        record.catchup_s = None if caught_up is None else time.monotonic() - healed
        restart = self.injector.restart_note(fault)
        if restart:
            record.note = f"{note}; {restart}" if note else restart
            self.say(f"          {restart}")
        limit = self.config.recovery_blocks * self.result.check_interval_s
        if halted and record.recovery_s is not None and record.recovery_s > limit:
            self._violation(
                f"{fault.describe()}: the halted chain moved {record.recovery_s:.2f}s after the "
                f"heal, over {self.config.recovery_blocks} block intervals ({limit:.2f}s)"
            )
        self.result.faults.append(record)
        recovery = "-" if record.recovery_s is None else f"{record.recovery_s:.2f}s"
        catchup = "-" if record.catchup_s is None else f"{record.catchup_s:.2f}s"
        self.say(
            f"          {'halted' if halted else 'kept going'}; recovery {recovery}, "
            f"all caught up {catchup}"
        )

    def _finish(self) -> None:
        net = self.net
        net.proxy.heal()
        for index in sorted(net.paused):
            net.resume(index)
        if net.twin is not None and net.twin.running:
            net.twin.kill()
        target = net.top_height() + 2
        self._wait(f"every validator at height {target}", lambda: self._min_height() >= target, 120)
        left = self.bank.drain(60)
        if left:
            self.say(f"  {left} transfers still in flight after the drain (not acknowledged)")
        self.bank.stop()
        live = [net.clients[i] for i in net.available()]
        if live:
            left = self.bank.settle(live[0])
        if len(live) < net.count:
            self._violation(f"only nodes {net.available()} are up for the final checks")
        try:
            self.result.heights_compared, problems = check_agreement(live)
            self.result.divergent_heights = len(problems)
            for problem in problems:
                self._violation(problem)
            self.bank.reconcile(live)
        except RPC_FAILURES as exc:
            self._violation(f"final checks over RPC failed: {exc!r}")
        for problem in self.bank.stats.violations:
            self._violation(problem)
        self.result.lost_transfers = sum(v.startswith("LOST") for v in self.bank.stats.violations)
        self.result.info["bank"] = {
            "accounts": self.config.accounts,
            "total": self.bank.total,
            "submitted": self.bank.stats.submitted,
            "acknowledged": self.bank.stats.acknowledged,
            "resubmits": self.bank.stats.resubmits,
            "balance_reads": self.bank.stats.balance_reads,
            "in_flight_at_end": left,
        }
        self.result.info["proxy"] = vars(net.proxy.stats).copy()

    def _offline_checks(self) -> None:
        net = self.net
        for index, node in enumerate(net.nodes):
            code = node.proc.returncode if node.proc is not None else None
            if code not in (0, None):
                self._violation(f"node{index} exit code {code} after SIGTERM at the end")
        twin_key = net.keys[net.twin_of].public if net.twin_of is not None else None
        twin_ran = any(f.kind == "twin" for f in self.result.faults)
        findings = check_homes(net.homes, [k.public for k in net.keys], twin_key, twin_ran)
        for problem in findings.violations:
            self._violation(problem)
        honest = [k.public for k in net.keys if k.public != twin_key]
        for problem in check_logs(net.homes, honest):
            self._violation(problem)
        self.result.info["signed_commits"] = findings.signed
        self.result.info["evidence_against"] = findings.evidence_against
        self.result.info["equivocator_removed_at"] = findings.removed_at
        self.result.info["stored_heights"] = findings.heights
        chosen = {"one": net.homes[:1], "all": net.homes, "none": []}[self.config.replay_homes]
        replays = {}
        for home in chosen:
            began = time.monotonic()
            ok, tail = check_replay(home, self.config.invariants_every)
            replays[home.name] = {"verified": ok, "seconds": round(time.monotonic() - began, 1)}
            if not ok:
                self._violation(f"replay of {home.name} failed:\n{tail}")
        self.result.info["replay"] = replays
