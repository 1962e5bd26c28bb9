"""The KVStore contract, run against MemoryKV and LevelDBKV alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import plyvel
import pytest

from ledger.kv import KVStore, LevelDBKV, LevelDBOptions, MemoryKV, StoreError, WriteBatch


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


def _tables_hold_a_bloom_filter(path: Path) -> bool:
    """Whether LevelDB's table files name the built-in bloom filter in their meta index."""
    return any(
        b"filter.leveldb.BuiltinBloomFilter2" in table.read_bytes() for table in path.glob("*.ldb")
    )


@pytest.mark.parametrize("bits", [0, 10])
def test_leveldb_options_reach_leveldb(
    tmp_path: Path, bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, object]] = []
    real_db = plyvel.DB

    def recording_db(name: str, **kwargs: object) -> object:
        opened.append(kwargs)
        return real_db(name, **kwargs)

    monkeypatch.setattr(plyvel, "DB", recording_db)
    path = tmp_path / "db"
    store = LevelDBKV(path, options=LevelDBOptions(cache_mb=3, bloom_bits=bits, write_buffer_mb=2))
    try:
        batch = WriteBatch()
        for index in range(2000):
            batch.put(index.to_bytes(4, "big"), b"v")
        store.write(batch, sync=True)
        store.compact()  # writes the tables out, with a filter block if asked for
        assert store.get((1234).to_bytes(4, "big")) == b"v"
        assert store.get(b"absent") is None  # a filter never changes an answer
    finally:
        store.close()
    expected = {"lru_cache_size": 3 << 20, "write_buffer_size": 2 << 20}
    if bits:
        expected["bloom_filter_bits"] = bits
    assert opened == [{"create_if_missing": True, **expected}]
    assert _tables_hold_a_bloom_filter(path) == bool(bits)


def test_leveldb_defaults_write_bloom_filters(tmp_path: Path) -> None:
    assert LevelDBOptions() == LevelDBOptions(cache_mb=8, bloom_bits=10, write_buffer_mb=4)
    store = LevelDBKV(tmp_path / "db")
    try:
        store.put(b"k", b"v", sync=True)
        store.compact()
    finally:
        store.close()
    assert _tables_hold_a_bloom_filter(tmp_path / "db")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache_mb": -1}, "cache_mb must be an integer >= 0, got -1"),
        ({"bloom_bits": True}, "bloom_bits must be an integer >= 0, got True"),
        ({"write_buffer_mb": 0}, "write_buffer_mb must be at least 1"),
        ({"write_buffer_mb": 1.5}, "write_buffer_mb must be an integer >= 0, got 1.5"),
    ],
)
def test_bad_leveldb_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(StoreError, match=message):
        LevelDBOptions(**options)  # type: ignore[arg-type]
