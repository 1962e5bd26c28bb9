"""``credichain oracle run|check --config FILE``: the oracle feeder from the command line.

``run`` observes every epoch until interrupted (``--once``: one attempt,
exit 0 if the observation was included or already there, 1 otherwise).
``check`` reads the sources and prints the components it would send,
without signing anything: the way to try a configuration.

The key is a ``ledger.keyfile`` file (passphrase from
``CREDICHAIN_ORACLE_PASSPHRASE`` or a prompt; plain-text localnet key files
only with ``localnet_keys = true``) or, on a localnet, a dev account.
A wrong configuration or key exits with status 2 and one line naming it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import httpx
import structlog
import typer

from ledger.crypto import Keypair
from ledger.keyfile import KeyfileError, load_keyfile
from node.cli.common import exit_error
from node.daemon.logs import configure_logging
from node.oracle.config import RPC_URL, ConfigError, OracleConfig, load_config
from node.oracle.feeder import Feeder, FeederError, Outcome, RpcChain, read_components
from pallets.health.storage import COMPONENTS
from rpc.client import RpcClient, RpcConnectionError, RpcError

app = typer.Typer(help="Health oracle feeder: sources -> components -> health.observe.")

ConfigPath = Annotated[
    Path, typer.Option("--config", "-c", help="feeder configuration (.toml or .json)")
]
RpcOverride = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        "--node",
        envvar="CREDICHAIN_RPC",
        help="node RPC URL, instead of the config's rpc",
    ),
]
LogFormat = Annotated[
    str, typer.Option("--log-format", help="console (people) or json (log shippers)")
]


def _load(path: Path, rpc: str | None = None) -> OracleConfig:
    """The config at ``path``; ``rpc`` (command line or CREDICHAIN_RPC) replaces its ``rpc``."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise exit_error(str(exc)) from None
    if rpc is None:
        return config
    if re.fullmatch(RPC_URL, rpc) is None:
        raise exit_error(f"--rpc {rpc!r} is not an http:// or https:// URL")
    return config.model_copy(update={"rpc": rpc})


def load_key(config: OracleConfig) -> Keypair:
    if config.dev_account is not None:
        return Keypair.dev(config.dev_account)
    assert config.key_file is not None  # the config refuses neither-nor
    passphrase = None
    if not config.localnet_keys:
        passphrase = os.environ.get("CREDICHAIN_ORACLE_PASSPHRASE") or typer.prompt(
            "Oracle key passphrase", hide_input=True
        )
    try:
        return load_keyfile(config.key_file, passphrase, allow_localnet=config.localnet_keys)
    except KeyfileError as exc:
        raise exit_error(f"key_file: {exc}") from None


def _log_format(text: str) -> Literal["console", "json"]:
    if text not in ("console", "json"):
        raise exit_error(f"--log-format must be console or json, not {text!r}")
    return "json" if text == "json" else "console"


def describe(outcome: Outcome | None, bioregion: str, oracle: str) -> str:
    """One line saying what an attempt did (``--once`` is never silent)."""
    if outcome is None:
        return f"nothing to observe: {bioregion}'s open epoch was observed by {oracle} already"
    what = {
        "included": "observation included",
        "already": f"nothing to observe: observed by {oracle} already",
        "skipped": "observation skipped",
        "failed": "observation failed",
        "gave_up": "observation not confirmed",
    }.get(outcome.status, outcome.status)
    detail = f" ({outcome.detail})" if outcome.detail and outcome.status != "already" else ""
    return f"{bioregion} epoch {outcome.epoch}: {what}{detail}"


@app.command("run")
def run(
    config_path: ConfigPath,
    once: Annotated[bool, typer.Option("--once", help="one attempt, then exit")] = False,
    rpc: RpcOverride = None,
    log_format: LogFormat = "console",
) -> None:
    """Observe the configured bioregion every epoch until interrupted."""
    configure_logging(_log_format(log_format))
    config = _load(config_path, rpc)
    key = load_key(config)
    with RpcClient(config.rpc, timeout=10) as client, httpx.Client() as http:
        feeder = Feeder(config, key, RpcChain(client), http)
        try:
            if once:
                outcome = feeder.attempt()
                typer.echo(describe(outcome, config.bioregion, feeder.chain.address(key)))
                ok = outcome is not None and outcome.status in ("included", "already")
                raise typer.Exit(0 if ok else 1)
            feeder.run()
        except FeederError as exc:
            raise exit_error(str(exc)) from None
        except (RpcConnectionError, RpcError) as exc:
            raise exit_error(f"the node at {config.rpc}: {exc}", 1) from None
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


@app.command("check")
def check(config_path: ConfigPath, log_format: LogFormat = "console") -> None:
    """Read the sources and print the components that would be sent (signs nothing)."""
    configure_logging(_log_format(log_format))
    config = _load(config_path)
    with httpx.Client() as http:
        components, missing = read_components(config, http, structlog.get_logger("oracle"))
    result = {
        "bioregion": config.bioregion,
        "components": None
        if components is None
        else dict(zip(COMPONENTS, components, strict=True)),
        "missing": missing,
    }
    typer.echo(json.dumps(result, sort_keys=True))
    if components is None:
        raise typer.Exit(1)
