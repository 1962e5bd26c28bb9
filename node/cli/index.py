"""``credichain index --postgres URL --rpc URL``: a follower that streams a chain into PostgreSQL.

For analysts who outgrow queries against one node (issue 20): blocks,
extrinsics, events, fund movements, funds, loans and fund reports go into
the SQL schema of ``node/indexer/schema.sql`` (docs/indexer.md describes
every table). The follower reads the node's JSON-RPC only; it runs beside a
node, never inside one, and nothing of it is needed to run a node. Killed at
any moment, it resumes from its high-water mark without a duplicate row.

Exit codes: 0 when it stopped as asked (``--until``, ``--once``, Ctrl-C), 1
when the node or the database cannot go on (a node of another chain, a
schema of another version, a block that does not hash as announced), 2 for
bad options.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli.common import exit_error, fail, usage_error
from node.cli.options import DEFAULT_RPC
from node.indexer.fetch import Fetcher, FetchError
from node.indexer.follower import FollowOptions, follow
from node.indexer.rows import RowError
from node.indexer.sink import PostgresSink, SinkError
from rpc.client import RpcClient, RpcConnectionError
from rpc.errors import RpcError

__all__ = ["index_command"]


def index_command(
    postgres: Annotated[
        str,
        typer.Option(
            "--postgres",
            envvar="CREDICHAIN_POSTGRES",
            help="PostgreSQL to write to: postgresql://USER@HOST:PORT/DB (or libpq key=value).",
        ),
    ],
    rpc: Annotated[
        str,
        typer.Option("--rpc", envvar="CREDICHAIN_RPC", help="The node's JSON-RPC URL."),
    ] = DEFAULT_RPC,
    until: Annotated[
        int | None, typer.Option("--until", min=0, help="Stop once block N is indexed.")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Stop once caught up with the node's best block.")
    ] = False,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=1000, help="Blocks fetched per round.")
    ] = 32,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between polls once caught up.")
    ] = 1.0,
    report_interval: Annotated[
        int,
        typer.Option(
            "--report-interval",
            min=1,
            help="Seconds of block time between reports of every fund (fund_reports).",
        ),
    ] = 3600,
) -> None:
    """Stream a node's blocks, events, fund movements and loans into PostgreSQL."""
    try:
        options = FollowOptions(batch=batch, poll_s=poll, until=until, once=once)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    try:
        sink = PostgresSink.connect(postgres)
    except SinkError as exc:
        fail(str(exc))
    try:
        with RpcClient(rpc, timeout=30) as client:
            fetcher = Fetcher(client, report_interval_s=report_interval)
            mark = follow(fetcher, sink, options, log=typer.echo)
    except KeyboardInterrupt:
        message = "stopped (Ctrl-C); the next run resumes from the last block written"
        raise exit_error(message, 0) from None
    except (SinkError, FetchError, RowError) as exc:
        fail(str(exc))
    except (RpcError, RpcConnectionError) as exc:
        fail(f"the node at {rpc}: {exc}")
    finally:
        sink.close()
    typer.echo(f"stopped at block {'none' if mark is None else mark.height}")
