"""Replay the regression corpus and the seeds of every fuzz target.

``corpus/<target>/`` holds inputs that once broke (or were written to break)
a property; ``scripts/fuzz_atheris.py`` adds every crasher it finds there.
Each must now be accepted or cleanly refused. The seeds are the valid inputs
the fuzzers start from: if they stopped being accepted, the fuzzers would
mutate garbage, so that is checked too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import CORPUS, corpus_files, exercise
from tests.fuzz.targets import TARGETS

CASES = [
    pytest.param(name, path, id=f"{name}/{path.name}")
    for name in sorted(TARGETS)
    for path in corpus_files(name)
]


def test_every_corpus_directory_belongs_to_a_target() -> None:
    directories = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert directories == set(TARGETS)
    assert all(corpus_files(name) for name in TARGETS)  # each has regression cases


@pytest.mark.parametrize(("name", "path"), CASES)
def test_regression_case_is_answered_cleanly(name: str, path: Path) -> None:
    assert exercise(TARGETS[name], path.read_bytes()) in ("accepted", "refused")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_are_valid_inputs(name: str) -> None:
    target = TARGETS[name]
    outcomes = [exercise(target, seed) for seed in target.seeds()]
    assert outcomes.count("accepted") >= len(outcomes) // 2, outcomes
