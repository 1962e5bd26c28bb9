"""``credichain replay | export | import``: the auditor's commands.

Theory of operation
-------------------
Each command opens a block source (a stopped node's home, an export file,
or a node's JSON-RPC), hands its records to ``node.audit.replay.Replayer`` with a
rich progress bar, and prints the report. Exit codes: 0 when every block
verifies, 1 at the first divergence (the message names the height, the
field, and the expected and found values), 2 for a usage error (missing
file, conflicting options) before anything is verified.

``import`` replays into a LevelDB directory beside the home's ``data/db``
and renames it into place only when every block verified, so a failed import
leaves the home as it was.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genesis.build import GenesisError, load_genesis
from genesis.schema import GenesisDoc
from ledger.kv import LevelDBKV
from node.audit.export import (
    ExportFormatError,
    ExportReader,
    HomeError,
    HomeSource,
    NotAnExportFile,
    export_home,
)
from node.audit.replay import BlockRecord, ReplayDivergence, Replayer, ReplayReport
from node.audit.replay_rpc import RpcSource, RpcSourceError
from node.cli.common import exit_error, usage_error
from node.cli.display import format_amount
from node.daemon import gc_policy

console = Console(stderr=True)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="A stopped node's home directory (never modified).")
]
ThreadsOption = Annotated[
    int, typer.Option("--threads", min=1, max=64, help="Signature verification threads.")
]
InvariantsOption = Annotated[
    int,
    typer.Option(
        "--invariants-every", min=1, help="Check the runtime invariants every N blocks (and last)."
    ),
]


def _diverged(message: str) -> typer.Exit:
    return exit_error(f"DIVERGENCE {message}", 1)


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Only warnings from the chain while replaying: the report is the output.

    Restores the previous structlog configuration (the commands also run
    in-process, in tests and in the node's CLI)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Progress]:
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield progress


def run_replay(
    genesis: GenesisDoc,
    claimed_genesis: bytes,
    total: int,
    records: Iterator[BlockRecord],
    *,
    threads: int,
    invariants_every: int,
    kv: LevelDBKV | None = None,
    label: str = "replaying",
) -> ReplayReport:
    """Replay with a progress bar; raises ``ReplayDivergence`` / ``ExportFormatError``."""
    with _quiet_logs(), _progress(total, label) as progress:
        task = progress.add_task(label, total=total)
        replayer = Replayer(
            genesis,
            kv=kv,
            threads=threads,
            invariants_every=invariants_every,
            on_block=lambda height: progress.update(task, completed=height),
        )
        try:
            replayer.check_genesis(claimed_genesis)
            return replayer.run(records)
        finally:
            replayer.close()


def print_report(report: ReplayReport, genesis: GenesisDoc) -> None:
    """The replay's figures; the supply in the chain's token (genesis symbol and decimals)."""
    rate = report.extrinsics / report.seconds if report.seconds > 0 else 0.0
    lines = [
        "replay verified: every block, commit, signature, receipt and state root",
        f"  genesis            0x{report.genesis_hash.hex()}",
        f"  blocks             {report.blocks}",
        f"  head               0x{report.head_hash.hex()}",
        f"  state root         0x{report.state_root.hex()}",
        f"  extrinsics         {report.extrinsics} ({report.failed_extrinsics} failed dispatch)",
        f"  signatures         {report.signatures} verified in batches",
        f"  validator changes  {report.validator_changes}",
    ]
    summary = report.summary
    if summary is not None:
        lines += [
            f"  validators now     {summary.validators}",
            f"  accounts           {summary.accounts}",
            "  total supply       "
            + format_amount(summary.total_supply, genesis.token_decimals, genesis.token_symbol),
        ]
        lines += [f"  {label:<18} {count}" for label, count in sorted(summary.counts.items())]
    lines.append(
        f"  time               {report.seconds:.2f} s ({rate:.0f} extrinsics/s, "
        f"{report.threads} verification threads)"
    )
    typer.echo("\n".join(lines))


def _load_genesis(path: Path) -> GenesisDoc:
    if not path.is_file():
        raise usage_error(f"{path}: no such genesis file")
    try:
        return load_genesis(path)
    except GenesisError as exc:
        raise usage_error(str(exc)) from exc


def replay_command(
    home: HomeOption = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="A node's JSON-RPC URL.")] = None,
    genesis: Annotated[
        Path | None,
        typer.Option("--genesis", help="The genesis file to trust (required with --rpc)."),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="An export file.")] = None,
    threads: ThreadsOption = 2,
    invariants_every: InvariantsOption = 1,
) -> None:
    """Re-execute the whole chain from genesis and verify every block."""
    gc_policy.apply()
    chosen = [name for name, value in (("--home", home), ("--rpc", rpc), ("--file", file)) if value]
    if len(chosen) != 1:
        raise usage_error("give exactly one of --home, --rpc, --file")
    trusted = None if genesis is None else _load_genesis(genesis)
    try:
        if home is not None:
            _replay_home(home, trusted, threads, invariants_every)
        elif file is not None:
            _replay_file(file, trusted, threads, invariants_every)
        else:
            if trusted is None:
                raise usage_error(
                    "--rpc needs --genesis FILE: replay trusts only the genesis you give"
                )
            assert rpc is not None
            _replay_rpc(rpc, trusted, threads, invariants_every)
    except ReplayDivergence as exc:
        raise _diverged(str(exc)) from exc
    except ExportFormatError as exc:
        raise _diverged(f"in the export file: {exc}") from exc


def _check_trusted(trusted: GenesisDoc | None, actual: GenesisDoc, where: str) -> None:
    if trusted is not None and trusted != actual:
        raise _diverged(f"height 0: genesis document of {where} differs from the one given")


def _replay_home(
    home: Path, trusted: GenesisDoc | None, threads: int, invariants_every: int
) -> None:
    try:
        source = HomeSource(home)
    except HomeError as exc:
        raise usage_error(str(exc)) from exc
    _replay_source(source, trusted, str(home), threads, invariants_every)


def _open_file(file: Path) -> ExportReader:
    if not file.is_file():
        raise usage_error(f"{file}: no such file")
    try:
        return ExportReader(file)
    except NotAnExportFile as exc:
        raise usage_error(str(exc)) from exc
    except ExportFormatError as exc:
        raise _diverged(f"in the export file: {exc}") from exc


def _replay_file(
    file: Path, trusted: GenesisDoc | None, threads: int, invariants_every: int
) -> None:
    _replay_source(_open_file(file), trusted, str(file), threads, invariants_every)


def _replay_source(
    source: HomeSource | ExportReader,
    trusted: GenesisDoc | None,
    where: str,
    threads: int,
    invariants_every: int,
) -> None:
    """Replay a home or an export file (each carries its genesis), then close it."""
    try:
        _check_trusted(trusted, source.genesis, where)
        report = run_replay(
            source.genesis,
            source.genesis_hash,
            source.height,
            source.records(),
            threads=threads,
            invariants_every=invariants_every,
        )
    finally:
        source.close()
    print_report(report, source.genesis)


def _replay_rpc(url: str, trusted: GenesisDoc, threads: int, invariants_every: int) -> None:
    try:
        source = RpcSource(url)
    except RpcSourceError as exc:
        raise usage_error(str(exc)) from exc
    try:
        report = run_replay(
            trusted,
            source.genesis_hash,
            source.height,
            source.records(),
            threads=threads,
            invariants_every=invariants_every,
        )
    except RpcSourceError as exc:
        raise _diverged(f"from the node: {exc}") from exc
    finally:
        source.close()
    print_report(report, trusted)


def export_command(
    home: HomeOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="The file to write.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out file.")] = False,
) -> None:
    """Write a stopped node's chain to one portable file (see docs/PROTOCOL.md)."""
    if home is None or out is None:
        raise usage_error("export needs --home DIR and --out FILE")
    if not out.parent.is_dir():
        raise usage_error(f"{out.parent}: no such directory")
    if out.exists() and not force:
        raise usage_error(f"{out} exists (use --force to overwrite)")
    try:
        height, head = export_home(home, out)
    except HomeError as exc:
        raise usage_error(str(exc)) from exc
    except ReplayDivergence as exc:
        raise _diverged(f"in the node's store: {exc}") from exc
    typer.echo(f"exported {height} blocks to {out} (head 0x{head.hex()})")


def import_command(
    file: Annotated[Path, typer.Argument(help="The export file to import.")],
    home: HomeOption = None,
    threads: ThreadsOption = 2,
    invariants_every: InvariantsOption = 1,
) -> None:
    """Verify an export file block by block while building a node home's store from it."""
    gc_policy.apply()
    if home is None:
        raise usage_error("import needs --home DIR (made by `credichain node init`)")
    genesis_path = home / "genesis.json"
    if not genesis_path.is_file():
        raise usage_error(f"{home}: no genesis.json (run `credichain node init` first)")
    db = home / "data" / "db"
    if db.exists():
        raise usage_error(f"{db} exists: import builds a new store; move the old one away first")
    local = _load_genesis(genesis_path)
    reader = _open_file(file)
    building = db.with_name("db.importing")
    try:
        if reader.genesis != local:
            raise _diverged(
                f"height 0: the file is from another genesis (file 0x{reader.genesis_hash.hex()}, "
                f"{genesis_path} differs)"
            )
        shutil.rmtree(building, ignore_errors=True)
        kv = LevelDBKV(building)
        report = run_replay(
            local,
            reader.genesis_hash,
            reader.height,
            reader.records(),
            threads=threads,
            invariants_every=invariants_every,
            kv=kv,
            label="importing",
        )
        building.rename(db)
    except ReplayDivergence as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise _diverged(str(exc)) from exc
    except ExportFormatError as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise _diverged(f"in the export file: {exc}") from exc
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        reader.close()
    print_report(report, local)
    typer.echo(f"imported into {db}")
