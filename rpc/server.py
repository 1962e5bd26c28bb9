"""Running the RPC server: ``serve`` for the node's nursery.

``await nursery.start(serve, backend, config)`` binds ``config.host:port``
(port 0 picks a free port), and reports the bound address as a
``BoundAddress`` once the socket is listening; the server runs until the
nursery is cancelled. hypercorn's own logs go to the stdlib logger
``hypercorn.error`` (the node's logging setup routes it); access logs are
off.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from rpc.app import RpcApp
from rpc.backend import RpcBackend
from rpc.config import RpcConfig
from rpc.methods import standard_registry
from rpc.registry import MethodRegistry


@dataclass(frozen=True, slots=True)
class BoundAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


def hypercorn_config(config: RpcConfig) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [config.bind]
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error")
    hc.keep_alive_timeout = config.keep_alive_timeout_s
    hc.keep_alive_max_requests = config.keep_alive_max_requests
    # Any connection silent this long is closed (the whole-body deadline,
    # body_timeout_s, is the app's: rpc.app); WebSockets are pinged more often
    # than that, so a live client's pongs keep it open.
    hc.read_timeout = config.read_timeout_s
    hc.websocket_ping_interval = config.ws_ping_interval_s
    hc.websocket_max_message_size = config.max_body_bytes
    hc.include_server_header = False
    hc.graceful_timeout = 1.0
    return hc


def _parse_bind(bind: str) -> BoundAddress:
    """``http://127.0.0.1:9944`` or ``http://[::1]:9944`` as a ``BoundAddress``."""
    hostport = bind.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    return BoundAddress(host.strip("[]"), int(port))


async def serve_asgi(
    app: Any,
    config: RpcConfig,
    *,
    task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve any ASGI ``app`` with ``config``'s bind and limits (also used by the benchmark)."""

    run = functools.partial(hypercorn_serve, app, hypercorn_config(config), mode="asgi")
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(run)
        task_status.started(_parse_bind(binds[0]))


async def serve(
    backend: RpcBackend,
    config: RpcConfig | None = None,
    *,
    registry: MethodRegistry | None = None,
    task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve JSON-RPC for ``backend`` until cancelled; reports the bound address."""
    config = config or RpcConfig()
    app = RpcApp(registry or standard_registry(), backend, config)
    await serve_asgi(app, config, task_status=task_status)
