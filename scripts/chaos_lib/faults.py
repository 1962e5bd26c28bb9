"""The fault kinds, a seeded schedule of them, and how each is injected and healed.

Theory of operation
-------------------
``Planner(kinds, seed)`` deals faults from a shuffled deck holding each
enabled kind once, so every kind comes up once per ``len(kinds)`` faults;
targets, durations, partition patterns, link modes and cut sizes are drawn
from the same seeded generator. Same seed, same schedule (the timing of a
real network around it is not reproducible, the faults are).

``Injector.inject(fault)`` applies a fault and ``heal(fault)`` undoes it; the
runner sleeps ``fault.duration`` in between and measures recovery after the
heal. What each kind does:

==========  ==================================================================
kill        ``kill -9`` a validator; restart it after ``duration``
term        SIGTERM (must exit 0: a clean shutdown); restart after ``duration``
pause       SIGSTOP, then SIGCONT after ``duration``
partition   halves, one node alone, or a ring (diagonals cut), links DROP or STALL
slow        every link of one node (or all links) delayed 50-300 ms, jittered
lossy       links that randomly cut connections and stall
wal         ``kill -9``, cut the tail of the consensus WAL (sometimes leaving
            junk bytes, a torn write), restart
ldb         ``kill -9``, cut the tail of LevelDB's newest log file, restart
twin        start a second process with one validator's key; kill it after
            ``duration`` (the validator must be caught equivocating)
==========  ==================================================================
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from consensus.wal import MAGIC
from scripts.chaos_lib.net import ChaosNet
from scripts.chaos_lib.proxy import LinkPolicy, Mode

KINDS = ("kill", "term", "pause", "partition", "slow", "lossy", "wal", "ldb", "twin")
CHEAP = ("kill", "term", "pause", "partition", "wal")
PATTERNS = ("halves", "alone", "ring")
TWIN_MAX_S = 45.0
START_HEIGHT = re.compile(r"node starting .*?height=(\d+)")


def parse_kinds(text: str) -> tuple[str, ...]:
    """``all``, ``cheap`` or a comma list of kinds; refuses unknown names."""
    if text == "all":
        return KINDS
    if text == "cheap":
        return CHEAP
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"--faults: unknown kind(s) {unknown or [text]}; choose from {', '.join(KINDS)}, "
            "or all / cheap"
        )
    return tuple(dict.fromkeys(kinds))


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    node: int
    duration: float
    pattern: str = ""
    sides: tuple[frozenset[int], ...] = ()
    policy: LinkPolicy | None = None
    all_links: bool = False
    cut_bytes: int = 0
    junk_bytes: int = 0

    def describe(self) -> str:
        if self.kind == "partition":
            groups = " | ".join(",".join(map(str, sorted(s))) for s in self.sides)
            mode = self.policy.mode.value if self.policy else "?"
            return f"partition {self.pattern} [{groups}] {mode} {self.duration:.1f}s"
        if self.kind in ("slow", "lossy") and self.policy is not None:
            where = "all links" if self.all_links else f"node{self.node}'s links"
            p = self.policy
            how = f"delay {p.delay_ms}+{p.jitter_ms}ms"
            if p.mode is Mode.LOSSY:
                how += f", cut {p.cut_per_mille}/1000, stall {p.stall_per_mille}/1000 chunks"
            return f"{self.kind} {where}: {how}, {self.duration:.1f}s"
        if self.kind in ("wal", "ldb"):
            junk = f" +{self.junk_bytes} junk" if self.junk_bytes else ""
            return f"{self.kind} node{self.node} cut {self.cut_bytes}B{junk} {self.duration:.1f}s"
        return f"{self.kind} node{self.node} {self.duration:.1f}s"


@dataclass
class Planner:
    kinds: tuple[str, ...]
    seed: int
    validators: int = 4
    rng: random.Random = field(init=False)
    _deck: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self) -> Fault:
        if not self.kinds:
            raise ValueError("the planner has no fault kind to deal")
        if not self._deck:
            self._deck = list(self.kinds)
            self.rng.shuffle(self._deck)
        kind = self._deck.pop()
        rng = self.rng
        node = rng.randrange(self.validators)
        if kind in ("kill", "term"):
            return Fault(kind, node, rng.uniform(1.0, 5.0))
        if kind == "pause":
            return Fault(kind, node, rng.uniform(2.0, 8.0))
        if kind == "partition":
            pattern = rng.choice(PATTERNS)
            mode = rng.choice((Mode.DROP, Mode.STALL))
            return Fault(
                kind,
                node,
                rng.uniform(3.0, 8.0),
                pattern=pattern,
                sides=self._sides(pattern, node),
                policy=LinkPolicy(mode),
            )
        if kind == "slow":
            policy = LinkPolicy(Mode.DELAY, rng.randint(50, 300), rng.randint(0, 100))
            return Fault(
                kind, node, rng.uniform(5.0, 10.0), policy=policy, all_links=rng.random() < 0.5
            )
        if kind == "lossy":
            policy = LinkPolicy(Mode.LOSSY, rng.randint(5, 50), rng.randint(0, 50),
                                rng.randint(5, 30), rng.randint(10, 50))  # fmt: skip
            return Fault(
                kind, node, rng.uniform(5.0, 10.0), policy=policy, all_links=rng.random() < 0.5
            )
        if kind in ("wal", "ldb"):
            junk = rng.choice((0, 0, rng.randint(1, 32))) if kind == "wal" else 0
            cut = rng.randint(1, 256 if kind == "wal" else 4096)
            return Fault(kind, node, rng.uniform(1.0, 3.0), cut_bytes=cut, junk_bytes=junk)
        assert kind == "twin"
        return self.twin(self.validators - 1)

    def twin(self, validator: int) -> Fault:
        """The twin episode: at most TWIN_MAX_S, ended early once evidence is committed."""
        return Fault("twin", validator, TWIN_MAX_S)

    def _sides(self, pattern: str, node: int) -> tuple[frozenset[int], ...]:
        everyone = list(range(self.validators))
        if pattern == "alone":
            return (frozenset({node}), frozenset(everyone) - {node})
        if pattern == "halves":
            others = [n for n in everyone if n != node]
            mate = self.rng.choice(others)
            half = frozenset({node, mate})
            return (half, frozenset(everyone) - half)
        order = everyone[:]
        self.rng.shuffle(order)
        # A ring: each node keeps its two neighbours; the "sides" are the kept links.
        return tuple(frozenset({order[i], order[(i + 1) % len(order)]}) for i in range(len(order)))


def _truncate(path: Path, cut: int, keep_at_least: int, junk: bytes) -> int:
    """Cut up to ``cut`` bytes off ``path`` (keeping ``keep_at_least``), then append ``junk``."""
    size = path.stat().st_size
    removed = max(0, min(cut, size - keep_at_least))
    with path.open("r+b") as f:
        f.truncate(size - removed)
        f.seek(size - removed)
        f.write(junk)
    return removed


class Injector:
    def __init__(self, net: ChaosNet, seed: int) -> None:
        self.net = net
        self.rng = random.Random(seed ^ 0x5EED)
        self._height_before: dict[int, int | None] = {}

    def inject(self, fault: Fault) -> str:
        """Apply ``fault``; a note on what exactly was done (bytes cut, exit code)."""
        net, node = self.net, self.net.nodes[fault.node]
        if fault.kind == "kill":
            net.expected_down.add(fault.node)
            node.kill()
            return ""
        if fault.kind == "term":
            net.expected_down.add(fault.node)
            code = node.stop()
            return f"exit code {code}"
        if fault.kind == "pause":
            net.pause(fault.node)
            return ""
        if fault.kind in ("partition", "slow", "lossy"):
            assert fault.policy is not None
            for a, b in self._links(fault):
                net.proxy.set_link(a, b, fault.policy)
            return ""
        if fault.kind in ("wal", "ldb"):
            self._height_before[fault.node] = net.height(fault.node)
            net.expected_down.add(fault.node)
            node.kill()
            data = node.home / "data"
            if fault.kind == "wal":
                junk = self.rng.randbytes(fault.junk_bytes)
                removed = _truncate(data / "consensus.wal", fault.cut_bytes, len(MAGIC), junk)
                return f"WAL: cut {removed} bytes, appended {len(junk)}"
            logs = sorted((data / "db").glob("*.log"))
            if not logs:
                return "LevelDB: no log file to cut"
            removed = _truncate(logs[-1], fault.cut_bytes, 0, b"")
            return f"LevelDB {logs[-1].name}: cut {removed} bytes"
        assert fault.kind == "twin"
        if net.twin is None or net.twin_of is None:
            raise RuntimeError("a twin fault needs a net built with twin_of")
        # The twin starts from a copy of the original's store (taken while it is
        # stopped), so it votes at once instead of syncing the whole chain first.
        original = net.nodes[net.twin_of]
        net.expected_down.add(net.twin_of)
        code = original.stop()
        twin_data = net.twin.home / "data"
        shutil.rmtree(twin_data, ignore_errors=True)
        shutil.copytree(original.home / "data" / "db", twin_data / "db")
        original.start()
        net.expected_down.discard(net.twin_of)
        net.twin.start()
        return f"twin of node{net.twin_of} started from its store (original stopped with {code})"

    def heal(self, fault: Fault) -> None:
        net = self.net
        if fault.kind in ("kill", "term", "wal", "ldb"):
            net.nodes[fault.node].start()
            net.expected_down.discard(fault.node)
        elif fault.kind == "pause":
            net.resume(fault.node)
        elif fault.kind in ("partition", "slow", "lossy"):
            net.proxy.heal()
        elif fault.kind == "twin" and net.twin is not None:
            net.twin.kill()

    def restart_note(self, fault: Fault) -> str:
        """After a store was cut: the height the node restarted at, against the one before."""
        if fault.kind not in ("wal", "ldb"):
            return ""
        log = self.net.nodes[fault.node].log_path
        starts = START_HEIGHT.findall(log.read_text(errors="replace")) if log.exists() else []
        before = self._height_before.get(fault.node)
        if not starts or before is None:
            return ""
        after = int(starts[-1])
        lost = f", {before - after} committed blocks lost" if after < before else ""
        return f"restarted at height {after} (RPC said {before} before the kill{lost})"

    def _links(self, fault: Fault) -> list[tuple[int, int]]:
        net = self.net
        members = list(range(net.count)) + ([net.twin_index] if net.twin is not None else [])

        def as_validator(n: int) -> int:
            return net.twin_of if n == net.twin_index and net.twin_of is not None else n

        pairs = [(a, b) for a, b in itertools.combinations(members, 2)]
        pairs = [(a, b) for a, b in pairs if {a, b} != {net.twin_index, net.twin_of}]
        if fault.kind == "partition":
            if fault.pattern == "ring":
                kept = set(fault.sides)
                return [p for p in pairs if frozenset(map(as_validator, p)) not in kept]
            side = {n: i for i, s in enumerate(fault.sides) for n in s}
            return [(a, b) for a, b in pairs if side[as_validator(a)] != side[as_validator(b)]]
        if fault.all_links:
            return pairs
        return [(a, b) for a, b in pairs if fault.node in (as_validator(a), as_validator(b))]
