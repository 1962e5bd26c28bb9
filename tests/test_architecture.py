"""The import rules of DESIGN.md §2: nothing flows backwards.

Checked from the source (ast), so a forbidden import fails here even when
the code path that uses it is never run by another test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"node", "consensus", "ledger", "pallets", "p2p", "rpc", "genesis", "scripts", "tests"}

# package -> project packages it may import (itself always allowed)
ALLOWED = {
    "ledger": set(),
    "pallets": {"ledger"},
    "consensus": {"ledger"},
    "p2p": {"ledger"},
    "rpc": {"ledger", "pallets"},
    "genesis": {"ledger", "pallets"},
}
# third-party modules a pure core must never touch
FORBIDDEN_THIRD_PARTY = {
    "consensus": {"trio", "socket", "time", "random", "secrets", "asyncio", "datetime", "os"},
    "pallets": {"trio", "socket", "time", "random", "secrets", "asyncio", "datetime"},
    "ledger": {"trio", "socket", "random", "asyncio"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_design(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    problems = []
    for path in files:
        imported = _imports(path)
        for name in sorted(imported & PROJECT - {package} - ALLOWED[package]):
            problems.append(f"{path.relative_to(ROOT)} imports {name}")
        for name in sorted(imported & FORBIDDEN_THIRD_PARTY.get(package, set())):
            problems.append(f"{path.relative_to(ROOT)} imports {name} (not allowed in {package})")
    assert not problems, "\n".join(problems)


def test_only_the_kv_module_imports_plyvel() -> None:
    users = [
        str(p.relative_to(ROOT))
        for pkg in PROJECT - {"tests", "scripts"}
        for p in (ROOT / pkg).rglob("*.py")
        if "plyvel" in _imports(p)
    ]
    assert users == ["ledger/kv.py"]
