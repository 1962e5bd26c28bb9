"""``credichain index`` (node/cli/index.py): what it says when it cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDICHAIN_")}
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", "index", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "COLUMNS": "200"},
    )


def test_an_unreachable_database_exits_1_naming_it_without_its_password() -> None:
    done = run("--postgres", "postgresql://me:secret@127.0.0.1:1/books", "--once")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/books" in done.stderr
    assert "secret" not in done.stdout + done.stderr


def test_the_database_is_required_and_options_are_checked() -> None:
    missing = run("--once")
    assert missing.returncode == 2 and "--postgres" in missing.stderr
    bad = run("--postgres", "postgresql://127.0.0.1:1/x", "--batch", "0")
    assert bad.returncode == 2 and "--batch" in bad.stderr
