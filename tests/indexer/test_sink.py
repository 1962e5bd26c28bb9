"""node/indexer/sink.py against a real PostgreSQL server: the schema, one transaction per block,
a block written twice, refusals that write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from node.indexer.fetch import ChainIdentity
from node.indexer.sink import SCHEMA_VERSION, PostgresSink, SinkError, describe_url
from node.testing.replay_fixture import ChainBuilder
from tests.indexer.chain import chain_balances, genesis_block, identity, transfer_blocks

TABLES = ("blocks", "extrinsics", "events", "movements", "genesis_balances")


@pytest.fixture
def sink(db_url: str) -> Iterator[PostgresSink]:
    opened = PostgresSink.connect(db_url)
    opened.ensure_schema()
    yield opened
    opened.close()


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def mark(url: str) -> int | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT height FROM indexer_state").fetchone()
    return None if row is None else int(row[0])


def test_the_schema_is_created_once_and_its_version_checked(db_url: str) -> None:
    first = PostgresSink.connect(db_url)
    assert first.ensure_schema() == SCHEMA_VERSION
    assert first.ensure_schema() == SCHEMA_VERSION  # found, not created again
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(SinkError, match="schema version 99, this indexer writes version 1"):
        first.ensure_schema()
    first.close()


def test_blocks_written_give_the_chains_balances_and_a_replay_adds_nothing(
    sink: PostgresSink, db_url: str
) -> None:
    builder = ChainBuilder(validators=1, accounts=4)
    chain = identity(builder)
    blocks = [genesis_block(builder), *transfer_blocks(builder, 3)]
    assert sink.attach(chain) is None
    assert [sink.write(b, chain) for b in blocks] == [True] * 4
    assert mark(db_url) == 3
    high = sink.attach(chain)
    assert high is not None and high.height == 3
    assert high.block_hash == "0x" + blocks[-1].block.hash.hex()
    before = counts(db_url)
    assert before["extrinsics"] == 9 and before["blocks"] == 4
    # at least once: the same blocks again (a resumed follower) write nothing
    assert [sink.write(b, chain) for b in blocks] == [False] * 4
    assert counts(db_url) == before and mark(db_url) == 3
    with psycopg.connect(db_url) as conn:
        stored = {a: f for a, f in conn.execute("SELECT account, free FROM balances").fetchall()}
    for account, free in chain_balances(builder).items():
        assert int(stored.get(account, 0)) == free, account


def test_a_gap_or_another_chain_is_refused_and_writes_nothing(
    sink: PostgresSink, db_url: str
) -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    chain = identity(builder)
    genesis, one, two = [genesis_block(builder), *transfer_blocks(builder, 2)]
    with pytest.raises(SinkError, match="block 1 is not the next block"):
        sink.write(one, chain)
    sink.write(genesis, chain)
    with pytest.raises(SinkError, match="block 2 is not the next block: the database is at 0"):
        sink.write(two, chain)
    other = ChainBuilder(validators=1, accounts=3)  # another genesis
    (stranger,) = transfer_blocks(other, 1)
    with pytest.raises(SinkError, match=r"parent .* is not the stored block 0"):
        sink.write(stranger, chain)
    with pytest.raises(SinkError, match="the database indexes chain"):
        sink.attach(identity(other))
    with pytest.raises(SinkError, match="another chain"):
        sink.write(genesis_block(other), identity(other))
    sink.write(one, chain)
    with pytest.raises(SinkError, match=r"block 1 is .* on the node but .* in the database"):
        sink.write(replace(stranger, height=1), chain)
    assert mark(db_url) == 1 and counts(db_url)["blocks"] == 2


def test_a_block_that_fails_halfway_leaves_nothing_behind(sink: PostgresSink, db_url: str) -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    chain = identity(builder)
    genesis, one = [genesis_block(builder), *transfer_blocks(builder, 1)]
    sink.write(genesis, chain)
    before = counts(db_url)
    report = {
        "fund": 7, "time": 1, "cash": "0", "outstanding": "0", "size": "0",
        "utilization_bps": 0, "interest_income": "0", "losses": "0", "expenses": "0",
        "funders": 0, "par_bps": {"par30": 0, "par60": 0, "par90": 0}, "by_purpose": {},
        "exits_pending": 0, "exit_arrears": "0",
    }  # fmt: skip
    # a report of a fund the database has never seen: the last insert of the block fails
    with pytest.raises(SinkError, match="PostgreSQL refused block 1"):
        sink.write(replace(one, reports={7: report}), chain)
    assert counts(db_url) == before and mark(db_url) == 0
    assert sink.write(one, chain)  # the block itself still goes in whole
    assert mark(db_url) == 1


def test_one_writer_at_a_time(sink: PostgresSink, db_url: str) -> None:
    sink.lock()
    second = PostgresSink.connect(db_url)
    with pytest.raises(SinkError, match="another indexer is writing to this database"):
        second.lock()
    sink.close()  # the first one goes away: its lock with it
    second.lock()
    second.close()


def test_an_unreachable_database_is_named_without_its_password(pg_server: object) -> None:
    url = "postgresql://me:secret@127.0.0.1:1/nowhere"
    with pytest.raises(
        SinkError, match=r"cannot connect to PostgreSQL at 127.0.0.1:1/nowhere"
    ) as e:
        PostgresSink.connect(url, timeout_s=2)
    assert "secret" not in str(e.value)
    assert describe_url("host=db port=6000 dbname=books") == "db:6000/books"


def test_a_chain_identity_is_compared_by_genesis_hash(sink: PostgresSink) -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    chain = identity(builder)
    sink.write(genesis_block(builder), chain)
    renamed = ChainIdentity(chain.genesis_hash, "same chain, other name", chain.hrp)
    high = sink.attach(renamed)
    assert high is not None and high.height == 0
