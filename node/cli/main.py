"""``credichain``: the one command for operators, wallets and auditors.

Sub-commands are typer apps owned by the package that implements them
(``genesis``, ``wallet``, ...) and mounted here, so that this module stays an
index of the command line.
"""

from __future__ import annotations

import typer

from genesis.cli import app as genesis_app
from node import __version__
from node.cli.audit import export_command, import_command, replay_command
from node.cli.commons import commons_app
from node.cli.credit import credit_app
from node.cli.federation import federation_app  # X1-X3
from node.cli.fund import fund_app
from node.cli.gov import gov_app  # G2-G5
from node.cli.health import health_app
from node.cli.loan import loan_app
from node.cli.localnet import localnet_command
from node.cli.members import members_app  # G1
from node.cli.node import app as node_app
from node.cli.query import query_app
from node.cli.wallet import app as wallet_app
from node.oracle.cli import app as oracle_app

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
app.add_typer(federation_app, name="federation", help="Federation of funds (X1-X3).")
app.add_typer(health_app, name="health", help="Bioregions, health scores, observations.")
app.add_typer(commons_app, name="commons", help="The commons pool, redistributions, issuance.")
app.add_typer(oracle_app, name="oracle", help="Run the health oracle feeder.")
app.add_typer(gov_app, name="gov", help="Governance: propose, vote quadratically, tallies.")
app.add_typer(members_app, name="members", help="Governance members and their registrars.")
app.add_typer(query_app, name="query", help="Every query the runtime declares, by name.")
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
