"""``credichain``: the one command for operators, wallets and auditors.

Sub-commands are typer apps owned by the package that implements them
(``genesis``, ``wallet``, ...) and mounted here, so that this module stays an
index of the command line.
"""

from __future__ import annotations

import typer

from genesis.cli import app as genesis_app
from node import __version__
from node.audit_cli import export_command, import_command, replay_command
from node.credit_cli import credit_app, fund_app, loan_app
from node.localnet import localnet_command
from node.node_cli import app as node_app
from node.wallet_cli import app as wallet_app

app = typer.Typer(
    name="credichain",
    help="credichain: a community-credit blockchain node (validators, wallets, auditors).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(node_app, name="node", help="Initialise and run a validator or full node.")
app.add_typer(genesis_app, name="genesis", help="Create and inspect genesis documents.")
app.add_typer(wallet_app, name="wallet", help="Keys, balances, transfers (a JSON-RPC client).")
app.add_typer(fund_app, name="fund", help="Community funds: create, join, consent, leave.")
app.add_typer(credit_app, name="credit", help="Credit requests, co-signing, reviews.")
app.add_typer(loan_app, name="loan", help="Loans: repay, extend, write off, schedules.")
app.command("localnet")(localnet_command)
app.command("replay")(replay_command)
app.command("export")(export_command)
app.command("import")(import_command)


@app.command()
def version() -> None:
    """Print the software version."""
    typer.echo(f"credichain {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
