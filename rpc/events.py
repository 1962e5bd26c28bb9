"""Fan-out of chain events to subscriptions: ``EventHub``.

Theory of operation
-------------------
The node publishes each event once (``publish`` never blocks and never
raises); the hub copies it into the bounded memory channel of every open
subscriber. A subscriber that has fallen ``buffer`` events behind is cut
off: its channel is closed, so its subscription ends instead of the node
queueing memory without bound for a client that does not read. Publishing is
synchronous so that the node can call it from anywhere in its trio thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import trio

from rpc.backend import ChainEvent

log = structlog.get_logger("rpc.events")


class EventHub:
    """Publish/subscribe for ``ChainEvent`` values, with bounded buffers."""

    def __init__(self, buffer: int = 256) -> None:
        if buffer < 1:
            raise ValueError("an event buffer holds at least one event")
        self._buffer = buffer
        self._subscribers: set[trio.MemorySendChannel[ChainEvent]] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: ChainEvent) -> None:
        for channel in list(self._subscribers):
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                log.warning("subscriber too slow, dropping it", buffer=self._buffer)
                self._subscribers.discard(channel)
                channel.close()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.discard(channel)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[trio.abc.ReceiveChannel[ChainEvent]]:
        send, receive = trio.open_memory_channel[ChainEvent](self._buffer)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()
            receive.close()
