"""The honest user during an attack: one transfer, watched until it is finalized.

``watch_transfer`` opens one WebSocket with a ``chain_subscribeNewHeads``
subscription and an ``author_submitAndWatchExtrinsic`` of a transfer,
recording in ``Watch`` every status until ``finalized`` or the bound, and the
heads it saw (a missed head is a gap in what the node told its subscribers).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import trio
import wsproto.utilities

from rpc.client import RpcConnectionError, RpcError, WsClient

WS_FAILURES = (
    RpcError,
    RpcConnectionError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    wsproto.utilities.LocalProtocolError,
    wsproto.utilities.RemoteProtocolError,
    json.JSONDecodeError,
)


@dataclass
class Watch:
    submitted_at: float = 0.0
    statuses: list[str] = field(default_factory=list)
    finalized_s: float | None = None
    error: str | None = None
    heads: list[int] = field(default_factory=list)
    heads_ended_early: bool = False
    block_hash: str | None = None
    block_extrinsics: int | None = None

    @property
    def finalized(self) -> bool:
        return self.finalized_s is not None

    def heads_missed(self) -> int:
        if len(self.heads) < 2:
            return 0
        seen = set(self.heads)
        return sum(1 for h in range(min(seen), max(seen) + 1) if h not in seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "finalized": self.finalized,
            "finalized_s": None if self.finalized_s is None else round(self.finalized_s, 2),
            "statuses": self.statuses[:8],
            "error": self.error,
            "heads_seen": len(self.heads),
            "heads_missed": self.heads_missed(),
            "heads_ended_early": self.heads_ended_early,
            "block_extrinsics": self.block_extrinsics,
        }


def _short_status(status: Any) -> str:
    if isinstance(status, dict):
        key = next(iter(status), "?")
        return key if key != "invalid" else f"invalid: {str(status[key])[:40]}"
    return str(status)


async def watch_transfer(
    url: str,
    raw: bytes,
    bound: float,
    watch: Watch,
    heads_until: float,
    ready: trio.Event | None = None,
) -> None:
    """On one WebSocket: follow new heads until ``heads_until`` (monotonic), and
    submit-and-watch ``raw`` until ``finalized`` or ``bound`` seconds; ``ready`` is set
    once the heads subscription is in place (before the transfer is submitted)."""
    done = trio.Event()

    async def follow_heads(ws: WsClient) -> None:
        try:
            async with ws.new_heads() as heads:
                if ready is not None:
                    ready.set()
                async for head in heads:
                    watch.heads.append(int(head["number"]))
        except WS_FAILURES:
            pass  # the node closed the subscription: the heads seen so far are the answer
        if not done.is_set():
            watch.heads_ended_early = True

    async def follow_transfer(ws: WsClient) -> None:
        if ready is not None:
            with trio.move_on_after(5):
                await ready.wait()
        watch.submitted_at = time.monotonic()
        with trio.move_on_after(bound):
            try:
                async with ws.submit_and_watch(raw) as statuses:
                    async for status in statuses:
                        watch.statuses.append(_short_status(status))
                        if isinstance(status, dict) and "finalized" in status:
                            watch.finalized_s = time.monotonic() - watch.submitted_at
                            watch.block_hash = str(status["finalized"])
            except RpcError as exc:
                watch.error = f"refused {exc.code} {exc.message} {str(exc.data or '')[:60]}"

    overall = max(bound + 6, heads_until - time.monotonic())
    with trio.move_on_after(overall):
        try:
            async with WsClient.connect(url) as ws, trio.open_nursery() as nursery:
                nursery.start_soon(follow_heads, ws)
                await follow_transfer(ws)
                await trio.sleep(max(0.0, heads_until - time.monotonic()))
                done.set()
                nursery.cancel_scope.cancel()
        except WS_FAILURES as exc:
            watch.error = watch.error or f"connection: {str(exc)[:80] or type(exc).__name__}"
    done.set()
    if watch.finalized_s is None and watch.error is None:
        last = watch.statuses[-1] if watch.statuses else "no status"
        watch.error = f"not finalized within {bound:.0f}s (last: {last})"
    if ready is not None:
        ready.set()  # never leave the burst waiting on a watch that could not subscribe
