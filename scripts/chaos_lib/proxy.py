"""A TCP proxy between localnet nodes whose every link the fault runner controls.

Theory of operation
-------------------
Each validator dials its peers through the proxy: for every ordered pair
``(i, j)`` the proxy listens on a port of its own on 127.0.0.1 and forwards to
j's real p2p port. Both directions of a pair share one *link* (the unordered
pair), and a link has a policy:

``PASS``   bytes flow as they come.
``DROP``   existing connections are cut; new ones are accepted and closed at
           once (a network that refuses: the dialler sees the connection die).
``STALL``  bytes are held and connections kept (a blackhole while TCP keeps
           retransmitting); when the link heals the held bytes flow on.
``DELAY``  each chunk is delivered ``delay_ms`` (+ up to ``jitter_ms``) after
           it was read, in order.
``LOSSY``  like ``DELAY``, and each chunk cuts its connection with probability
           ``cut_per_mille``/1000, or holds it for up to a second with
           ``stall_per_mille``/1000.

The proxy runs its own trio loop in a background thread. The runner sets
policies from its own thread with ``set_link`` (a dict write under a lock);
forwarding tasks read the policy for every chunk, and a watcher task cuts the
connections of a link switched to ``DROP`` within ~50 ms.
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass, field

import trio

HOST = "127.0.0.1"
CHUNK = 65536
QUEUE_CHUNKS = 256  # per direction; a stalled link pushes back on the sender after that
WATCH_S = 0.05


class Mode(enum.Enum):
    PASS = "pass"
    DROP = "drop"
    STALL = "stall"
    DELAY = "delay"
    LOSSY = "lossy"


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    mode: Mode = Mode.PASS
    delay_ms: int = 0
    jitter_ms: int = 0
    cut_per_mille: int = 0
    stall_per_mille: int = 0

    def __post_init__(self) -> None:
        for name in ("delay_ms", "jitter_ms", "cut_per_mille", "stall_per_mille"):
            if getattr(self, name) < 0:
                raise ValueError(f"LinkPolicy.{name} must not be negative")
        if self.cut_per_mille > 1000 or self.stall_per_mille > 1000:
            raise ValueError("LinkPolicy per-mille values must be at most 1000")


PASS = LinkPolicy()


def link_key(a: int, b: int) -> tuple[int, int]:
    if a == b:
        raise ValueError(f"a link joins two different nodes, got {a} twice")
    return (a, b) if a < b else (b, a)


@dataclass
class ProxyStats:
    connections: int = 0
    refused: int = 0
    cuts: int = 0
    bytes: int = 0


@dataclass(eq=False)
class _Connection:
    link: tuple[int, int]
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class LinkProxy:
    """Forward ``(src, dst)`` routes to ``targets[(src, dst)]`` under per-link policies."""

    def __init__(self, targets: dict[tuple[int, int], int], *, seed: int) -> None:
        if not targets:
            raise ValueError("the proxy needs at least one route")
        self._targets = dict(targets)
        self._policies: dict[tuple[int, int], LinkPolicy] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # used only on the proxy's thread
        self._connections: set[_Connection] = set()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.ports: dict[tuple[int, int], int] = {}
        self.stats = ProxyStats()

    # ------------------------------------------------------------ control (any thread)

    def start(self) -> dict[tuple[int, int], int]:
        """Open every listener; return the proxy port of each route."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already started")
        self._thread = threading.Thread(target=self._thread_main, name="chaos-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"the proxy failed to start: {self._error!r}")
        if not self._ready.is_set():
            raise RuntimeError("the proxy did not open its listeners within 30 s")
        return dict(self.ports)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def set_link(self, a: int, b: int, policy: LinkPolicy) -> None:
        with self._lock:
            self._policies[link_key(a, b)] = policy

    def heal(self) -> None:
        """Every link back to ``PASS``."""
        with self._lock:
            self._policies.clear()

    def policy(self, link: tuple[int, int]) -> LinkPolicy:
        with self._lock:
            return self._policies.get(link, PASS)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._error is None

    # ------------------------------------------------------------ the proxy's thread

    def _thread_main(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported by start() / alive, never swallowed silently
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        async with trio.open_nursery() as nursery:
            for route, target in sorted(self._targets.items()):
                listeners = await trio.open_tcp_listeners(0, host=HOST)
                self.ports[route] = listeners[0].socket.getsockname()[1]
                nursery.start_soon(self._serve, nursery, listeners[0], route, target)
            nursery.start_soon(self._watch, nursery.cancel_scope)
            self._ready.set()

    async def _watch(self, main: trio.CancelScope) -> None:
        while not self._stop.is_set():
            for conn in list(self._connections):
                if self.policy(conn.link).mode is Mode.DROP:
                    self.stats.cuts += 1
                    conn.scope.cancel()
            await trio.sleep(WATCH_S)
        main.cancel()

    async def _serve(
        self,
        nursery: trio.Nursery,
        listener: trio.SocketListener,
        route: tuple[int, int],
        target: int,
    ) -> None:
        async with listener:
            while True:
                stream = await listener.accept()
                nursery.start_soon(self._handle, stream, link_key(*route), target)

    async def _handle(self, client: trio.SocketStream, link: tuple[int, int], target: int) -> None:
        if self.policy(link).mode is Mode.DROP:
            self.stats.refused += 1
            await trio.aclose_forcefully(client)
            return
        try:
            with trio.fail_after(5):
                upstream = await trio.open_tcp_stream(HOST, target)
        except (OSError, trio.TooSlowError):
            await trio.aclose_forcefully(client)  # the peer is down: so is the link
            return
        self.stats.connections += 1
        conn = _Connection(link)
        self._connections.add(conn)
        try:
            with conn.scope:
                async with trio.open_nursery() as pumps:
                    pumps.start_soon(self._pump, client, upstream, conn)
                    pumps.start_soon(self._pump, upstream, client, conn)
        finally:
            self._connections.discard(conn)
            # Synchronous closes: in a cancelled task the first ``aclose_forcefully``
            # re-raises Cancelled at its checkpoint and would skip the second.
            client.socket.close()
            upstream.socket.close()

    async def _pump(
        self, source: trio.SocketStream, sink: trio.SocketStream, conn: _Connection
    ) -> None:
        """One direction: a reader feeding a delay line; the first to end ends the connection."""
        send, receive = trio.open_memory_channel[tuple[float, bytes]](QUEUE_CHUNKS)
        async with trio.open_nursery() as both:
            both.start_soon(self._writer, receive, sink, conn)
            try:
                async with send:
                    while True:
                        data = await source.receive_some(CHUNK)
                        if not data:
                            break
                        policy = self.policy(conn.link)
                        if policy.mode is Mode.DROP or (
                            policy.mode is Mode.LOSSY
                            and self._rng.randrange(1000) < policy.cut_per_mille
                        ):
                            self.stats.cuts += 1
                            break
                        due = trio.current_time()
                        if policy.mode in (Mode.DELAY, Mode.LOSSY):
                            jitter = self._rng.randint(0, policy.jitter_ms)
                            due += (policy.delay_ms + jitter) / 1000
                        await send.send((due, data))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        conn.scope.cancel()

    async def _writer(
        self,
        receive: trio.MemoryReceiveChannel[tuple[float, bytes]],
        sink: trio.SocketStream,
        conn: _Connection,
    ) -> None:
        async with receive:
            async for due, data in receive:
                policy = self.policy(conn.link)
                while policy.mode is Mode.STALL:
                    await trio.sleep(WATCH_S)
                    policy = self.policy(conn.link)
                if policy.mode is Mode.LOSSY and self._rng.randrange(1000) < policy.stall_per_mille:
                    await trio.sleep(self._rng.uniform(0.1, 1.0))
                await trio.sleep_until(max(due, trio.current_time()))
                try:
                    await sink.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    conn.scope.cancel()
                    return
                self.stats.bytes += len(data)


__all__ = ["PASS", "LinkPolicy", "LinkProxy", "Mode", "ProxyStats", "link_key"]
