"""The properties checked after every simulated run.

Theory of operation
-------------------
Each check reads what ``harness.Simulation`` recorded and returns a list of
violations (strings); an empty list means the property held. They are
deliberately independent of the core's code: they look at decisions,
signatures, blocks and evidence as an outside auditor would.

* agreement — no two honest validators decide different blocks at a height;
* validity — every decided block was proposed, is valid, is of its height,
  and BFT time strictly increases along each honest chain;
* no double signing — no honest validator signed two different things for
  one (height, round, step), restarts included;
* liveness — every honest node decided every height up to the target by the
  deadline (the scenario sets it after the network heals);
* evidence — every equivocation an honest core was shown (two votes of one
  validator for one height/round/type with different values, delivered while
  the core was at that height) was turned into evidence, and every piece of
  evidence is genuine (two validly signed, conflicting votes);
* replay — a restarted core replaying its WAL reproduced the actions of the
  crashed one, record by record.
"""

from __future__ import annotations

from ledger.types import Evidence

from .harness import GENESIS_HASH, Simulation


def agreement(sim: Simulation) -> list[str]:
    problems = []
    decided: dict[int, tuple[bytes, int]] = {}
    for node in sim.nodes:
        if not node.honest:
            continue
        for h, (_, block_hash, _) in sorted(node.decisions.items()):
            first = decided.setdefault(h, (block_hash, node.iid))
            if first[0] != block_hash:
                problems.append(
                    f"agreement: height {h}: node {first[1]} decided {first[0].hex()[:12]}, "
                    f"node {node.iid} decided {block_hash.hex()[:12]}"
                )
    return problems


def validity(sim: Simulation) -> list[str]:
    problems = []
    for node in sim.nodes:
        if not node.honest:
            continue
        last_time = -1
        for h, (_, block_hash, time_ms) in sorted(node.decisions.items()):
            block = sim.blocks.get(block_hash)
            if block is None or not block.valid or block.height != h:
                problems.append(f"validity: node {node.iid} decided an invalid block at {h}")
            if block_hash not in sim.proposed:
                problems.append(f"validity: node {node.iid} decided an unproposed block at {h}")
            if time_ms <= last_time:
                problems.append(f"bft time: node {node.iid} height {h} time went backwards")
            last_time = time_ms
    return problems


def no_double_signing(sim: Simulation) -> list[str]:
    return [
        f"double sign: honest validator {who.hex()[:12]} signed {len(signed)} different "
        f"messages at height {h} round {r} step {step}"
        for (who, h, r, step), signed in sorted(sim.signatures.items())
        if len(signed) > 1
    ]


def liveness(
    sim: Simulation,
    target_height: int,
    decided_at_gst: set[int],
    rounds_at_gst: dict[int, int],
    max_rounds: int,
) -> list[str]:
    """Every honest node decided up to ``target_height``; heights after GST in bounded rounds.

    A height no honest node had decided when the network healed (GST) must be
    decided in a round at most ``max_rounds`` above ``rounds_at_gst[h]``, the
    highest round an honest node had reached at that height then (0 if none had).
    """
    problems = [
        f"liveness: honest node {node.iid} decided only up to height "
        f"{max(node.decisions, default=0)} of {target_height} by t={sim.now} ms"
        for node in sim.nodes
        if node.honest and any(h not in node.decisions for h in range(1, target_height + 1))
    ]
    for node in sim.nodes:
        if not node.honest:
            continue
        for h, (r, _, _) in sorted(node.decisions.items()):
            bound = rounds_at_gst.get(h, 0) + max_rounds
            if h not in decided_at_gst and r > bound:
                problems.append(
                    f"liveness: node {node.iid} decided height {h} in round {r} > {bound} "
                    f"({max_rounds} rounds after the network healed)"
                )
    return problems


def _genuine(ev: Evidence) -> bool:
    a, b = ev.vote_a, ev.vote_b
    return (
        (a.validator, a.height, a.round, a.vote_type)
        == (b.validator, b.height, b.round, b.vote_type)
        and a.block_hash != b.block_hash
        and a.verify(GENESIS_HASH)
        and b.verify(GENESIS_HASH)
    )


def evidence(sim: Simulation) -> list[str]:
    problems = []
    for node in sim.nodes:
        if not node.honest:
            continue
        for inc in node.incarnations:
            found = set()
            for ev in inc.evidence:
                if not _genuine(ev):
                    problems.append(f"evidence: node {node.iid} produced bogus evidence {ev!r}")
                a = ev.vote_a
                found.add((a.validator, a.height, a.round, int(a.vote_type)))
            for key, values in sorted(inc.expected_equivocations.items(), key=repr):
                if len(values) > 1 and key not in found:
                    problems.append(
                        f"evidence: node {node.iid} saw validator {key[0].hex()[:12]} "
                        f"equivocate at height {key[1]} round {key[2]} type {key[3]}, no evidence"
                    )
    return problems


def replay(sim: Simulation) -> list[str]:
    return [
        f"replay: node {node.iid} WAL replay diverged: {inc.replay_mismatch}"
        for node in sim.nodes
        for inc in node.incarnations
        if inc.replay_mismatch is not None
    ]


def safety(sim: Simulation) -> list[str]:
    return agreement(sim) + validity(sim) + no_double_signing(sim) + evidence(sim) + replay(sim)
