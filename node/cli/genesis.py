"""``credichain genesis``: create a localnet genesis, show and check a genesis file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from genesis.build import GenesisError, genesis_hash, load_genesis
from genesis.localnet import write_localnet
from ledger.crypto import encode_address
from node.cli.display import format_amount, format_time

app = typer.Typer(
    help="Create and inspect genesis documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def new(
    validators: Annotated[int, typer.Option(min=1, max=100, help="number of validators")],
    out: Annotated[Path, typer.Option(help="directory for genesis.json and keys/")],
    chain: Annotated[str, typer.Option(help="chain name")] = "credichain-localnet",
    genesis_time: Annotated[
        int | None, typer.Option(help="Unix seconds (default: now)", min=0)
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing genesis.json")] = False,
) -> None:
    """Write a localnet genesis.json and one plain-text key file per validator."""
    when = int(time.time()) if genesis_time is None else genesis_time
    try:
        files = write_localnet(out, validators, chain=chain, genesis_time=when, force=force)
        doc = load_genesis(files.genesis)
    except (GenesisError, FileExistsError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {files.genesis}")
    for path in files.key_files:
        typer.echo(f"wrote {path} (plain-text localnet seed)")
    typer.echo(f"genesis hash 0x{genesis_hash(doc).hex()}")


@app.command()
def show(file: Annotated[Path, typer.Argument(help="genesis.json to check")]) -> None:
    """Validate a genesis file and print its hash and a summary."""
    try:
        doc = load_genesis(file)
        block_hash = genesis_hash(doc)
    except GenesisError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    supply = sum(b.amount for b in doc.balances) + doc.commons_pool
    typer.echo(f"chain         {doc.chain}{' (localnet)' if doc.localnet else ''}")
    typer.echo(f"genesis hash  0x{block_hash.hex()}")
    typer.echo(f"genesis time  {format_time(doc.genesis_time)} ({doc.genesis_time})")
    typer.echo(f"token         {doc.token_symbol} ({doc.token_decimals} decimals)")
    supply_shown = format_amount(supply, doc.token_decimals, doc.token_symbol)
    pool_shown = format_amount(doc.commons_pool, doc.token_decimals, doc.token_symbol)
    typer.echo(f"total supply  {supply_shown} (commons pool {pool_shown})")
    typer.echo(f"validators    {len(doc.validators)}")
    for v in doc.validators:
        address = encode_address(v.public_key, doc.address_prefix)
        typer.echo(f"  {address}  {v.address}  power {v.power}")
