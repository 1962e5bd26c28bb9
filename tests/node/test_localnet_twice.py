"""A second ``credichain localnet`` on a directory whose network runs says so in one line."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from ledger.crypto import Keypair, encode_address
from node.cli.localnet import free_ports, prepare_localnet, print_endpoints, running_home

HOLD_STORE = """
import sys, time
from ledger.kv import LevelDBKV
store = LevelDBKV(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_a_running_network_is_named_and_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    ports = free_ports(2)
    homes = prepare_localnet(directory, 2, ports)
    assert running_home(homes) is None  # nothing runs yet
    db = homes[1] / "data" / "db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert running_home(homes) == homes[1]
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "localnet", "--dir", str(directory)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2, second.stdout + second.stderr
        assert "a localnet is already running on" in second.stderr
        assert "node1 holds its store" in second.stderr
        assert f"its RPC is http://127.0.0.1:{ports.rpc + 1}" in second.stderr
        assert "validators running" not in second.stdout  # no banner, no node started
        assert time.monotonic() - started < 30
        assert holder.poll() is None  # the running one is left alone
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipe
    assert running_home(homes) is None


def test_the_endpoint_table_is_whole_in_a_log(tmp_path: Path) -> None:
    """Written to a file (not a terminal), no address or path is cut at 80 columns."""
    ports = free_ports(3)
    homes = prepare_localnet(tmp_path / "a-rather-long-directory-name" / "net", 3, ports)
    log = io.StringIO()
    print_endpoints(Console(file=log, width=80), homes, "cc")
    text = log.getvalue()
    for i, home in enumerate(homes):
        assert f"http://127.0.0.1:{ports.rpc + i}" in text
        assert f"127.0.0.1:{ports.p2p + i}" in text
        assert f"http://127.0.0.1:{ports.metrics + i}/metrics" in text
        assert str(home / "node.log") in text
    assert encode_address(Keypair.dev("ferdie").public, "cc") in text
    assert "…" not in text
