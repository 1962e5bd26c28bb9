"""Fixtures: a live RPC server in a thread (sync tests) or in the test's nursery (async)."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
import trio

from rpc.config import RpcConfig
from rpc.server import BoundAddress, serve
from tests.rpc.fake_backend import FakeBackend, build_registry
from tests.rpc.live_server import LiveServer


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_unsafe() -> Iterator[LiveServer]:
    """A live server with unsafe methods on (author_pendingExtrinsics needs them)."""
    server = LiveServer(config=RpcConfig(port=0, unsafe_methods=True)).start()
    yield server
    server.stop()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def ws_server(nursery: trio.Nursery, backend: FakeBackend) -> BoundAddress:
    """The server running in the test's own trio loop (for WebSocket tests)."""
    start = functools.partial(serve, backend, RpcConfig(port=0), registry=build_registry())
    bound: BoundAddress = await nursery.start(start)
    return bound
