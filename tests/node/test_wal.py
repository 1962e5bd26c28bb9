"""The WAL file: append, torn and corrupt tails repaired on open, per-height reset, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus import Core, CoreConfig, StartHeight, TimeoutFired, TimeoutStep, VoteReceived
from consensus.wal import MAGIC, encode_record
from ledger.crypto import Keypair, blake2b256
from ledger.types import Validator, ValidatorSet, Vote, VoteType
from node.daemon.wal import WalError, WriteAheadLog

KEYS = sorted((Keypair.dev(f"wal-test-{i}") for i in range(4)), key=lambda k: k.public)
VS = ValidatorSet.of([Validator(k.public, 1) for k in KEYS])
GENESIS = blake2b256(b"wal-test")


def inputs() -> list[object]:
    return [
        StartHeight(1, VS),
        VoteReceived(Vote.create(KEYS[1], GENESIS, VoteType.PREVOTE, 1, 0, None, 5)),
        VoteReceived(Vote.create(KEYS[2], GENESIS, VoteType.PREVOTE, 1, 0, None, 6)),
        TimeoutFired(1, 0, TimeoutStep.PROPOSE),
    ]


def write(path: Path, items: list[object]) -> None:
    wal, report = WriteAheadLog.open(path)
    assert report.inputs == () and report.problem is None
    for item in items:
        wal.append(item)  # type: ignore[arg-type]
    wal.sync()
    wal.close()


def test_appended_inputs_come_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    write(path, inputs())
    wal, report = WriteAheadLog.open(path)
    wal.close()
    assert list(report.inputs) == inputs()
    assert report.truncated_bytes == 0 and report.problem is None


def test_a_torn_tail_is_truncated_reported_and_appending_resumes(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    write(path, inputs())
    full = path.read_bytes()
    path.write_bytes(full[:-7])  # the last record lost its end in the crash
    wal, report = WriteAheadLog.open(path)
    assert list(report.inputs) == inputs()[:3]
    assert report.truncated_bytes == len(encode_record(inputs()[3])) - 7  # type: ignore[arg-type]
    assert "torn record" in (report.problem or "")
    wal.append(inputs()[3])  # type: ignore[arg-type]
    wal.close()
    assert path.read_bytes() == full  # repaired file + the re-appended record


def test_a_corrupt_record_is_cut_with_everything_after_it(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    write(path, inputs())
    data = bytearray(path.read_bytes())
    offset = len(MAGIC) + len(encode_record(inputs()[0]))  # type: ignore[arg-type]
    data[offset + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    wal, report = WriteAheadLog.open(path)
    wal.close()
    assert list(report.inputs) == inputs()[:1]
    assert report.problem == f"CRC mismatch in record at offset {offset}"
    assert path.stat().st_size == offset


def test_start_height_replaces_the_log_atomically(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    wal, _ = WriteAheadLog.open(path)
    for item in inputs():
        wal.append(item)  # type: ignore[arg-type]
    wal.start_height(StartHeight(2, VS))
    wal.append(TimeoutFired(2, 0, TimeoutStep.PROPOSE))
    wal.close()
    reopened, report = WriteAheadLog.open(path)
    reopened.close()
    assert list(report.inputs) == [StartHeight(2, VS), TimeoutFired(2, 0, TimeoutStep.PROPOSE)]
    assert not (tmp_path / "cs.wal.tmp").exists()


def test_a_torn_header_starts_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    path.write_bytes(MAGIC[:4])
    wal, report = WriteAheadLog.open(path)
    wal.close()
    assert report.inputs == () and report.problem == "torn header"
    assert path.read_bytes() == MAGIC


def test_a_foreign_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    path.write_bytes(b"this is somebody's spreadsheet")
    with pytest.raises(WalError, match="bad magic"):
        WriteAheadLog.open(path)
    assert path.read_bytes() == b"this is somebody's spreadsheet"


def test_replay_into_a_fresh_core_reproduces_the_actions(tmp_path: Path) -> None:
    path = tmp_path / "cs.wal"
    core = Core(CoreConfig(KEYS[0].public))
    wal, _ = WriteAheadLog.open(path)
    original = []
    for item in inputs():
        wal.append(item)  # type: ignore[arg-type]
        original.append(core.step(item))  # type: ignore[arg-type]
    wal.close()
    reopened, report = WriteAheadLog.open(path)
    reopened.close()
    fresh = Core(CoreConfig(KEYS[0].public))
    assert [fresh.step(item) for item in report.inputs] == original
    assert fresh.state == core.state
