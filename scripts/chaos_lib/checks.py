"""Checks after a run: agreement over RPC, then signatures, evidence and replay on stopped homes.

Theory of operation
-------------------
``check_agreement`` reads, over JSON-RPC and in batches, the block hash and
state root of every height up to the lowest head on every node: one
divergent height is one violation (it would mean two honest nodes finalized
different blocks or computed different states).

``check_homes`` runs once the nodes are stopped and reads each validator's
block store (``node.audit.export.HomeSource``, a copy, never the live files):

* every validator's key signed some commits (``signed`` counts per key);
* no two precommits of one key for one (height, round) name different
  blocks, across every stored commit and every block's ``last_commit``;
* the evidence committed in blocks names only the twin's key, and names it
  if a twin ran; the key signs no commit from VALIDATOR_DELAY blocks after
  the block carrying the evidence (G6: the equivocator leaves the set);
* honest nodes' logs show no "equivocation evidence" against an honest key.

``check_replay`` re-executes a home with ``credichain replay --home`` (every
commit, signature, receipt and state root, invariants I1-I5 every N blocks).
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from node.audit.export import HomeError, HomeSource
from node.audit.replay import ReplayDivergence
from pallets.system.api import VALIDATOR_DELAY
from rpc.client import RpcClient

BATCH = 100


@dataclass
class HomeFindings:
    signed: dict[str, int] = field(default_factory=dict)  # key hex prefix -> commit signatures
    evidence_against: dict[str, int] = field(default_factory=dict)
    heights: dict[str, int] = field(default_factory=dict)  # home name -> stored height
    removed_at: dict[str, int] = field(default_factory=dict)  # equivocator -> set left at
    violations: list[str] = field(default_factory=list)


def check_agreement(clients: list[RpcClient]) -> tuple[int, list[str]]:
    """Compare (hash, state root) at every height on every node; (heights compared, problems)."""
    tops = [c.best_height() for c in clients]
    top = min(tops)
    problems: list[str] = []
    for start in range(0, top + 1, BATCH):
        heights = list(range(start, min(top, start + BATCH - 1) + 1))
        views = []
        for client in clients:
            hashes = client.batch([("chain_getBlockHash", [h]) for h in heights])
            headers = client.batch([("chain_getHeader", [x]) for x in hashes])
            views.append([(str(x["hash"]), str(x["stateRoot"])) for x in headers])
        for offset, height in enumerate(heights):
            seen = {view[offset] for view in views}
            if len(seen) != 1:
                problems.append(
                    f"DIVERGENCE at height {height}: "
                    + "; ".join(f"node{i} {v[offset]}" for i, v in enumerate(views))
                )
    return top + 1, problems


def check_homes(
    homes: list[Path], keys: list[bytes], twin_key: bytes | None, twin_ran: bool
) -> HomeFindings:
    found = HomeFindings()
    names = {k: k.hex()[:16] for k in keys}
    signed: dict[bytes, int] = defaultdict(int)
    precommits: dict[tuple[bytes, int, int], set[bytes]] = defaultdict(set)
    evidence: dict[bytes, int] = defaultdict(int)
    first_evidence: dict[bytes, int] = {}  # validator -> lowest block height carrying evidence
    last_signed: dict[bytes, int] = defaultdict(int)  # validator -> highest height it precommitted
    counted_heights: set[int] = set()
    for home in homes:
        try:
            source = HomeSource(home)
        except HomeError as exc:
            found.violations.append(f"{home.name}: cannot read the store: {exc}")
            continue
        try:
            found.heights[home.name] = source.height
            for record in source.records():
                commits = [record.commit]
                if record.block.last_commit is not None:
                    commits.append(record.block.last_commit)
                for commit in commits:
                    for sig in commit.signatures:
                        precommits[(sig.validator, commit.height, commit.round)].add(
                            commit.block_hash
                        )
                        last_signed[sig.validator] = max(last_signed[sig.validator], commit.height)
                first_view = record.height not in counted_heights
                counted_heights.add(record.height)
                if first_view:  # count each height once, from the first home that has it
                    for sig in record.commit.signatures:
                        signed[sig.validator] += 1
                    for item in record.block.evidence:
                        evidence[item.vote_a.validator] += 1
                        first_evidence.setdefault(item.vote_a.validator, record.height)
        except ReplayDivergence as exc:
            found.violations.append(f"{home.name}: unreadable block store: {exc}")
        finally:
            source.close()
    found.signed = {names.get(k, k.hex()[:16]): signed.get(k, 0) for k in keys}
    found.evidence_against = {names.get(k, k.hex()[:16]): n for k, n in evidence.items()}
    for key in keys:
        if signed.get(key, 0) == 0:
            found.violations.append(f"validator {names[key]} signed no commit")
    for (validator, height, round_), blocks in sorted(precommits.items()):
        if len(blocks) > 1 and validator != twin_key:
            found.violations.append(
                f"DOUBLE-SIGN: {validator.hex()[:16]} precommitted {len(blocks)} blocks at "
                f"height {height} round {round_}"
            )
    for validator in evidence:
        if validator != twin_key:
            found.violations.append(f"evidence committed against honest key {validator.hex()[:16]}")
    for validator, height in sorted(first_evidence.items()):
        # G6: the equivocator leaves the set at H + VALIDATOR_DELAY (H carries the evidence).
        if last_signed.get(validator, 0) >= height + VALIDATOR_DELAY:
            found.violations.append(
                f"{validator.hex()[:16]} still precommitted at height {last_signed[validator]} "
                f"after evidence at height {height} removed it from the set at "
                f"{height + VALIDATOR_DELAY}"
            )
    found.removed_at = {
        names.get(k, k.hex()[:16]): h + VALIDATOR_DELAY for k, h in first_evidence.items()
    }
    if twin_ran and twin_key is not None and evidence.get(twin_key, 0) == 0:
        found.violations.append(
            f"the twin of {twin_key.hex()[:16]} ran but no evidence against it was committed"
        )
    return found


def check_logs(homes: list[Path], honest: list[bytes]) -> list[str]:
    """Honest nodes must never report equivocation evidence against an honest key."""
    problems = []
    prefixes = {k.hex()[:16] for k in honest}
    for home in homes:
        log = home / "node.log"
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if "equivocation evidence" in line and any(p in line for p in prefixes):
                problems.append(f"{home.name} log: {line.strip()[:200]}")
    return problems


def check_replay(home: Path, invariants_every: int, timeout: float = 900) -> tuple[bool, str]:
    """``credichain replay --home`` on a stopped home; (verified, the last lines of output)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "node.cli.main",
            "replay",
            "--home",
            str(home),
            "--invariants-every",
            str(invariants_every),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
    return result.returncode == 0, tail
