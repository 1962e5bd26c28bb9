"""The seven attacks of the attack profile (scripts/attack.py), one coroutine each.

Theory of operation
-------------------
An attack is ``async def attack(ctx, win) -> details``. It may prepare what
it needs (sign its extrinsics, fill the pools), then calls
``await win.begin()``, which marks the start of the attack window, starts the
honest watched transfer and returns the window's end (``stop_at``, monotonic).
It attacks until ``stop_at`` and returns a dict of figures of its own
(outcome tallies, connections held...). Blocks, recovery, memory and the
watched transfer are measured by the runner (``attack_runner``), the same
way for every attack.

Sizes come from ``AttackSizes``; every loop is bounded by them and by
``stop_at``. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from ledger.crypto import Keypair, blake2b256, encode_address
from scripts.chaos_lib.attack_net import MORTALITY, RPC_FAILURES, Accounts, AttackNet
from scripts.chaos_lib.attack_traffic import (
    SquatStats,
    Tally,
    attacker_sources,
    batch_body,
    hammer,
    heavy_credit_submit,
    noise_first_message,
    slow_body_headers,
    squat,
    submit_all,
    transfer,
)


@dataclass(frozen=True, slots=True)
class AttackSizes:
    flood_keys: int = 15  # the original finding: 15 keys, 750 calls, 1.8 MB
    flood_per_key: int = 50
    rpc_clients: int = 2  # closed-loop connections per port
    rpc_batch: int = 100  # calls per batch (the default max_batch)
    rpc_reconnect: bool = False  # a new connection for every batch
    proof_keys: int = 1024  # keys per state_getReadProof (the method's limit)
    burst_senders: int = 32
    burst_per_sender: int = 10  # 320 transfers per burst
    bursts: int = 1  # one burst (the "a block of more extrinsics than any buffer")
    burst_every: float = 2.0  # between bursts, when there are more
    pool_per_key: int = 50  # future nonces per pool key (max_future_nonce is 64)
    slow_conns: int = 500  # per RPC port: 2 000 on four nodes
    hs_conns: int = 64  # per p2p port: twice the 32 handshake slots
    restart_node: int = 3  # the validator restarted during the handshake attack
    attacker_ips: int = 8  # attack traffic comes from 127.0.0.2 .. 127.0.0.(1 + this)


class Window(Protocol):
    async def begin(self, watch_ready: trio.Event | None = None) -> float: ...


@dataclass
class AttackContext:
    net: AttackNet
    accounts: Accounts
    sizes: AttackSizes
    rng: random.Random
    baseline_rate: float  # blocks per second in this attack's baseline window
    window_s: float
    expensive: tuple[str, list[Any]]  # (method, params) chosen by the probe

    @property
    def sources(self) -> list[str]:
        return attacker_sources(self.sizes.attacker_ips)

    def source(self, index: int) -> str:
        return self.sources[index % len(self.sources)]

    async def in_thread(self, fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn)


Attack = Callable[[AttackContext, Window], Awaitable[dict[str, Any]]]


# ---------------------------------------------------------------- floods of extrinsics


async def _receipts(ctx: AttackContext, hashes: list[bytes]) -> dict[str, int]:
    """How many of ``hashes`` are in a block (and succeeded), asked of any live node."""

    def count() -> dict[str, int]:
        for client in ctx.net.clients:
            included = succeeded = 0
            try:
                for start in range(0, len(hashes), 100):
                    part = hashes[start : start + 100]
                    for reply in client.batch(
                        [("chain_getReceipt", ["0x" + h.hex()]) for h in part]
                    ):
                        if isinstance(reply, dict):
                            included += 1
                            succeeded += bool(reply.get("success"))
            except RPC_FAILURES:
                continue
            return {"included": included, "succeeded": succeeded}
        return {"included": -1, "succeeded": -1}

    result: dict[str, int] = await ctx.in_thread(count)
    return result


async def _flood(ctx: AttackContext, win: Window, keys: list[Keypair]) -> dict[str, Any]:
    net = ctx.net
    top = await ctx.in_thread(lambda: net.clients[0].best_height())
    nonces = await ctx.in_thread(
        lambda: net.clients[0].batch(
            [("account_nextIndex", [encode_address(k.public, net.hrp)]) for k in keys]
        )
    )
    per_node: list[list[bytes]] = [[] for _ in range(net.count)]
    for index, key in enumerate(keys):
        first = nonces[index] if isinstance(nonces[index], int) else 0
        for offset in range(ctx.sizes.flood_per_key):
            raw = heavy_credit_submit(
                key, first + offset, top + MORTALITY, net.genesis_hash, ctx.rng
            )
            per_node[index % net.count].append(raw)
    hashes = [blake2b256(raw) for raws in per_node for raw in raws]
    total_bytes = sum(len(raw) for raws in per_node for raw in raws)
    tally = Tally()
    sent = [0] * net.count
    stop_at = await win.begin()

    async def one_node(node: int) -> None:
        sent[node] = await submit_all(
            net.rpc_ports[node], per_node[node], stop_at, tally, 50, ctx.source(node)
        )

    async with trio.open_nursery() as nursery:
        for node in range(net.count):
            nursery.start_soon(one_node, node)
    sent_s = time.monotonic()
    await trio.sleep(max(0.0, stop_at - time.monotonic()))
    return {
        "extrinsics": len(hashes),
        "bytes": total_bytes,
        "sent": sum(sent),
        "send_seconds": round(sent_s - (stop_at - ctx.window_s), 2),
        "replies": tally.to_json(),
        "by_window_end": await _receipts(ctx, hashes),
    }


async def unfunded_flood(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """Fresh keys that were never paid anything send heavy ``credit.submit`` calls."""
    return await _flood(ctx, win, ctx.accounts.unfunded)


async def funded_flood(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """The same flood from keys ``alice`` paid 10 000 tokens each: they can pay fees."""
    return await _flood(ctx, win, ctx.accounts.funded)


# ---------------------------------------------------------------- RPC batches


async def _hammer_every_port(ctx: AttackContext, body: bytes, stop_at: float, tally: Tally) -> None:
    async with trio.open_nursery() as nursery:
        for node, port in enumerate(ctx.net.rpc_ports):
            for k in range(ctx.sizes.rpc_clients):
                source = ctx.source(node * ctx.sizes.rpc_clients + k)
                nursery.start_soon(
                    hammer, port, body, stop_at, tally, 10_000, source, ctx.sizes.rpc_reconnect
                )


async def rpc_batch(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """Batches of the most expensive method (chosen by the probe), closed loop, every port."""
    method, params = ctx.expensive
    body = batch_body(method, params, ctx.sizes.rpc_batch)
    tally = Tally()
    stop_at = await win.begin()
    await _hammer_every_port(ctx, body, stop_at, tally)
    return {
        "method": method,
        "reconnect": ctx.sizes.rpc_reconnect,
        "batch": ctx.sizes.rpc_batch,
        "body_bytes": len(body),
        "replies": tally.to_json(),
    }


async def pending_pool(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """Fill every pool with heavy future-nonce extrinsics, then batch author_pendingExtrinsics."""
    net, sizes = ctx.net, ctx.sizes
    top = await ctx.in_thread(lambda: net.clients[0].best_height())
    # They wait for a nonce gap that never fills, and leave when they expire,
    # a few seconds after the window (at the baseline's block rate).
    expiry = top + int(ctx.baseline_rate * (ctx.window_s + 5)) + 10
    keys = ctx.accounts.pool
    nonces = await ctx.in_thread(
        lambda: net.clients[0].batch(
            [("account_nextIndex", [encode_address(k.public, net.hrp)]) for k in keys]
        )
    )
    raws = []
    for key, next_nonce in zip(keys, nonces, strict=True):
        first = next_nonce if isinstance(next_nonce, int) else 0
        for offset in range(sizes.pool_per_key):
            raws.append(
                heavy_credit_submit(key, first + 1 + offset, expiry, net.genesis_hash, ctx.rng)
            )
    fill = Tally()
    async with trio.open_nursery() as nursery:
        for node, port in enumerate(net.rpc_ports):  # every pool, not only what gossip carries
            until = time.monotonic() + 30
            nursery.start_soon(submit_all, port, raws, until, fill, 50, ctx.source(node))

    await trio.sleep(FILL_SETTLE_S)  # the pools' own work on the fill is not the attack's
    in_pool = await ctx.in_thread(lambda: net.pool(0))
    body = batch_body("author_pendingExtrinsics", [], sizes.rpc_batch)
    tally = Tally()
    stop_at = await win.begin()
    await _hammer_every_port(ctx, body, stop_at, tally)
    return {
        "fill": {"extrinsics": len(raws), "bytes": sum(map(len, raws)), **fill.to_json()},
        "pool_node0": in_pool,
        "batch": sizes.rpc_batch,
        "body_bytes": len(body),
        "replies": tally.to_json(),
    }


# ---------------------------------------------------------------- a block bigger than any buffer


async def block_burst(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """One burst of 320 transfers from 32 funded senders at once (more than any buffer of
    128), with the watcher subscribed to new heads and its transfer submitted with it."""
    net, sizes = ctx.net, ctx.sizes
    senders = ctx.accounts.burst
    bob = Keypair.dev("bob").public
    tally = Tally()
    first_height = await ctx.in_thread(lambda: net.clients[0].best_height())

    def build() -> list[bytes]:
        client = next(
            (net.clients[i] for i in range(net.count) if i not in net.expected_down),
            net.clients[0],
        )
        nonces = client.batch(
            [("account_nextIndex", [encode_address(k.public, net.hrp)]) for k in senders]
        )
        valid_until = client.best_height() + MORTALITY
        raws = []
        for step in range(sizes.burst_per_sender):
            for key, nonce in zip(senders, nonces, strict=True):
                if isinstance(nonce, int):
                    raws.append(
                        transfer(key, nonce + step, bob, 1, valid_until, net.genesis_hash).encode()
                    )
        return raws

    raws = await ctx.in_thread(build)
    ready = trio.Event()
    stop_at = await win.begin(watch_ready=ready)
    with trio.move_on_after(5):
        await ready.wait()
    bursts = sent = 0
    while time.monotonic() < stop_at and bursts < sizes.bursts:
        began = time.monotonic()
        share = -(-len(raws) // net.count)
        async with trio.open_nursery() as nursery:
            for node in range(net.count):
                part = raws[node * share : (node + 1) * share]
                port = net.rpc_ports[node]
                nursery.start_soon(submit_all, port, part, stop_at, tally, 100, ctx.source(node))
        bursts += 1
        sent += len(raws)
        if bursts >= sizes.bursts:
            break
        await trio.sleep(max(0.0, min(stop_at, began + sizes.burst_every) - time.monotonic()))
        if time.monotonic() < stop_at:
            try:
                raws = await ctx.in_thread(build)
            except RPC_FAILURES:
                tally.add("could not read nonces for the next burst")
                break

    def biggest() -> int:
        try:
            client = net.clients[0]
            top = client.best_height()
            heights = list(range(first_height + 1, top + 1))[-300:]
            most = 0
            for start in range(0, len(heights), 20):
                hashes = client.batch(
                    [("chain_getBlockHash", [h]) for h in heights[start : start + 20]]
                )
                blocks = client.batch([("chain_getBlock", [x]) for x in hashes])
                for block in blocks:
                    if isinstance(block, dict):
                        most = max(most, len(block["block"]["extrinsics"]))
            return most
        except RPC_FAILURES:
            return -1

    await trio.sleep(max(0.0, stop_at - time.monotonic()))
    return {
        "bursts": bursts,
        "per_burst": sizes.burst_senders * sizes.burst_per_sender,
        "sent": sent,
        "replies": tally.to_json(),
        "largest_block_extrinsics": await ctx.in_thread(biggest),
    }


# ---------------------------------------------------------------- held connections


async def slow_body(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """Connections to every RPC port that announce a body and dribble it (or stall)."""
    sizes = ctx.sizes
    stats = SquatStats()
    stop_at = await win.begin()
    async with trio.open_nursery() as nursery:
        for port in ctx.net.rpc_ports:
            nursery.start_soon(
                squat,
                port,
                sizes.slow_conns,
                slow_body_headers(port),
                1.0,
                stop_at,
                stats,
                sizes.slow_conns * 20,
                ctx.sources,
            )
    return {"per_port": sizes.slow_conns, "connections": stats.to_json()}


async def restart_victim(ctx: AttackContext, follow_until: float) -> dict[str, Any]:
    """``kill -9`` one validator and start it again at once; follow it until it is back
    within a block of the others (``rejoined_s``) or ``follow_until`` (monotonic)."""
    net = ctx.net
    victim = ctx.sizes.restart_node
    rejoin: dict[str, Any] = {"node": victim, "rejoined_s": None}

    def restart() -> float:
        net.expected_down.add(victim)
        net.nodes[victim].kill()
        net.nodes[victim].start()
        net.expected_down.discard(victim)
        return time.monotonic()

    def others_top() -> int | None:
        heights = [h for i, h in enumerate(net.heights()) if i != victim and h is not None]
        return max(heights) if heights else None

    def caught_up(floor: int) -> bool:
        """Back: past ``floor`` (blocks it can only have from its peers after the restart)
        and within a block of the others."""
        top, mine = others_top(), net.height(victim)
        return mine is not None and top is not None and mine >= max(floor, top - 1)

    restarted = await ctx.in_thread(restart)
    floor = (await ctx.in_thread(others_top) or 0) + 2
    rejoin["height_at_restart"] = floor - 2
    while time.monotonic() < follow_until:
        await trio.sleep(0.5)
        if await ctx.in_thread(lambda: caught_up(floor)):
            rejoin["rejoined_s"] = round(time.monotonic() - restarted, 2)
            return rejoin
    return rejoin


async def handshake_slots(ctx: AttackContext, win: Window) -> dict[str, Any]:
    """Connections to every p2p port that never finish the Noise handshake (half send
    nothing, half a valid first message and then nothing), while one validator restarts
    and must handshake with its peers again."""
    net, sizes = ctx.net, ctx.sizes
    stats = SquatStats()
    stop_at = await win.begin()
    rejoin: dict[str, Any] = {}

    def opening(slot: int) -> bytes:
        # Half say nothing; half send a valid first message and then nothing more.
        return b"" if slot % 2 == 0 else noise_first_message(net.genesis_hash)

    async def victim() -> None:
        await trio.sleep(RESTART_AT_S)  # the squatters are in place
        # Followed past the window: the runner's recovery wait covers it.
        rejoin.update(await restart_victim(ctx, stop_at + 30))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(victim)
        for port in net.p2p_ports:
            nursery.start_soon(
                squat,
                port,
                sizes.hs_conns,
                opening,
                None,
                stop_at,
                stats,
                sizes.hs_conns * 200,
                ctx.sources,
            )
    return {"per_port": sizes.hs_conns, "connections": stats.to_json(), "restart": rejoin}


# Attacks whose baseline window restarts the same validator at the same offset,
# so that their ratio compares a restart under attack with a restart in peace.
RESTART_IN_BASELINE = frozenset({"handshake_slots"})
RESTART_AT_S = 0.5
FILL_SETTLE_S = 2.0

ATTACKS: dict[str, Attack] = {
    "unfunded_flood": unfunded_flood,
    "funded_flood": funded_flood,
    "rpc_batch": rpc_batch,
    "block_burst": block_burst,
    "pending_pool": pending_pool,
    "slow_body": slow_body,
    "handshake_slots": handshake_slots,
}


def parse_attacks(text: str) -> tuple[str, ...]:
    if text == "all":
        return tuple(ATTACKS)
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in ATTACKS]
    if unknown or not names:
        raise ValueError(f"unknown attack(s) {unknown}; choose from {', '.join(ATTACKS)} or all")
    return names
