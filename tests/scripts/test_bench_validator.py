"""The validator benchmark (scripts/bench_validator.py) in a small run: every stage
does its work on real components and the report names each stage in both units.

No timing is asserted here: the figures belong to the benchmark (docs/status.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts import bench_validator


def test_every_stage_handles_every_transfer(tmp_path: Path) -> None:
    totals, counted = bench_validator.run(blocks=2, block_size=40, accounts=20, workdir=tmp_path)
    assert counted == 80  # the warm-up block is not counted
    assert set(totals) == set(bench_validator.STAGES)
    assert all(seconds > 0 for seconds in totals.values())


def test_report_names_each_stage_in_microseconds_and_verifications(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        ["bench_validator.py", "--blocks", "1", "--block-size", "20", "--accounts", "10"],
    )
    assert bench_validator.main() == 0
    out = capsys.readouterr().out
    assert "one verification =" in out
    for stage in (*bench_validator.STAGES, "total"):
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{stage}:"))
        assert "us per transfer =" in line and line.endswith("verifications")


def test_refuses_an_empty_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_validator.py", "--blocks", "0"])
    with pytest.raises(SystemExit) as refused:
        bench_validator.main()
    assert refused.value.code == 2


def test_against_a_revision_compares_each_stage_in_the_same_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # HEAD is always there; its worktree is removed afterwards.
    argv = ["bench_validator.py", "--against", "HEAD", "--rounds", "1"]
    argv += ["--blocks", "1", "--block-size", "20", "--accounts", "10"]
    monkeypatch.setattr(sys, "argv", argv)
    assert bench_validator.main() == 0
    out = capsys.readouterr().out
    assert "this tree against HEAD" in out
    for stage in (*bench_validator.STAGES, "total"):
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{stage}:"))
        assert " -> " in line and "ratio" in line


def test_against_an_unknown_revision_says_so_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(bench_validator.tempfile, "tempdir", None)  # read TMPDIR again
    argv = ["bench_validator.py", "--against", "no-such-revision", "--blocks", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as refused:
        bench_validator.main()
    assert "cannot check out 'no-such-revision'" in str(refused.value.code)
    assert list(tmp_path.iterdir()) == []
