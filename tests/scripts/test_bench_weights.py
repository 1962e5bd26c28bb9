"""The weights benchmark (make bench-weights) in its quick mode: every signed call has a
scenario whose extrinsics take their path and succeed, and the table covers every call.

No timing is asserted here: the figures belong to `make bench-weights`
(docs/runtime-weights.md), not to tests.
"""

from __future__ import annotations

import json

import pytest

from pallets import construct
from pallets.support.declare import SIGNED
from pallets.support.weights import WEIGHTS_FILE, load_weights, parse_weights
from scripts import bench_weights
from scripts import weights_scenarios as ws

REGISTRY = construct.registry()
SIGNED_CALLS = {
    f"{p.name}.{c.name}" for p in REGISTRY.pallets for c in p.calls if c.origin == SIGNED
}
ALL_CALLS = {f"{p.name}.{c.name}" for p in REGISTRY.pallets for c in p.calls}


def test_every_signed_call_has_one_scenario() -> None:
    names = [s.call for s in ws.all_scenarios()]
    assert sorted(names) == sorted(SIGNED_CALLS)
    assert set(ws.governance_only(REGISTRY)) == ALL_CALLS - SIGNED_CALLS


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    workdir = tmp_path_factory.mktemp("bench-weights")
    with contextlib.redirect_stdout(out):
        code = bench_weights.main(["--quick", "--workdir", str(workdir)])
    return code, out.getvalue()


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ALL_CALLS:
            rows[cells[0]] = cells
    return rows


def test_quick_run_covers_every_call_and_every_scenario_succeeds(
    quick_run: tuple[int, str],
) -> None:
    code, output = quick_run
    assert code == 0, output
    rows = table_rows(output)
    assert set(rows) == SIGNED_CALLS, output
    for call, cells in rows.items():
        scenario = next(s for s in ws.all_scenarios() if s.call == call)
        expected = "ok" if scenario.failure is None else f"fails with {scenario.failure}"
        assert cells[-1].startswith(expected), (call, cells)
        assert int(cells[1]) >= 1 and int(cells[-2]) >= 1  # declared operations, n
    for call in ALL_CALLS - SIGNED_CALLS:
        assert f"{call}: not an extrinsic (governance origin)" in output
    assert "NO SCENARIO" not in output


def test_quick_run_does_not_write(quick_run: tuple[int, str]) -> None:
    assert "wrote " not in quick_run[1]


def test_committed_weights_parse_and_name_only_known_calls() -> None:
    document = json.loads(WEIGHTS_FILE.read_text())
    table = parse_weights(document, ALL_CALLS)
    assert table == load_weights()
    assert set(table.call_ns_per_op) <= SIGNED_CALLS
    assert isinstance(document.get("comment"), str)
