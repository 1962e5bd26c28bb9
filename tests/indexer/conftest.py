"""A PostgreSQL server for the session (Debian's package, a temporary directory), a new
database for each test that asks for one."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.indexer.pgserver import PostgresServer

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def db_url(pg_server: PostgresServer) -> str:
    return pg_server.create_database(f"test_{next(_names)}")
