"""The consensus WAL file: append, sync, replay with torn-tail repair, per-height reset.

Theory of operation
-------------------
``consensus/wal.py`` defines the bytes; this module owns one file. The node:

1. ``WriteAheadLog.open(path)`` at start-up: reads the file (creating an
   empty log if there is none), decodes it, and if the tail is torn or
   corrupt truncates the file to the last good record (fsynced) and says so
   in the returned ``ReplayReport`` — the caller logs it. A file that is not
   a WAL at all raises ``WalError`` and is left alone.
2. ``append(input)`` before every ``Core.step(input)``: written to the OS,
   not fsynced (fast).
3. ``sync()`` before acting on ``SignVote``/``SignProposal``: everything
   that led the core to sign — its lock included — is on disk before the
   signature can leave the node.
4. ``start_height(StartHeight)`` once a decided block is committed to the
   block store: the file is atomically replaced by one holding only that
   input. Older heights are in the block store, never replayed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from consensus.inputs import Input, StartHeight
from consensus.wal import MAGIC, WalError, decode_log, encode_record

__all__ = ["ReplayReport", "WalError", "WriteAheadLog"]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The inputs to replay, and what was cut from the tail (0 bytes, None = clean)."""

    inputs: tuple[Input, ...]
    truncated_bytes: int
    problem: str | None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """One WAL file; see the module docstring."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self._file = handle

    @classmethod
    def open(cls, path: Path | str) -> tuple[WriteAheadLog, ReplayReport]:
        path = Path(path)
        if not path.exists():
            cls._write_atomically(path, MAGIC)
        data = path.read_bytes()
        contents = decode_log(data)
        truncated = len(data) - contents.good_length
        if contents.good_length < len(MAGIC):
            cls._write_atomically(path, MAGIC)  # a torn header: start an empty log
        elif truncated:
            with path.open("r+b") as f:
                f.truncate(contents.good_length)
                f.flush()
                os.fsync(f.fileno())
        handle = path.open("ab")
        report = ReplayReport(contents.inputs, truncated, contents.problem)
        return cls(path, handle), report

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def append(self, inp: Input) -> None:
        """Append one input (written to the OS; call ``sync`` before signing)."""
        self._file.write(encode_record(inp))
        self._file.flush()

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def start_height(self, inp: StartHeight) -> None:
        """Replace the log by one holding only ``inp`` (atomically, fsynced)."""
        self._file.close()
        self._write_atomically(self.path, MAGIC + encode_record(inp))
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
