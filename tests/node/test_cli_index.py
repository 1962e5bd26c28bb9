"""The command index (node/cli/main.py): complete, true to each group, and lazy.

``credichain --help`` prints the index from ``COMMANDS`` without importing the
groups (the reason the index names modules); these tests keep that table from
drifting away from the groups it names, and show that ``--help`` and a group's
own command import only what they use.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.cli.main import COMMANDS, Entry, load

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("pallets", "rpc", "genesis", "ledger", "consensus", "p2p", "node")

PROBE = """
import json, sys
from node.cli.main import main
sys.argv = ["credichain", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})
print(json.dumps(loaded), file=sys.stderr)
"""


def modules_loaded_by(*args: str) -> list[str]:
    """The project modules a fresh interpreter has imported after ``credichain ARGS``."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(packages=set(PROJECT_PACKAGES)), json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(run.stderr.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda e: e.name)
def test_each_entry_is_the_group_it_names(entry: Entry) -> None:
    command = load(entry)
    assert command.name == entry.name
    assert command.get_short_help_str(limit=10_000) == entry.help


def _defines_a_group(path: Path) -> bool:
    """A module-level ``x = typer.Typer(...)`` or ``x = common.group(...)``."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            called = ast.unparse(node.value.func)
            if called in {"typer.Typer", "common.group", "group"}:
                return True
    return False


def test_every_command_group_module_is_in_the_index() -> None:
    candidates = [*sorted((ROOT / "node" / "cli").glob("*.py")), ROOT / "node/oracle/cli.py"]
    with_groups = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in candidates
        if _defines_a_group(path)
    }
    indexed = {entry.module for entry in COMMANDS}
    assert with_groups - {"node.cli.options", "node.cli.common"} <= indexed


def test_help_lists_every_command_and_imports_no_group() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "node.cli.main", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for entry in COMMANDS:
        assert f"  {entry.name} " in run.stdout and entry.help[:40] in run.stdout
    assert modules_loaded_by("--help") == ["node", "node.cli", "node.cli.main"]


def test_a_group_imports_itself_not_the_others() -> None:
    loaded = set(modules_loaded_by("version"))
    assert "node.cli.fund" not in loaded and "node.daemon.service" not in loaded
    loaded = set(modules_loaded_by("fund", "--help"))
    assert "node.cli.fund" in loaded
    assert not {"node.cli.gov", "node.cli.credit", "node.cli.localnet"} & loaded
