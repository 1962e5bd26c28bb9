"""``credichain node init | start | purge-document | reindex``: set up a node's home, run
it, erase a document (F10) from it, rebuild its history index.

Home layout: ``config.toml`` (every setting, documented), ``genesis.json``,
``node_key.json`` (p2p identity of a non-validator), ``validator_key.json``
(consensus key; a validator's p2p identity too, so that the validator set is
the p2p allowlist), ``data/`` (LevelDB, the consensus WAL, the signer state).
Keys are encrypted with the passphrase in ``CREDICHAIN_KEY_PASSPHRASE`` (or
asked at the prompt); plain-text keys are accepted only for a localnet
genesis.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import structlog
import trio
import typer

from genesis.build import GenesisError, load_genesis
from genesis.schema import GenesisDoc
from ledger.blockstore import BlockStore
from ledger.crypto import Keypair
from ledger.keyfile import KeyfileError, load_keyfile
from ledger.kv import LevelDBKV, StoreError
from node.cli.common import init_home as init_home  # also deploy/'s and scripts/'
from node.cli.common import usage_error
from node.daemon import gc_policy
from node.daemon.chain import ChainError
from node.daemon.config import ConfigError, NodeConfig, load_config
from node.daemon.documents import DocumentStore
from node.daemon.history import HistoryIndex
from node.daemon.logs import configure_logging
from node.daemon.service import NodePaths, NodeService
from node.daemon.storage import compact, files_usage, prune_state, store_usage
from pallets.construct import registry

app = typer.Typer(
    help="Initialise and run a validator or full node.", no_args_is_help=True, add_completion=False
)
log = structlog.get_logger("node")

PASSPHRASE_ENV = "CREDICHAIN_KEY_PASSPHRASE"

HomeOption = Annotated[Path, typer.Option("--home", help="The node's home directory.")]


def _passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise usage_error(
            f"set {PASSPHRASE_ENV}: keys are encrypted and there is no terminal to ask"
        )
    return str(typer.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm))


@app.command("init")
def init_command(
    home: HomeOption,
    genesis: Annotated[
        Path | None, typer.Option(help="Genesis file to copy into the home directory.")
    ] = None,
    validator: Annotated[bool, typer.Option(help="Generate a validator key too.")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite an existing home directory.")] = False,
) -> None:
    """Create a node home: config.toml (documented), keys, and the genesis file."""
    paths = NodePaths(home)
    if paths.config.exists() and not force:
        raise usage_error(f"{paths.config} exists (use --force to overwrite)")
    localnet = False
    if genesis is not None:
        try:
            localnet = load_genesis(genesis).localnet
        except GenesisError as exc:
            raise usage_error(str(exc)) from exc
    passphrase = None if localnet else _passphrase(confirm=True)
    key = Keypair.generate() if validator else None
    init_home(
        home,
        genesis_file=genesis,
        validator_key=key,
        config=NodeConfig(),
        localnet=localnet,
        passphrase=passphrase,
    )
    typer.echo(f"initialised {home}")
    if key is not None:
        typer.echo(f"validator public key: {key.public.hex()}")


def load_node(home: Path) -> tuple[NodePaths, NodeConfig, GenesisDoc, Keypair, Keypair | None]:
    paths = NodePaths(home)
    if not paths.genesis.exists():
        raise usage_error(f"{paths.genesis} is missing (copy the chain's genesis file there)")
    try:
        config = load_config(paths.config)
        genesis = load_genesis(paths.genesis)
    except (ConfigError, GenesisError) as exc:
        raise usage_error(str(exc)) from exc
    localnet = genesis.localnet

    def read(path: Path) -> Keypair:
        try:
            return load_keyfile(
                path, None if localnet else _passphrase(False), allow_localnet=localnet
            )
        except KeyfileError as exc:
            raise usage_error(str(exc)) from exc

    validator_key = read(paths.validator_key) if paths.validator_key.exists() else None
    if validator_key is not None:
        identity = validator_key
    elif paths.node_key.exists():
        identity = read(paths.node_key)
    else:
        raise usage_error(f"no key in {home}: run `credichain node init --home {home}` first")
    return paths, config, genesis, identity, validator_key


async def run_until_signalled(service: NodeService) -> None:
    # The receiver restores the handlers it found when it closes. Make those
    # SIG_IGN, so a second SIGTERM (a supervisor repeating itself) during the
    # last of the shutdown cannot kill the process: a Python-level handler would
    # not do, because interpreter finalization resets those to the default.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_IGN)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(service.run)
            async for signum in signals:
                log.info("stopping", signal=signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break


@app.command("start")
def start_command(
    home: HomeOption,
    log_format: Annotated[
        str | None, typer.Option(help="console (default) or json; overrides config.toml.")
    ] = None,
) -> None:
    """Run the node until SIGTERM or SIGINT; the store stays consistent."""
    gc_policy.apply()
    paths, config, genesis, identity, validator_key = load_node(home)
    fmt = log_format or config.node.log_format
    if fmt not in ("console", "json"):
        raise usage_error(f"--log-format must be console or json, got {fmt!r}")
    configure_logging(fmt, config.node.log_level)  # type: ignore[arg-type]
    keep = config.storage.prune_keep_versions
    if keep > 0 and paths.db.is_dir():
        try:
            pruned = prune_state(paths.db, keep)
        except StoreError as exc:
            raise usage_error(str(exc)) from None
        log.info("state pruned", keep_versions=keep, nodes_deleted=pruned.nodes_deleted)
    try:
        service = NodeService(
            paths=paths,
            config=config,
            genesis=genesis,
            identity=identity,
            validator_key=validator_key,
        )
    except (StoreError, ChainError) as exc:
        raise usage_error(str(exc)) from None
    try:
        trio.run(run_until_signalled, service)
    except (OSError, BaseExceptionGroup) as exc:
        cause = _find_os_error(exc)
        if cause is None or cause.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        raise usage_error(
            f"cannot listen: {cause.strerror} (p2p.listen {config.p2p.listen}, rpc.listen "
            f"{config.rpc.listen}, metrics.listen {config.metrics.listen} in {paths.config}; "
            "is another node running on these ports?)"
        ) from None


def _size(count: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


@app.command("du")
def du_command(
    home: HomeOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What takes the space: HOME/data on disk, and the store by kind (node stopped)."""
    try:
        files = files_usage(home)
    except FileNotFoundError as exc:
        raise usage_error(str(exc)) from None
    db = NodePaths(home).db
    store, why = None, "no store yet"
    if db.is_dir():
        try:
            store = store_usage(db)
        except StoreError:
            why = "the node is running: stop it to see the store by kind"
    if as_json:
        out: dict[str, object] = {"files": files, "files_total": sum(files.values())}
        if store is not None:
            out["store"] = {
                "height": store.height,
                "state_versions": store.versions,
                "kinds": {k: [u.entries, u.bytes] for k, u in store.kinds.items()},
                "bytes_per_block": store.bytes_per_block,
                "bytes_per_state_version": store.bytes_per_state_version,
            }
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(f"{home / 'data'} on disk:")
    for name, count in files.items():
        typer.echo(f"  {name:<28}{_size(count):>12}")
    typer.echo(f"  {'total':<28}{_size(sum(files.values())):>12}")
    if store is None:
        typer.echo(f"store by kind: {why}")
        return
    typer.echo(
        f"store by kind (key + value bytes before compression), height {store.height}, "
        f"{store.versions} state versions:"
    )
    for kind, usage in sorted(store.kinds.items(), key=lambda item: -item[1].bytes):
        typer.echo(f"  {kind:<28}{usage.entries:>10} entries{_size(usage.bytes):>12}")
    per_block, per_version = _size(store.bytes_per_block), _size(store.bytes_per_state_version)
    typer.echo(f"  per block: {per_block} (blocks, headers, commits, receipts, events, indexes)")
    typer.echo(f"  per state version: {per_version} (trie nodes and roots)")


@app.command("prune")
def prune_command(
    home: HomeOption,
    keep: Annotated[
        int | None,
        typer.Option(help="State versions to keep (default: [storage] prune_keep_versions)."),
    ] = None,
    compact_after: Annotated[
        bool, typer.Option("--compact/--no-compact", help="Compact the store afterwards.")
    ] = True,
) -> None:
    """Delete the state of all but the newest blocks (node stopped); blocks stay."""
    paths = NodePaths(home)
    if not paths.db.is_dir():
        raise usage_error(f"no store at {paths.db}: is {home} a node's home?")
    if keep is None:
        try:
            keep = load_config(paths.config).storage.prune_keep_versions
        except ConfigError as exc:
            raise usage_error(str(exc)) from None
        if keep == 0:
            raise usage_error(
                "[storage] prune_keep_versions is 0 (an archive node keeps every state): "
                "give --keep N"
            )
    try:
        result = prune_state(paths.db, keep)
        sizes = compact(paths.db) if compact_after else None
    except ValueError as exc:
        raise usage_error(f"--keep: {exc}") from None
    except StoreError as exc:
        raise usage_error(str(exc)) from None
    typer.echo(
        f"kept {min(keep, result.versions_before)} of {result.versions_before} state versions; "
        f"deleted {result.nodes_deleted} trie nodes"
    )
    if sizes is not None:
        typer.echo(f"store compacted: {_size(sizes[0])} -> {_size(sizes[1])} on disk")


@app.command("compact")
def compact_command(home: HomeOption) -> None:
    """Compact the LevelDB store (node stopped): deleted entries give their space back."""
    paths = NodePaths(home)
    if not paths.db.is_dir():
        raise usage_error(f"no store at {paths.db}: is {home} a node's home?")
    try:
        before, after = compact(paths.db)
    except StoreError as exc:
        raise usage_error(str(exc)) from None
    typer.echo(f"store compacted: {_size(before)} -> {_size(after)} on disk")


def _find_os_error(exc: BaseException) -> OSError | None:
    """The first ``OSError`` in ``exc`` or in the exception groups around it."""
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find_os_error(inner)
            if found is not None:
                return found
    return None


@app.command("purge-document")
def purge_document_command(
    document: Annotated[str, typer.Argument(metavar="HASH", help="0x + 64 hex digits")],
    home: HomeOption,
) -> None:
    """Delete a document (F10) from this node's store and refuse it from now on.

    This node only; the network-wide purge is a governance proposal of
    credit.purge_document. The chain keeps the hash: replay, proofs and the
    state root do not change. Safe while the node runs.
    """
    text = document.removeprefix("0x")
    if len(text) != 64 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise usage_error(f"HASH must be 0x and 64 hex digits, got {document!r}")
    paths = NodePaths(home)
    if not paths.genesis.is_file():
        raise usage_error(f"{home} is not a node home (no genesis.json)")
    store = DocumentStore(paths.documents, lambda _digest: False)
    deleted = store.purge_here(bytes.fromhex(text))
    what = "deleted" if deleted else "was not stored here"
    typer.echo(f"document 0x{text.lower()} {what}; this node refuses it from now on")


@app.command("reindex")
def reindex_command(home: HomeOption) -> None:
    """Rebuild the history index (data/history) from the stored blocks.

    The node must be stopped. A running node keeps the index itself and
    catches up with its blocks when it starts; rebuild after a crash that
    damaged the index, or to drop an index of an older format at once.
    """
    paths = NodePaths(home)
    if not paths.db.is_dir():
        raise usage_error(f"no chain store at {paths.db}: is {home} a node's home?")
    try:
        chain_kv = LevelDBKV(paths.db, create=False)
    except StoreError as exc:
        raise usage_error(str(exc)) from None
    try:
        blocks = BlockStore(chain_kv)
        genesis_hash = blocks.hash_at(0)
        if genesis_hash is None:
            raise usage_error(f"{paths.db} holds no genesis block")
        started = time.monotonic()
        shutil.rmtree(paths.history, ignore_errors=True)
        index = HistoryIndex(LevelDBKV(paths.history), registry(), genesis_hash)
        try:
            count = index.catch_up(
                blocks, lambda height: typer.echo(f"indexed up to block {height}", err=True)
            )
            height = index.height
        finally:
            index.kv.close()
    finally:
        chain_kv.close()
    typer.echo(
        f"history index rebuilt from {count} blocks (height {height}) "
        f"in {time.monotonic() - started:.1f} s: {paths.history}"
    )
