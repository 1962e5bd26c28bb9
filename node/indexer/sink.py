"""The PostgreSQL side of the indexer: the schema, the high-water mark, one transaction per block.

Theory of operation
-------------------
Delivery is at least once, effect exactly once. The follower may hand the
same block to ``write`` again (after a crash, it starts from the high-water
mark and may re-read blocks it had fetched; two followers may race), so:

* **the high-water mark moves in the block's own transaction.** ``write``
  locks the ``indexer_state`` row (``SELECT ... FOR UPDATE``), checks that
  the block is the next one (its parent hash is the mark's block hash),
  inserts the block's rows, moves the mark and commits, all at once. A
  process killed at any point leaves either the whole block or nothing
  (PostgreSQL rolls back the open transaction of a dropped connection);
* **a block at or below the mark is skipped**, after checking that the
  stored block at that height has the same hash (a different hash means
  the database belongs to another chain, and nothing is written);
* **every row has a unique key** given by its place in the chain (height,
  extrinsic index, event index; a fund, a loan, a report by fund and
  height) and is inserted with ``ON CONFLICT DO NOTHING`` (funds and loans:
  ``DO UPDATE`` to the newer state), so even a write past the mark's check
  could not add a row twice. Balances are a view over genesis balances and
  movements, never a counter that a replay could add to twice.

The schema is ``schema.sql`` beside this module, version ``SCHEMA_VERSION``,
recorded in ``schema_version``; a database with another version is refused
with a message saying so (this indexer never rewrites tables it did not
create). One indexer writes a database at a time: a session advisory lock,
released by PostgreSQL when the process dies, refuses a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ledger.crypto import decode_address
from node.indexer.fetch import ChainIdentity
from node.indexer.rows import BlockRows, FetchedBlock, block_rows
from rpc.encoding import hex0x

__all__ = ["SCHEMA_VERSION", "HighWater", "PostgresSink", "SinkError", "describe_url"]

SCHEMA_VERSION: Final = 1
# pg advisory lock keys: "credichain index" as two int4s
WRITER_LOCK: Final = (0x63726564, 0x69646378)
SCHEMA_LOCK: Final = (0x63726564, 0x73636831)

_INSERTS: Final = {
    "extrinsics": 15,
    "events": 6,
    "movements": 7,
    "genesis_balances": 2,
    "module_accounts": 2,
    "fund_reports": 16,
    "fund_report_purposes": 8,
}
_JSONB: Final = {"extrinsics": {8}, "events": {5}, "funds": {8}}
_FUND_COLUMNS: Final = [
    "fund",
    "cash_account",
    "name",
    "status",
    "funders",
    "contribution",
    "rate_bps",
    "purposes",
    "record",
    "created_height",
    "updated_height",
]
_LOAN_COLUMNS: Final = [
    "loan",
    "fund",
    "recipient",
    "borrowers",
    "purpose",
    "principal",
    "outstanding",
    "rate_bps",
    "start_time",
    "term",
    "installments",
    "status",
    "principal_paid",
    "interest_paid",
    "missing",
    "closed_time",
    "first_height",
    "updated_height",
]


class SinkError(RuntimeError):
    """The database cannot take this block or this indexer (says which and why)."""


@dataclass(frozen=True, slots=True)
class HighWater:
    """The last block written: every block up to ``height`` is in the database."""

    height: int
    block_hash: str
    time_ms: int


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection string, without its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the given PostgreSQL URL"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def schema_ddl() -> str:
    return resources.files("node.indexer").joinpath("schema.sql").read_text(encoding="utf-8")


def _placeholders(table: str, count: int) -> sql.Composed:
    jsonb = _JSONB.get(table, set())
    return sql.SQL(", ").join(
        sql.SQL("%s::jsonb") if i in jsonb else sql.SQL("%s") for i in range(count)
    )


def _insert(table: str, count: int) -> sql.Composed:
    return sql.SQL("INSERT INTO {} VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table), _placeholders(table, count)
    )


def _upsert(table: str, columns: list[str], keep: set[str]) -> sql.Composed:
    """Insert, or bring an existing row (by its first column) to the new values."""
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        _placeholders(table, len(columns)),
        sql.Identifier(columns[0]),
        sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
            for c in columns[1:]
            if c not in keep
        ),
    )


class PostgresSink:
    """Writes fetched blocks into one PostgreSQL database (see the module doc)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    @classmethod
    def connect(cls, url: str, *, timeout_s: int = 10) -> PostgresSink:
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=timeout_s)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SinkError(
                f"cannot connect to PostgreSQL at {describe_url(url)}: {reason}"
            ) from None
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise SinkError(f"PostgreSQL refused {what}: {str(exc).strip()}") from exc

    # ------------------------------------------------------------ set-up

    def lock(self) -> None:
        """Take the writer's lock; ``SinkError`` if another indexer holds it."""
        with self._errors("the writer lock"):
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", WRITER_LOCK).fetchone()
        if not row or not row[0]:
            raise SinkError("another indexer is writing to this database (its lock is held)")

    def ensure_schema(self) -> int:
        """Create the schema in an empty database, or check the version of an existing one."""
        with self._errors("the schema"), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", SCHEMA_LOCK)
            found = self.conn.execute("SELECT to_regclass('schema_version')").fetchone()
            if found is None or found[0] is None:
                self.conn.execute(schema_ddl().encode())
                self.conn.execute(
                    "INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,)
                )
                return SCHEMA_VERSION
            row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = None if row is None else row[0]
        if version != SCHEMA_VERSION:
            raise SinkError(
                f"the database holds indexer schema version {version}, this indexer writes "
                f"version {SCHEMA_VERSION}: index into a new database"
            )
        return SCHEMA_VERSION

    def attach(self, identity: ChainIdentity) -> HighWater | None:
        """The high-water mark (None: nothing written yet); refuses another chain's database."""
        with self._errors("reading the high-water mark"):
            row = self.conn.execute(
                "SELECT genesis_hash, chain, height, block_hash, block_time_ms FROM indexer_state"
            ).fetchone()
        if row is None:
            return None
        genesis, chain, height, block_hash, time_ms = row
        if genesis != hex0x(identity.genesis_hash):
            raise SinkError(
                f"the database indexes chain {chain!r} (genesis {genesis}), the node serves "
                f"{identity.chain!r} (genesis {hex0x(identity.genesis_hash)})"
            )
        return HighWater(int(height), str(block_hash), int(time_ms))

    def cash_accounts(self, hrp: str) -> dict[bytes, int]:
        """Cash account -> fund id of every fund written so far."""
        with self._errors("reading the funds"):
            rows = self.conn.execute("SELECT fund, cash_account FROM funds").fetchall()
        return {decode_address(account, hrp): int(fund) for fund, account in rows}

    # ------------------------------------------------------------ blocks

    def write(self, fetched: FetchedBlock, identity: ChainIdentity) -> bool:
        """Write one block and move the mark, in one transaction; False if already written."""
        rows = block_rows(fetched, identity.hrp)
        height, block_hash, parent_hash, time_ms = rows.block[:4]
        with self._errors(f"block {height}"), self.conn.transaction():
            mark = self.conn.execute(
                "SELECT genesis_hash, height, block_hash FROM indexer_state FOR UPDATE"
            ).fetchone()
            if mark is not None and mark[0] != hex0x(identity.genesis_hash):
                raise SinkError(f"the database indexes another chain (genesis {mark[0]})")
            if mark is not None and mark[1] >= height:
                self._check_same(height, block_hash)
                return False
            expected = 0 if mark is None else mark[1] + 1
            if height != expected:
                raise SinkError(
                    f"block {height} is not the next block: the database is at {expected - 1}"
                )
            if mark is not None and parent_hash != mark[2]:
                raise SinkError(
                    f"block {height}'s parent {parent_hash} is not the stored block "
                    f"{mark[1]} {mark[2]}: the node serves another chain"
                )
            self._insert_rows(rows)
            self.conn.execute(
                "INSERT INTO indexer_state (genesis_hash, chain, address_prefix, height, "
                "block_hash, block_time_ms) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (singleton) DO UPDATE SET height = EXCLUDED.height, "
                "block_hash = EXCLUDED.block_hash, block_time_ms = EXCLUDED.block_time_ms, "
                "updated_at = now()",
                (
                    hex0x(identity.genesis_hash),
                    identity.chain,
                    identity.hrp,
                    height,
                    block_hash,
                    time_ms,
                ),
            )
        return True

    def _check_same(self, height: int, block_hash: str) -> None:
        row = self.conn.execute("SELECT hash FROM blocks WHERE height = %s", (height,)).fetchone()
        if row is None or row[0] != block_hash:
            stored = None if row is None else row[0]
            raise SinkError(
                f"block {height} is {block_hash} on the node but {stored} in the database: "
                "the database belongs to another chain"
            )

    def _insert_rows(self, rows: BlockRows) -> None:
        cur = self.conn.cursor()
        cur.execute(_insert("blocks", len(rows.block)), rows.block)
        for table in ("genesis_balances", "module_accounts", "extrinsics", "events", "movements"):
            batch = getattr(rows, table)
            if batch:
                cur.executemany(_insert(table, _INSERTS[table]), batch)
        if rows.funds:
            cur.executemany(_upsert("funds", _FUND_COLUMNS, {"created_height"}), rows.funds)
        if rows.loans:
            cur.executemany(_upsert("loans", _LOAN_COLUMNS, {"first_height"}), rows.loans)
        for table in ("fund_reports", "fund_report_purposes"):
            batch = getattr(rows, table)
            if batch:
                cur.executemany(_insert(table, _INSERTS[table]), batch)
