"""The KVStore contract, run against MemoryKV and LevelDBKV alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.kv import KVStore, LevelDBKV, MemoryKV, WriteBatch


@pytest.fixture(params=["memory", "leveldb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    store: KVStore = MemoryKV() if request.param == "memory" else LevelDBKV(tmp_path / "db")
    yield store
    store.close()


def test_put_get_delete(kv: KVStore) -> None:
    assert kv.get(b"a") is None
    kv.put(b"a", b"1")
    kv.put(b"b", b"", sync=True)
    assert kv.get(b"a") == b"1"
    assert kv.get(b"b") == b""  # an empty value is a value, not an absence
    kv.put(b"a", b"2")
    assert kv.get(b"a") == b"2"
    kv.delete(b"a")
    kv.delete(b"never-there", sync=True)
    assert kv.get(b"a") is None
    assert kv.get(b"b") == b""


def test_iterate_prefix_in_key_order(kv: KVStore) -> None:
    keys = [b"p/\xff", b"p/", b"p/a", b"q", b"p/\x00\x01", b"o/zz", b"p"]
    for index, key in enumerate(keys):
        kv.put(key, bytes([index]))
    assert [k for k, _ in kv.iterate(b"p/")] == [b"p/", b"p/\x00\x01", b"p/a", b"p/\xff"]
    assert dict(kv.iterate(b"p/")) == {k: bytes([keys.index(k)]) for k in keys if k[:2] == b"p/"}
    assert [k for k, _ in kv.iterate(b"")] == sorted(keys)
    assert list(kv.iterate(b"zz")) == []


def test_write_batch_applies_all_ops_and_last_op_wins(kv: KVStore) -> None:
    kv.put(b"gone", b"x")
    batch = WriteBatch()
    batch.put(b"k1", b"v1")
    batch.put(b"k2", b"old")
    batch.put(b"k2", b"new")
    batch.delete(b"gone")
    batch.put(b"k3", b"v3")
    batch.delete(b"k3")
    assert len(batch) == 4
    kv.write(batch, sync=True)
    assert kv.get(b"k1") == b"v1"
    assert kv.get(b"k2") == b"new"
    assert kv.get(b"gone") is None
    assert kv.get(b"k3") is None
    kv.write(WriteBatch())  # an empty batch is fine
    assert kv.get(b"k1") == b"v1"


def test_binary_keys_and_large_values(kv: KVStore) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    kv.put(b"\x00\xff\x00", big)
    assert kv.get(b"\x00\xff\x00") == big
    assert kv.get(b"\x00\xff") is None


def test_leveldb_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db"
    store = LevelDBKV(path)
    batch = WriteBatch()
    batch.put(b"a", b"1")
    batch.put(b"b", b"2")
    store.write(batch, sync=True)
    store.close()
    store.close()  # closing twice is harmless
    again = LevelDBKV(path, create=False)
    try:
        assert list(again.iterate(b"")) == [(b"a", b"1"), (b"b", b"2")]
    finally:
        again.close()
