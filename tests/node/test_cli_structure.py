"""The CLI's rooms (DESIGN.md §2): one module per command group, one shared module.

Read from the source with ``ast``, nothing is imported:

- no CLI module imports a private name (``_x``, dunders aside) of another
  project module, neither with ``from m import _x`` nor as ``m._x``;
- a command-group module imports no other command-group module: what groups
  share is in ``node.cli.common`` (and the keystore commands' own API in
  ``node.cli.wallet``, how values are shown to people in
  ``node.cli.display``, the global options in ``node.cli.options``, where keys
  are kept in ``node.cli.keystore``); only ``node.cli.main``, the index, mounts them all;
- ``node.cli.common`` imports no command group (``node.cli.display``,
  ``node.cli.options`` and ``node.cli.keystore``, below it, are none).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node" / "cli"
BELOW_COMMON = frozenset({"node.cli.display", "node.cli.options", "node.cli.keystore"})
SHARED = frozenset(
    {
        "node.cli.common",
        "node.cli.wallet",
        "node.cli.wallet_keys",
        "node.cli.recovery",
        *BELOW_COMMON,
    }
)
INDEX = "node.cli.main"
MODULES = sorted([*CLI.glob("*.py"), ROOT / "node" / "oracle" / "cli.py"])


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_project(module: str) -> bool:
    top = module.split(".")[0]
    return (ROOT / top / "__init__.py").is_file() or (ROOT / f"{top}.py").is_file()


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def imported_modules(tree: ast.Module) -> dict[str, str]:
    """Every project module imported, by the name it is bound to (or its own name)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_project(alias.name):
                    found[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not is_project(node.module):
                continue
            found.setdefault(node.module, node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / Path(*candidate.split("."))).with_suffix(".py").is_file():
                    found[alias.asname or alias.name] = candidate
    return found


def violations(name: str, source: str) -> list[str]:
    """What in module ``name`` (its ``source``) breaks the rules above."""
    tree = ast.parse(source)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and is_project(node.module):
            problems += [
                f"{name} imports private {node.module}.{alias.name}"
                for alias in node.names
                if is_private(alias.name) and node.module != name
            ]
    modules = imported_modules(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and is_private(node.attr)
        ):
            problems.append(f"{name} uses private {modules[node.value.id]}.{node.attr}")
    groups = {m for m in modules.values() if m.startswith("node.cli.")} - {name}
    if name == "node.cli.common":
        problems += [
            f"node.cli.common imports the command group {m}" for m in sorted(groups - BELOW_COMMON)
        ]
    elif name != INDEX:
        problems += [f"{name} imports the command group {m}" for m in sorted(groups - SHARED)]
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cli_module_keeps_to_its_room(path: Path) -> None:
    assert violations(module_name(path), path.read_text()) == []


def test_the_rooms_checked_are_there() -> None:
    names = {module_name(p) for p in MODULES}
    assert {"node.cli.common", "node.cli.wallet", "node.cli.fund", INDEX} <= names
    assert "node.oracle.cli" in names


def test_the_checker_sees_each_kind_of_breach() -> None:
    source = (
        "from node.cli.fund import fund_app, _helper\n"
        "from node.cli import credit\n"
        "import node.cli.loan as loan\n"
        "from node.cli.common import send\n"
        "from node import __version__\n"
        "x = credit._private\n"
        "y = loan.loan_app\n"
    )
    assert violations("node.cli.gov", source) == [
        "node.cli.gov imports private node.cli.fund._helper",
        "node.cli.gov uses private node.cli.credit._private",
        "node.cli.gov imports the command group node.cli.credit",
        "node.cli.gov imports the command group node.cli.fund",
        "node.cli.gov imports the command group node.cli.loan",
    ]
    assert violations(INDEX, "from node.cli.fund import fund_app\n") == []
    assert violations("node.cli.common", "from node.cli.wallet import app\n") == [
        "node.cli.common imports the command group node.cli.wallet"
    ]
