"""Starting and stopping node processes (localnet, end-to-end tests, benchmarks).

Each validator is a separate OS process running ``credichain node start``;
this module spawns them with their output in ``HOME/node.log``, stops them
with SIGTERM (then SIGKILL after a grace period), and offers the signals that
fault tests need (SIGKILL, SIGSTOP, SIGCONT).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class NodeProcess:
    """One ``credichain node start --home HOME`` child process."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _terminating: bool = False

    @property
    def log_path(self) -> Path:
        return self.home / "node.log"

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"node {self.home} is already running")
        self._close_log()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's life
        env = {**os.environ, **self.extra_env}
        self._terminating = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(self.home)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C on the terminal reaches the manager only
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("not started")
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        if self.running and self.proc is not None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """``kill -9``: no chance to clean up (crash tests)."""
        self.signal(signal.SIGKILL)
        self.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def terminate(self) -> None:
        """Send SIGTERM once per run of the process.

        A second SIGTERM can arrive after the node has left its signal handler
        (while it closes its store) and kill it with the default action, so a
        stop in progress is never signalled again.
        """
        if self.running and self.proc is not None and not self._terminating:
            self._terminating = True
            self.proc.send_signal(signal.SIGCONT)  # a paused node cannot handle SIGTERM
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()
        return self.proc.returncode

    def wait(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_all(nodes: list[NodeProcess], grace: float = 15.0) -> None:
    """Stop every node, in parallel: SIGTERM to all first, then wait."""
    for node in nodes:
        node.terminate()
    deadline = time.monotonic() + grace
    for node in nodes:
        node.stop(max(0.1, deadline - time.monotonic()))
