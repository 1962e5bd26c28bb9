"""``credichain``: the one command for operators, wallets and auditors.

Sub-commands are typer apps (or single commands) owned by the package that
implements them (``genesis``, ``wallet``, ...) and listed here, so that this
module stays an index of the command line.

Why the index names modules instead of importing them: a command group
imports what it runs (the runtime, the RPC client, the node service), and
importing all of them took about 0.8 s before ``credichain --help`` could
print a line. ``COMMANDS`` names each group's module, attribute and one-line
help; ``credichain --help`` prints the table without importing anything, and
``credichain fund ...`` imports ``node.cli.fund`` alone. This is the one place
in the tree that imports by name (``importlib``), so that the import rules
(tests/test_architecture.py) still see every other dependency; the test
``tests/node/test_cli_index.py`` imports every entry and checks that it exists
and that its help here matches the group's own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Final

import typer
import typer.main
from typer import _click as click
from typer.core import TyperGroup

from node import __version__

HELP: Final = "credichain: a community-credit blockchain node (validators, wallets, auditors)."


@dataclass(frozen=True)
class Entry:
    """One command of ``credichain``: where it lives and what ``--help`` says of it."""

    name: str
    module: str
    attribute: str
    help: str


COMMANDS: Final[tuple[Entry, ...]] = (
    Entry("node", "node.cli.node", "app", "Initialise and run a validator or full node."),
    Entry("genesis", "node.cli.genesis", "app", "Create and inspect genesis documents."),
    Entry(
        "wallet",
        "node.cli.wallet",
        "app",
        "Keys, balances and transfers: an encrypted keystore and a JSON-RPC client.",
    ),
    Entry(
        "fund",
        "node.cli.fund",
        "fund_app",
        "Community banks: create, join, consent, leave, reports.",
    ),
    Entry("credit", "node.cli.credit", "credit_app", "Credit requests: submit, sign, review."),
    Entry("loan", "node.cli.loan", "loan_app", "Loans: repay, extend, write off, schedules."),
    Entry(
        "federation",
        "node.cli.federation",
        "federation_app",
        "Federation of funds: agreements, split credits, shared losses.",
    ),
    Entry(
        "health",
        "node.cli.health",
        "health_app",
        "Community health: bioregions, scores, oracle observations (H1-H3).",
    ),
    Entry(
        "commons",
        "node.cli.commons",
        "commons_app",
        "The commons pool: balance, redistributions, issuance (R1-R3).",
    ),
    Entry(
        "oracle",
        "node.oracle.cli",
        "app",
        "Health oracle feeder: sources -> components -> health.observe.",
    ),
    Entry(
        "gov",
        "node.cli.gov",
        "gov_app",
        "Governance: propose calls, vote with voice credits (votes² each), follow tallies.",
    ),
    Entry(
        "members",
        "node.cli.members",
        "members_app",
        "Governance members: registrars register and revoke; list members.",
    ),
    Entry(
        "assess",
        "node.cli.assess",
        "assess_app",
        "Credit assessment (C5): simulate a community, fit, propose.",
    ),
    Entry(
        "query",
        "node.cli.query",
        "query_app",
        "Every query the runtime declares (pallets/*/queries.py).",
    ),
    Entry(
        "localnet",
        "node.cli.localnet",
        "localnet_command",
        "Start a local network of validator processes on 127.0.0.1 (Ctrl-C stops it).",
    ),
    Entry(
        "replay",
        "node.cli.audit",
        "replay_command",
        "Re-execute the whole chain from genesis and verify every block.",
    ),
    Entry(
        "export",
        "node.cli.audit",
        "export_command",
        "Write a stopped node's chain to one portable file (see docs/PROTOCOL.md).",
    ),
    Entry(
        "import",
        "node.cli.audit",
        "import_command",
        "Verify an export file block by block while building a node home's store from it.",
    ),
    Entry(
        "index",
        "node.cli.index",
        "index_command",
        "Stream a node's blocks, events, fund movements and loans into PostgreSQL.",
    ),
    Entry("version", "node.cli.main", "version", "Print the software version."),
)


def version() -> None:
    """Print the software version."""
    typer.echo(f"credichain {__version__}")


def load(entry: Entry) -> click.Command:
    """The click command of ``entry``, importing its module now."""
    target: Any = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(entry.name)(target)
        command = typer.main.get_command(single)
    command.name = entry.name
    return command


class LazyIndex(TyperGroup):
    """The top-level group: lists ``COMMANDS`` from the table, imports one when it runs."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        super().__init__(name="credichain", help=HELP, no_args_is_help=True)
        self.entries = {entry.name: entry for entry in entries}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.entries)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.entries:
            self.commands[cmd_name] = load(self.entries[cmd_name])
        return self.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Plain click layout: the rich one asks every command for its help, importing all.
        click.Command.format_help(self, ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(entry.name, entry.help) for entry in self.entries.values()])


cli: Final = LazyIndex(COMMANDS)


def mounted_app() -> typer.Typer:
    """Every command imported and mounted on one typer app, the index's eager twin.

    For typer's test runner (``typer.testing.CliRunner`` drives typer apps), so
    that tests type whole command lines as a person does.
    """
    app = typer.Typer(
        name="credichain",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for entry in COMMANDS:
        target = getattr(importlib.import_module(entry.module), entry.attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=entry.name)
        else:
            app.command(entry.name)(target)
    return app


def main() -> None:
    cli.main(prog_name="credichain")


if __name__ == "__main__":
    main()
