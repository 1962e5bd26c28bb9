"""A real hypercorn RPC server on 127.0.0.1, port 0, over a ``FakeBackend``.

``LiveServer`` runs the server in its own thread with its own trio loop, so
synchronous clients (``RpcClient``, the wallet through typer's CliRunner,
raw httpx) can talk to it from the test thread. ``run`` executes a function
inside the server's loop (the backend and its event hub are not
thread-safe). With ``block_interval`` set, a task produces a block at that
interval, like a node would.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from rpc.config import RpcConfig
from rpc.registry import MethodRegistry
from rpc.server import BoundAddress, serve
from tests.rpc.fake_backend import FakeBackend, build_registry

T = TypeVar("T")


class LiveServer:
    def __init__(
        self,
        backend: FakeBackend | None = None,
        config: RpcConfig | None = None,
        registry: MethodRegistry | None = None,
        block_interval: float | None = None,
    ) -> None:
        self.backend = backend or FakeBackend()
        self.config = config or RpcConfig(port=0)
        self.registry = registry or build_registry()
        self.block_interval = block_interval
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._error: BaseException | None = None
        self.bound: BoundAddress | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    @property
    def url(self) -> str:
        assert self.bound is not None
        return self.bound.url

    @property
    def ws_url(self) -> str:
        assert self.bound is not None
        return self.bound.ws_url

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported to the test thread by start()/stop()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self._cancel = nursery.cancel_scope
            start = functools.partial(serve, self.backend, self.config, registry=self.registry)
            self.bound = await nursery.start(start)
            if self.block_interval is not None:
                nursery.start_soon(self._produce, self.block_interval)
            self._ready.set()

    async def _produce(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            self.backend.produce_block()

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"RPC server did not start: {self._error!r}")
        return self

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` inside the server's trio loop and return its result."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def stop(self) -> None:
        if self._cancel is not None and self._thread.is_alive():
            trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
        self._thread.join(10)
        if self._error is not None:
            raise self._error
