"""The attack profile (issue 17): seven attacks on a real 4-validator localnet.

    .venv/bin/python scripts/attack.py --attacks all --baseline 10 --duration 15 --json out.json
    .venv/bin/python scripts/attack.py --attacks rpc_batch,slow_body --duration 8

Starts 4 validator processes on 127.0.0.1 (fresh directory), funds the
profile's keys from ``alice``, and runs each attack (``--attacks``: all, or a
comma list of unfunded_flood, funded_flood, rpc_batch, block_burst,
pending_pool, slow_body, handshake_slots) after a baseline window of its own.
For each: blocks finalized during the attack ÷ (baseline rate × duration)
(target ≥ 0.8), recovery time after it (to ≥ 0.8 x the baseline rate), the
nodes' RSS growth, and whether an honest transfer watched over WebSocket
reached ``finalized``. Prints a table and writes the figures to
``summary.json`` in ``--dir`` (and to ``--json`` if given).

The runner measures and reports; it asserts no target. The exit code is 0
when every attack ran (whatever it did to the chain), 1 when the net could
not be set up or driven, 2 on bad arguments. See docs/reliability.md,
"Attack profile".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from rpc.client import RpcConnectionError, RpcError
from scripts.chaos_lib.attack_kinds import AttackSizes, parse_attacks
from scripts.chaos_lib.attack_runner import (
    TARGET,
    AttackResult,
    AttackRunner,
    ProfileConfig,
    ProfileResult,
)


def _args(argv: list[str] | None) -> tuple[ProfileConfig, Path | None]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--attacks", default="all", help="all, or a comma list of attacks")
    parser.add_argument("--seed", type=int, default=1, help="seed of the keys and payloads")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of baseline")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each attack")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=None, help="where the nets live (fresh)")
    parser.add_argument(
        "--recovery-limit", type=float, default=60.0, help="give up on recovery after this"
    )
    parser.add_argument(
        "--watch-timeout", type=float, default=30.0, help="the watched transfer's bound"
    )
    defaults = AttackSizes()
    parser.add_argument("--slow-conns", type=int, default=defaults.slow_conns,
                        help="slow-body connections per RPC port")  # fmt: skip
    parser.add_argument("--hs-conns", type=int, default=defaults.hs_conns,
                        help="silent connections per p2p port")  # fmt: skip
    parser.add_argument("--rpc-clients", type=int, default=defaults.rpc_clients,
                        help="closed-loop RPC connections per port")  # fmt: skip
    parser.add_argument("--rpc-reconnect", action="store_true",
                        help="a new connection for every RPC batch")  # fmt: skip
    parser.add_argument("--attacker-ips", type=int, default=defaults.attacker_ips,
                        help="source addresses 127.0.0.2.. of the attack traffic")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        attacks = parse_attacks(args.attacks)
    except ValueError as exc:
        parser.error(str(exc))
    if args.baseline <= 0 or args.duration <= 0:
        parser.error("--baseline and --duration must be positive")
    if min(args.slow_conns, args.hs_conns, args.rpc_clients) < 1:
        parser.error("connection counts must be at least 1")
    if not 1 <= args.attacker_ips <= 250:
        parser.error("--attacker-ips must be between 1 and 250")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="credichain-attack-"))
    if directory.exists() and any(directory.iterdir()):
        parser.error(f"--dir {directory} is not empty; give a fresh directory")
    sizes = AttackSizes(
        slow_conns=args.slow_conns,
        hs_conns=args.hs_conns,
        rpc_clients=args.rpc_clients,
        attacker_ips=args.attacker_ips,
        rpc_reconnect=args.rpc_reconnect,
    )
    config = ProfileConfig(
        directory=directory,
        attacks=attacks,
        seed=args.seed,
        baseline=args.baseline,
        duration=args.duration,
        recovery_limit=args.recovery_limit,
        watch_timeout=args.watch_timeout,
        sizes=sizes,
    )
    return config, args.json


def _note(r: AttackResult) -> str:
    """The one detail of an attack that says most about how the node answered it."""
    exited = "".join(f"node{i} EXITED ({code}); " for i, code in r.nodes_exited)
    return exited + _detail(r)


def _detail(r: AttackResult) -> str:
    if r.error:
        return f"runner: {r.error[:60]}"
    d = r.details
    if "connections" in d:
        c = d["connections"]
        text = (
            f"held {c['held_at_end']}/{c['target']} at end, {c['closed_by_node']} closed by "
            f"node (median {c['median_s_until_closed']}s)"
        )
        if "restart" in d:
            text += f"; node{d['restart']['node']} rejoined {d['restart']['rejoined_s']}s"
        return text
    replies = d.get("replies", {}).get("outcomes", {})
    top = ", ".join(f"{k} x{v}" for k, v in list(replies.items())[:2])
    if "largest_block_extrinsics" in d:
        return f"largest block {d['largest_block_extrinsics']} extrinsics; {top}"
    if "by_window_end" in d:
        return f"{d['by_window_end']['included']} of {d['extrinsics']} included; {top}"
    return top


def table(result: ProfileResult) -> list[str]:
    head = (
        f"{'attack':<16} {'ratio':>6} {'blocks':>11} {'recovery':>9} {'RSS +MiB':>9} "
        f"{'watched':>10} {'CPU s':>11}  note"
    )
    lines = [head, "-" * len(head)]
    for r in result.attacks:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        flag = "" if r.ratio is None or r.ratio >= TARGET else "!"
        recovery = "none" if r.recovery_s is None else f"{r.recovery_s:.2f}s"
        watched = "finalized" if r.watched_finalized else "NO"
        nodes = sum(c for c in r.cpu_s.get("nodes", []) if c is not None)
        cpu = f"{r.cpu_s.get('runner', 0):.1f}/{nodes:.1f}"
        lines.append(
            f"{r.name:<16} {ratio + flag:>6} {f'{r.finalized}/{r.expected:.0f}':>11} "
            f"{recovery:>9} {r.rss_growth_mib!s:>9} {watched:>10} {cpu:>11}  {_note(r)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    config, json_out = _args(argv)
    print(f"attack profile in {config.directory}", flush=True)
    try:
        runner = AttackRunner(config, say=lambda text: print(text, flush=True))
        result = runner.run()
    except (RuntimeError, RpcConnectionError, RpcError, OSError) as exc:
        print(f"attack profile aborted: {exc}\n(node logs under {config.directory})")
        return 1
    print(
        f"\nattack profile (seed {config.seed}, baseline {config.baseline:.0f}s, "
        f"{config.duration:.0f}s per attack, {result.seconds:.0f}s in all, "
        f"{result.nets_started} net(s)); target ratio >= {TARGET}; CPU s = the runner's / "
        f"the four nodes' over the window"
    )
    print("\n".join(table(result)), flush=True)
    report = {
        "seed": config.seed,
        "baseline_s": config.baseline,
        "duration_s": config.duration,
        "target_ratio": TARGET,
        "seconds": result.seconds,
        "nets_started": result.nets_started,
        "exit_codes": result.exit_codes,
        "probe": result.probe,
        "sizes": asdict(config.sizes),
        "attacks": [asdict(r) for r in result.attacks],
    }
    for path in [config.directory / "summary.json"] + ([json_out] if json_out else []):
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
