"""`credichain node start` refuses what it cannot use with one clear line, exit code 2."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.kv import LevelDBKV, StoreError
from node.cli.localnet import free_ports, prepare_localnet


def _start(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_store_in_use_is_refused_by_name(tmp_path: Path) -> None:
    first = LevelDBKV(tmp_path / "db")
    try:
        with pytest.raises(StoreError, match="another node"):
            LevelDBKV(tmp_path / "db")
    finally:
        first.close()


def test_a_taken_port_is_named_not_a_stack_trace(tmp_path: Path) -> None:
    ports = free_ports(1)
    (home,) = prepare_localnet(tmp_path / "net", 1, ports)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.p2p))
        squatter.listen()
        result = _start(home)
    assert result.returncode == 2
    assert "cannot listen" in result.stderr and "p2p.listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_home_without_genesis_is_named(tmp_path: Path) -> None:
    result = _start(tmp_path / "empty")
    assert result.returncode == 2
    assert "genesis.json is missing" in result.stderr


def test_a_repeated_stop_signal_still_stops_cleanly(tmp_path: Path) -> None:
    """Supervisors may send SIGTERM twice; the second must not kill a closing node."""
    ports = free_ports(1)
    (home,) = prepare_localnet(tmp_path / "net", 1, ports)
    node = subprocess.Popen(
        [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", ports.rpc), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the node never listened")
        time.sleep(1.0)  # a few blocks
        for _ in range(3):
            node.send_signal(signal.SIGTERM)
            time.sleep(0.02)
        _, stderr = node.communicate(timeout=30)
    finally:
        node.kill()
    assert node.returncode == 0, stderr[-2000:]
    assert "node stopped" in stderr
