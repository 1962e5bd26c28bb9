"""Benchmark: ECVRF prove/verify per second (ledger/vrf.py), with Ed25519 as the reference.

Workload: ``--keys`` Ed25519 seeds (fixed, from ``--seed``) and ``--alphas``
inputs shaped like a draw's input (40 bytes: a 32-byte hash and two 4-byte
integers); every key proves every input, then every proof is verified and
hashed. The in-run reference is PyNaCl's Ed25519 sign and verify of the same
messages with the same keys.

The five operations are timed in turn, ``--rounds`` times over (interleaved,
so that load from other processes on a shared machine falls on all of them
alike); the report gives each operation's best round (the least disturbed)
and its median, the ratios to Ed25519 from the best rounds, and the
conditions (machine, load, Python and PyNaCl versions).

Quick run: ``python -m scripts.bench_vrf --keys 4 --alphas 25 --rounds 3``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version as package_version

import nacl.signing

from ledger import vrf


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=8)
    parser.add_argument("--alphas", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=9381)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = [rng.randbytes(32) for _ in range(args.keys)]
    alphas = [
        rng.randbytes(32) + rng.randrange(2**32).to_bytes(4, "big") + bytes(4)
        for _ in range(args.alphas)
    ]
    publics = [vrf.public_key(seed) for seed in seeds]
    signers = [nacl.signing.SigningKey(seed) for seed in seeds]
    verifiers = [signer.verify_key for signer in signers]
    work = [(i, alpha) for i in range(args.keys) for alpha in alphas]
    n = len(work)
    proofs = [vrf.prove(seeds[i], a) for i, a in work]
    signatures = [signers[i].sign(a).signature for i, a in work]

    def vrf_verify_all() -> None:
        for (i, a), pi in zip(work, proofs, strict=True):
            if vrf.verify(publics[i], pi, a) is None:
                raise AssertionError("a proof did not verify")

    def ed_verify_all() -> None:
        for (i, a), sig in zip(work, signatures, strict=True):
            verifiers[i].verify(a, sig)

    operations: dict[str, Callable[[], object]] = {
        "vrf prove": lambda: [vrf.prove(seeds[i], a) for i, a in work],
        "vrf verify": vrf_verify_all,
        "vrf proof_to_hash": lambda: [vrf.proof_to_hash(pi) for pi in proofs],
        "ed25519 sign (PyNaCl)": lambda: [signers[i].sign(a) for i, a in work],
        "ed25519 verify (PyNaCl)": ed_verify_all,
    }
    times: dict[str, list[float]] = {name: [] for name in operations}
    loads = []
    for _ in range(args.rounds):
        for name, action in operations.items():
            times[name].append(_seconds(action))
        loads.append(os.getloadavg()[0])

    print("ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381), ledger/vrf.py")
    print(
        f"conditions: {platform.machine()}, {os.cpu_count()} cpus, "
        f"{platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"PyNaCl {package_version('pynacl')} (the libsodium it loads); one thread; "
        f"1-minute load average {min(loads):.2f}..{max(loads):.2f} during the run"
    )
    print(
        f"workload: {args.keys} keys x {args.alphas} inputs = {n} operations per round, "
        f"{args.rounds} interleaved rounds"
    )
    print(f"  {'operation':<26} {'best /s':>9} {'us/op':>8} {'median /s':>10} {'us/op':>8}")
    best: dict[str, float] = {}
    for name, seconds in times.items():
        best[name] = n / min(seconds)
        median = n / statistics.median(seconds)
        print(
            f"  {name:<26} {best[name]:>9.0f} {1e6 / best[name]:>8.1f} "
            f"{median:>10.0f} {1e6 / median:>8.1f}"
        )
    print(
        f"  ratios (best rounds): prove = "
        f"{best['ed25519 sign (PyNaCl)'] / best['vrf prove']:.1f} Ed25519 signs, verify = "
        f"{best['ed25519 verify (PyNaCl)'] / best['vrf verify']:.1f} Ed25519 verifies"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
