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


# ---------------------------------------------------------------- inside pallets/ and node/

PALLETS_DIR = ROOT / "pallets"
FRAMEWORK = {"support", "executive"}


def _module_imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every absolute import of ``path``.

    ``from pkg import name`` yields ``pkg.name``: a sub-module or a name, the
    checks below only look at the first three parts.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno, id(node) in top_level) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend(
                (f"{node.module}.{a.name}", node.lineno, id(node) in top_level) for a in node.names
            )
    return found


def _room(path: Path) -> str:
    """A pallets/ file's room: support, executive, construct, or the pallet's name."""
    parts = path.relative_to(PALLETS_DIR).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _pallet_edges() -> dict[tuple[str, str], list[str]]:
    """(importing room, imported room) -> where, for every import between rooms of pallets/."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PALLETS_DIR.rglob("*.py")):
        room = _room(path)
        for module, line, _ in _module_imports(path):
            parts = module.split(".")
            if parts[0] != "pallets" or len(parts) < 2 or parts[1] in {room, "__init__"}:
                continue
            target = parts[1]
            if (PALLETS_DIR / target).is_dir() or target == "construct":
                edges.setdefault((room, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return edges


# The one function-level import the core packages keep: plyvel loads LevelDB's
# shared library, and only a node with a store on disk needs it.
LATE_IMPORTS = {("ledger/kv.py", "plyvel")}


def test_no_imports_inside_functions_in_the_core_packages() -> None:
    """A function-level import hides a dependency (and, often, a cycle) from review."""
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module} inside a block"
        for package in [*sorted(ALLOWED), "node"]
        for path in sorted((ROOT / package).rglob("*.py"))
        for module, line, top in _module_imports(path)
        if not top
        and not (_under_type_checking(path, line) and path.is_relative_to(PALLETS_DIR / "support"))
        and (path.relative_to(ROOT).as_posix(), module) not in LATE_IMPORTS
    ]
    assert not problems, "\n".join(problems)


def _under_type_checking(path: Path, line: int) -> bool:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return True
    return False


def test_framework_layers_support_system_pallets_executive() -> None:
    """support < system < pallets < executive; only construct.py sees every pallet."""
    problems = []
    for (room, target), where in sorted(_pallet_edges().items()):
        if room == "support" or room == "system":
            allowed = target == "support"
        elif room == "executive":
            allowed = target in {"support", "system"}
        elif room == "construct":
            allowed = True
        else:  # a pallet
            allowed = target not in {"executive", "construct"}
        if not allowed:
            problems.append(f"{room} imports {target}: {', '.join(where)}")
    assert not problems, "\n".join(problems)


def test_type_only_imports_stay_inside_their_room() -> None:
    """TYPE_CHECKING may name a type of the same room; between rooms it hides a cycle."""
    problems = []
    for path in sorted(PALLETS_DIR.rglob("*.py")):
        for module, line, _ in _module_imports(path):
            parts = module.split(".")
            crosses = parts[0] == "pallets" and (len(parts) < 2 or parts[1] != _room(path))
            if crosses and _under_type_checking(path, line):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not problems, "\n".join(problems)


def test_pallets_depend_on_each_other_without_cycles() -> None:
    """A pallet that needs a pallet above it declares a hook (pallets/support/wiring.py)."""
    graph: dict[str, set[str]] = {}
    for room, target in _pallet_edges():
        if {room, target} & (FRAMEWORK | {"construct"}):
            continue
        graph.setdefault(room, set()).add(target)
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"pallet import cycle: {' -> '.join([*path, node])}"
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        state[node] = "done"
        order.append(node)

    for node in sorted(graph):
        visit(node, [])
    assert "system" in order and "funds" in order  # the graph was really built


# Cross-pallet imports of something other than a pallet's ``api`` (or the
# balances pallet's ``currency``, its api for money): the ones that exist
# today. The list may only shrink: a new pallet reaches others through their api.
NON_API_IMPORTS = {
    ("commons", "health.storage"),
    ("commons", "system.storage"),
    ("credit", "funds.storage"),
    ("credit", "loans.interest"),
    ("credit", "loans.storage"),
    ("credit", "trust.storage"),
    ("federation", "credit.storage"),
    ("federation", "trust.storage"),
    ("governance", "system.calls"),
    ("loans", "funds.storage"),
    ("loans", "trust.storage"),
    ("members", "health.storage"),
    ("payment", "balances.storage"),
    ("payment", "system.hooks"),
}


def test_pallets_reach_each_other_through_their_api() -> None:
    found = set()
    for path in sorted(PALLETS_DIR.rglob("*.py")):
        room = _room(path)
        if room in FRAMEWORK | {"construct"}:
            continue
        for module, _, _ in _module_imports(path):
            parts = module.split(".")
            if len(parts) < 3 or parts[0] != "pallets" or parts[1] in FRAMEWORK | {room}:
                continue
            is_module = (PALLETS_DIR / parts[1] / f"{parts[2]}.py").exists()
            if is_module and parts[2] not in {"api", "currency"}:
                found.add((room, f"{parts[1]}.{parts[2]}"))
    assert found <= NON_API_IMPORTS, f"new non-api imports: {sorted(found - NON_API_IMPORTS)}"
    assert found == NON_API_IMPORTS, f"fixed, drop from the list: {sorted(NON_API_IMPORTS - found)}"


# node/ in rooms (DESIGN.md §2): the daemon runs alone; audit and testing build on
# the daemon's chain; the CLI and the oracle feeder are clients that may use all.
NODE_DIR = ROOT / "node"
NODE_ROOMS = {
    "daemon": {"daemon"},
    "audit": {"audit", "daemon"},
    "testing": {"testing", "daemon"},
    "oracle": {"oracle", "daemon", "cli"},  # its command group uses node.cli.common
    "indexer": {"indexer"},  # a JSON-RPC client writing PostgreSQL; the node never imports it
    "assess": {"assess", "testing", "daemon"},  # the simulator builds chains with testing
    # localnet: testing.procs; assess: the simulator and the fitter
    "cli": {"cli", "daemon", "audit", "oracle", "testing", "indexer", "assess"},
}


def test_node_rooms_import_only_what_they_build_on() -> None:
    rooms = {p.name for p in NODE_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert rooms == set(NODE_ROOMS), f"node/ rooms changed: {sorted(rooms)}"
    loose = sorted(p.name for p in NODE_DIR.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"node/ modules outside a room: {loose}"
    problems = []
    for room, allowed in NODE_ROOMS.items():
        for path in sorted((NODE_DIR / room).rglob("*.py")):
            for module, line, _ in _module_imports(path):
                parts = module.split(".")
                room_of = parts[1] if parts[0] == "node" and len(parts) > 1 else None
                if room_of in NODE_ROOMS and room_of not in allowed:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not problems, "\n".join(problems)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_import_cycles_in_the_core_packages() -> None:
    """Module by module (not only package by package), the core imports form no cycle."""
    paths = {
        _module_name(path): path
        for package in [*sorted(ALLOWED), "node"]
        for path in (ROOT / package).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for module, line, top in _module_imports(path):
            if not top or _under_type_checking(path, line):
                continue
            # "from pkg import mod" names pkg.mod; "from mod import name" names mod
            target = module if module in paths else module.rpartition(".")[0]
            if target in paths and target != name:
                targets.add(target)
        graph[name] = targets
    state: dict[str, str] = {}
    cycles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "open":
            cycles.append(" -> ".join([*trail[trail.index(node) :], node]))
            return
        state[node] = "open"
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])
    assert len(graph) > 200  # the walk saw the tree
    assert not cycles, "\n".join(cycles)
