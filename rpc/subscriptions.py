"""Subscriptions of one WebSocket connection: ``Session``.

Theory of operation
-------------------
Each WebSocket connection has one ``Session``: a nursery for its
subscription tasks and one bounded outgoing queue, drained by the
connection's writer. Replies and notifications go through the same queue,
so their order on the wire is the order in which they were queued.

A subscription is a task that opens its own stream of chain events
(``backend.subscribe_events()``), then *waits* until the reply carrying its
id has been queued (``release_pending``, called by the connection after each
message) before it sends anything: a client never sees a notification for a
subscription id it has not yet been told. Opening the event stream before
replying matters for ``author_submitAndWatchExtrinsic``: the stream exists
before the extrinsic reaches the pool, so no status can be missed.

``translate`` maps each chain event to ``None`` (not for this subscription)
or ``(payload, last)``; a ``last`` payload ends the subscription.

Nothing ends in silence:

* If the hub cut the subscription's event stream off (``Lagged``: the task
  fell a whole buffer behind), the client gets one error notification,
  ``params: {"subscription": id, "error": {"code": -32003, "message":
  "subscription lagged", "data": why}}`` (the shape jsonrpsee, Substrate's
  RPC server, uses to close a subscription), after whatever ``translate``
  makes of the ``Lagged`` event (a watcher first sends its terminal status).
* A client that does not read its queue fast enough (``ws_send_queue``
  messages waiting) is disconnected (``overflowed``) with WebSocket close
  code 1008 and the reason "client too slow: ..." since the node must not
  buffer without bound for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio

from rpc import errors
from rpc.backend import ChainEvent, Lagged
from rpc.jsonio import dumps

log = structlog.get_logger("rpc.subscriptions")

EventSource = Callable[[], AbstractAsyncContextManager[trio.abc.ReceiveChannel[ChainEvent]]]
Translate = Callable[[ChainEvent], tuple[Any, bool] | None]

_ids = itertools.count(1)


def _encode_error(method: str, sub_id: str, code: int, message: str, data: str) -> str:
    error = {"code": code, "message": message, "data": data}
    return dumps(
        {"jsonrpc": "2.0", "method": method, "params": {"subscription": sub_id, "error": error}}
    )


def _encode_notification(method: str, sub_id: str, result: Any) -> str:
    return dumps(
        {"jsonrpc": "2.0", "method": method, "params": {"subscription": sub_id, "result": result}}
    )


@dataclass
class _Subscription:
    notification: str
    scope: trio.CancelScope
    ready: trio.Event = field(default_factory=trio.Event)


class Session:
    """Subscriptions and the outgoing queue of one WebSocket connection."""

    def __init__(
        self, nursery: trio.Nursery, outgoing: trio.MemorySendChannel[str], max_subscriptions: int
    ) -> None:
        self._nursery = nursery
        self._outgoing = outgoing
        self._max = max_subscriptions
        self._subs: dict[str, _Subscription] = {}
        self._pending: list[trio.Event] = []
        self.overflowed = trio.Event()
        self.queue_size = outgoing.statistics().max_buffer_size

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    def send(self, message: str) -> bool:
        """Queue ``message``; on a full queue mark the session overflowed and return False."""
        if self.overflowed.is_set():
            return False
        try:
            self._outgoing.send_nowait(message)
        except trio.WouldBlock:
            log.warning("websocket client too slow, disconnecting", queued=self.queue_size)
            self.overflowed.set()
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.overflowed.set()
            return False
        return True

    async def open(
        self,
        notification: str,
        source: EventSource,
        translate: Translate,
        first: Any = None,
    ) -> str:
        """Start a subscription; return its id. ``first`` is sent before any event."""
        if len(self._subs) >= self._max:
            raise errors.invalid_request(
                f"subscription limit of {self._max} per connection reached"
            )
        sub_id = f"{next(_ids):x}"
        sub = _Subscription(notification, trio.CancelScope())
        self._subs[sub_id] = sub
        self._pending.append(sub.ready)
        try:
            await self._nursery.start(self._run, sub_id, sub, source, translate, first)
        except BaseException:
            self._subs.pop(sub_id, None)
            raise
        return sub_id

    async def _run(
        self,
        sub_id: str,
        sub: _Subscription,
        source: EventSource,
        translate: Translate,
        first: Any,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            with sub.scope:
                async with source() as events:
                    task_status.started()
                    await sub.ready.wait()
                    if first is not None and not self._notify(sub, sub_id, first):
                        return
                    async for event in events:
                        if isinstance(event, Lagged):
                            self._lagged(sub, sub_id, translate(event), event)
                            return
                        translated = translate(event)
                        if translated is None:
                            continue
                        payload, last = translated
                        if not self._notify(sub, sub_id, payload) or last:
                            return
        finally:
            self._subs.pop(sub_id, None)

    def _lagged(
        self,
        sub: _Subscription,
        sub_id: str,
        translated: tuple[Any, bool] | None,
        event: Lagged,
    ) -> None:
        log.warning("subscription lagged, ending it", subscription=sub_id, kind=sub.notification)
        reason = (
            f"the subscription fell {event.buffer} events behind the chain and was ended; "
            "subscribe again (and read notifications faster)"
        )
        if translated is not None:  # a watcher's terminal status comes first
            self._notify(sub, sub_id, translated[0])
        self.send(
            _encode_error(
                sub.notification, sub_id, errors.SUBSCRIPTION_LAGGED, "subscription lagged", reason
            )
        )

    def _notify(self, sub: _Subscription, sub_id: str, payload: Any) -> bool:
        return self.send(_encode_notification(sub.notification, sub_id, payload))

    def release_pending(self) -> None:
        """The replies naming the new subscriptions are queued: let them run."""
        for event in self._pending:
            event.set()
        self._pending.clear()

    def close(self, sub_id: str, notification: str) -> bool:
        """End subscription ``sub_id`` if it is of kind ``notification``; False if unknown."""
        sub = self._subs.get(sub_id)
        if sub is None or sub.notification != notification:
            return False
        del self._subs[sub_id]
        sub.scope.cancel()
        return True

    def cancel(self, sub_id: str) -> None:
        """Abandon a subscription whose reply will never be sent (its method failed)."""
        sub = self._subs.pop(sub_id, None)
        if sub is not None:
            sub.scope.cancel()
