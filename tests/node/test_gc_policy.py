"""The collector thresholds of processes that execute blocks (node/daemon/gc_policy.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli import node as node_cli
from node.daemon import gc_policy
from tests.node.replay_helpers import app as audit_app


@pytest.fixture
def thresholds() -> Iterator[None]:
    """Restore this process's thresholds after the test."""
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_apply_sets_the_thresholds(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    gc_policy.apply()
    assert gc.get_threshold() == gc_policy.THRESHOLDS
    young, middle, old = gc_policy.THRESHOLDS
    assert young > 700 and middle >= 10 and old >= 10  # fewer passes, never more


@pytest.mark.parametrize("command", ["start", "replay", "import"])
def test_the_commands_that_execute_blocks_apply_it_first(
    command: str, tmp_path: Path, thresholds: None
) -> None:
    gc.set_threshold(700, 10, 10)
    missing = tmp_path / "no-such-home"
    if command == "start":
        args = [node_cli.app, ["start", "--home", str(missing)]]
    elif command == "replay":
        args = [audit_app, ["replay", "--home", str(missing)]]
    else:
        args = [audit_app, ["import", str(tmp_path / "no-such-export"), "--home", str(missing)]]
    result = CliRunner().invoke(*args)
    assert result.exit_code != 0  # refused: nothing to run; the policy came first
    assert gc.get_threshold() == gc_policy.THRESHOLDS
