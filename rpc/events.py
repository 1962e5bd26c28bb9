"""Fan-out of chain events to subscriptions: ``EventHub``.

Theory of operation
-------------------
The node publishes each event once (``publish`` never blocks and never
raises); the hub copies it into the bounded memory channel of every
subscriber whose ``Topics`` ask for it: head subscribers get heads, a watcher
gets its own extrinsic's statuses (a dictionary look-up by hash, so a block
of 1 000 extrinsics costs each watcher at most its own two events and the
node 1 000 look-ups, not 1 000 x watchers). A subscriber opened without
topics gets everything.

A subscriber that has fallen ``buffer`` events behind is cut off, never in
silence: the channel has one slot more than ``buffer``, reserved for a final
``Lagged`` marker, then it is closed. The subscription reads the marker and
tells its client (``rpc.subscriptions``), so the node does not queue memory
without bound for a client that does not read, and the client knows why its
stream stopped. Publishing is synchronous so that the node can call it from
anywhere in its trio thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
import trio

from rpc.backend import ChainEvent, ExtrinsicStatus, FinalizedHead, Lagged, NewHead, Topics

log = structlog.get_logger("rpc.events")

Channel = trio.MemorySendChannel[ChainEvent]


class EventHub:
    """Publish/subscribe for ``ChainEvent`` values, routed by topic, with bounded buffers."""

    def __init__(self, buffer: int = 256) -> None:
        if buffer < 1:
            raise ValueError("an event buffer holds at least one event")
        self._buffer = buffer
        self._everything: set[Channel] = set()
        self._heads: set[Channel] = set()
        self._finalized: set[Channel] = set()
        self._by_extrinsic: dict[bytes, set[Channel]] = {}
        self._topics: dict[Channel, Topics | None] = {}
        self.lagged = 0  # subscribers cut off since start (for logs and tests)

    @property
    def subscriber_count(self) -> int:
        return len(self._topics)

    def _targets(self, event: ChainEvent) -> list[Channel]:
        targets = list(self._everything)
        if isinstance(event, NewHead):
            targets.extend(self._heads)
        elif isinstance(event, FinalizedHead):
            targets.extend(self._finalized)
        elif isinstance(event, ExtrinsicStatus):
            targets.extend(self._by_extrinsic.get(event.extrinsic_hash, ()))
        return targets

    def publish(self, event: ChainEvent) -> None:
        for channel in self._targets(event):
            if channel.statistics().current_buffer_used >= self._buffer:
                self._cut_off(channel)
                continue
            try:
                channel.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self._remove(channel)

    def _cut_off(self, channel: Channel) -> None:
        """The reserved last slot carries ``Lagged``; then the stream ends."""
        self.lagged += 1
        log.warning("subscriber fell behind, ending its stream", buffer=self._buffer)
        with suppress(trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            channel.send_nowait(Lagged(self._buffer))
        self._remove(channel)
        channel.close()

    def _add(self, channel: Channel, topics: Topics | None) -> None:
        self._topics[channel] = topics
        if topics is None:
            self._everything.add(channel)
            return
        if topics.new_heads:
            self._heads.add(channel)
        if topics.finalized_heads:
            self._finalized.add(channel)
        if topics.extrinsic is not None:
            self._by_extrinsic.setdefault(topics.extrinsic, set()).add(channel)

    def _remove(self, channel: Channel) -> None:
        if channel not in self._topics:
            return
        topics = self._topics.pop(channel)
        self._everything.discard(channel)
        self._heads.discard(channel)
        self._finalized.discard(channel)
        if topics is not None and topics.extrinsic is not None:
            watchers = self._by_extrinsic.get(topics.extrinsic)
            if watchers is not None:
                watchers.discard(channel)
                if not watchers:
                    del self._by_extrinsic[topics.extrinsic]

    @asynccontextmanager
    async def subscribe(
        self, topics: Topics | None = None
    ) -> AsyncIterator[trio.abc.ReceiveChannel[ChainEvent]]:
        # One slot beyond ``buffer``: room for the Lagged marker when it is full.
        send, receive = trio.open_memory_channel[ChainEvent](self._buffer + 1)
        self._add(send, topics)
        try:
            yield receive
        finally:
            self._remove(send)
            send.close()
            receive.close()
