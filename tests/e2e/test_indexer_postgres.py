"""``credichain index`` follows a live localnet into a real PostgreSQL, through a kill -9 (#20).

A PostgreSQL server from Debian's package runs in a temporary directory
(tests/indexer/pgserver.py; without the package this test fails, naming it).
A 4-validator localnet runs the FediCredits example (scripts/demo_fedicredits.py:
FundZine, Lucía's credit, the reviewers' approval, the loan, a payment) while
``credichain index --postgres URL --rpc URL`` follows node0 in its own
process. Once the fund is in the database, and while the example is still
running, the indexer is killed with SIGKILL; when the example has finished,
it is started again with ``--until`` the node's best block, resumes after
its high-water mark and catches up.

Then the database is checked against the node, read independently over
JSON-RPC (the JSON forms, not the raw bytes the indexer decoded): every
block once, every extrinsic and event exactly once, every money event one
movement; every account's balance in the ``balances`` view is
``balances_getBalance`` at the last indexed block; each fund's book sums to
its cash in ``funds_report`` and its loans' outstanding to its outstanding;
each loan is ``loans_get``'s. Last, the two SQL queries of docs/indexer.md
run as written with ``psql``, and their answers are the node's: PAR30 by
purpose per day from ``funds_report`` at each day's last snapshot, and
Lucía's history from the receipts.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.crypto import blake2b256, decode_address
from rpc.client import RpcClient
from scripts.demo_fedicredits import DemoResult, run_demo
from tests.e2e.cluster import Cluster, running_cluster
from tests.indexer.pgserver import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "indexer.md"
MONEY = {("balances", "Transferred"), ("balances", "Minted"), ("balances", "Burned")}


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as pg:
        yield pg


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(Path(tmp_path_factory.mktemp("indexnet"))) as cluster:
        yield cluster


def _indexer(url: str, rpc: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "node.cli.main", "index", "--postgres", url, "--rpc", rpc,
             "--batch", "4", "--poll", "0.2", "--report-interval", "10", *extra],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("CREDICHAIN_")},
        )  # fmt: skip


def _one(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def _all(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _wait(what: str, check: Any, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{log.read_text()}")


def _batched(client: RpcClient, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(calls), 40):
        answers = client.batch(calls[start : start + 40])
        for answer in answers:
            assert not isinstance(answer, Exception), answer
        out.extend(answers)
    return out


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


def _psql(server: PostgresServer, url: str, query: str, tmp: Path, *args: str) -> list[list[str]]:
    path = tmp / "query.sql"
    path.write_text(query)
    run = subprocess.run(
        [str(server.bin / "psql"), url, "--csv", "-X", "-v", "ON_ERROR_STOP=1", *args,
         "-f", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PGTZ": "UTC"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line.split(",") for line in run.stdout.strip().splitlines()]
    return lines[1:]  # the header row


def test_indexer_streams_a_live_localnet_into_postgres_through_a_kill(
    server: PostgresServer, net: Cluster, tmp_path: Path
) -> None:
    url = server.create_database("credichain")
    rpc = net.clients[0].url
    log = tmp_path / "indexer.log"

    # ---------------------------------------------------------- follow, kill -9, resume
    outcome: dict[str, Any] = {}

    def demo() -> None:
        try:
            with RpcClient(rpc, timeout=10) as client:
                outcome["result"] = run_demo(client, log=lambda _: None, timeout=120)
        except Exception as exc:  # handed to the test thread below
            outcome["error"] = exc

    first = _indexer(url, rpc, log)
    try:
        thread = threading.Thread(target=demo, name="fedicredits-demo")
        thread.start()

        def fund_indexed() -> bool:
            assert first.poll() is None, f"the indexer exited\n{log.read_text()}"
            try:
                return bool(_one(url, "SELECT count(*) FROM funds"))
            except psycopg.errors.UndefinedTable:
                return False  # the schema is not created yet

        _wait("the demo's fund in the database", fund_indexed, 120, log)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    killed_at = int(_one(url, "SELECT height FROM indexer_state"))
    assert thread.is_alive(), "the example ended before the kill: nothing left to resume"
    thread.join(300)
    assert not thread.is_alive(), "the FediCredits example did not finish"
    assert "error" not in outcome, outcome.get("error")
    result: DemoResult = outcome["result"]

    node = net.clients[0]
    target = node.best_height()
    assert target > killed_at + 1
    second = _indexer(url, rpc, log, "--until", str(target))
    try:
        assert second.wait(300) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)
    output = log.read_text()
    assert f"from block {killed_at + 1}" in output, output  # resumed after its mark
    assert f"stopped at block {target}" in output, output

    # ---------------------------------------------------------- the chain, read over RPC
    hashes = _batched(node, [("chain_getBlockHash", [h]) for h in range(target + 1)])
    blocks = _batched(node, [("chain_getBlock", [h]) for h in hashes])
    hooks = _batched(node, [("chain_getEvents", [h]) for h in hashes])
    located = [
        (height, index, "0x" + blake2b256(bytes.fromhex(raw[2:])).hex())
        for height, block in enumerate(blocks)
        for index, raw in enumerate(block["block"]["extrinsics"])
    ]
    receipts = _batched(node, [("chain_getReceipt", [h]) for _, _, h in located])
    events: list[tuple[int, int, int, dict[str, Any]]] = []  # in the chain's order
    for (height, index, _), receipt in zip(located, receipts, strict=True):
        events += [(height, index, e, ev) for e, ev in enumerate(receipt["events"])]
    for height, answer in enumerate(hooks):
        events += [(height, -1, e, ev) for e, ev in enumerate(answer["events"])]
    events.sort(key=lambda x: x[:3])
    at = hashes[target]

    # ---------------------------------------------------------- exactly once
    assert _all(url, "SELECT count(*), min(height), max(height) FROM blocks") == [
        (target + 1, 0, target)
    ]
    assert _all(url, "SELECT height, hash FROM blocks ORDER BY height") == list(enumerate(hashes))
    stored = _all(url, "SELECT height, extrinsic_index, hash FROM extrinsics ORDER BY 1, 2")
    assert stored == located
    assert set(result.extrinsics.values()) <= {h for _, _, h in located}
    keys = "SELECT height, extrinsic_index, event_index FROM {} ORDER BY 1, 2, 3"
    assert _all(url, keys.format("events")) == [e[:3] for e in events]
    money = [
        e[:3]
        for e in events
        if (e[3]["pallet"], e[3]["name"]) in MONEY
        or (e[3]["pallet"], e[3]["name"]) == ("payment", "DustReaped")
        or (
            (e[3]["pallet"], e[3]["name"]) == ("payment", "FeePaid")
            and e[3]["attributes"]["fee"] != "0"
        )
    ]
    assert _all(url, keys.format("movements")) == money

    # ---------------------------------------------------------- the books against the node
    balances = _all(url, "SELECT account, free FROM balances ORDER BY account")
    genesis = {a for (a,) in _all(url, "SELECT account FROM genesis_balances")}
    assert genesis <= {a for a, _ in balances}
    assert result.borrowers["lucia"] in {a for a, _ in balances}
    node_balances = _batched(node, [("balances_getBalance", [a, at]) for a, _ in balances])
    assert [(a, int(free)) for a, free in balances] == [
        (a, int(b["free"])) for (a, _), b in zip(balances, node_balances, strict=True)
    ]
    funds = [f for (f,) in _all(url, "SELECT fund FROM funds ORDER BY fund")]
    assert result.fund in funds
    for fund in funds:
        report = node.call("funds_report", fund, at)
        cash = _one(url, "SELECT coalesce(sum(delta), 0) FROM fund_book WHERE fund = %s", fund)
        assert int(cash) == int(report["cash"]), f"fund {fund}'s book"
        lent = _one(
            url,
            "SELECT coalesce(sum(outstanding), 0) FROM loans WHERE fund = %s AND status = 'active'",
            fund,
        )
        assert int(lent) == int(report["outstanding"]), f"fund {fund}'s loans"
    loans = _all(url, "SELECT loan, status, outstanding, principal_paid, interest_paid FROM loans")
    assert result.loan in {row[0] for row in loans}
    for loan, status, outstanding, principal_paid, interest_paid in loans:
        record = node.call("loans_get", loan, at)
        assert (status, outstanding, principal_paid, interest_paid) == (
            record["status"],
            Decimal(record["outstanding"]),
            Decimal(record["principal_paid"]),
            Decimal(record["interest_paid"]),
        ), f"loan {loan}"

    # ---------------------------------------------------------- the docs' two queries
    par30_sql, history_sql = _doc_queries()
    snapshots = _all(url, "SELECT fund, height, time FROM fund_reports ORDER BY fund, height")
    last_of_day: dict[tuple[int, datetime.date], int] = {}
    for fund, height, seconds in snapshots:
        day = datetime.datetime.fromtimestamp(seconds, datetime.UTC).date()
        last_of_day[(fund, day)] = height  # ascending heights: the last one stays
    expected: dict[tuple[str, str], list[int]] = {}
    for (fund, day), height in sorted(last_of_day.items()):
        report = node.call("funds_report", fund, hashes[height])
        for purpose, row in report["by_purpose"].items():
            sums = expected.setdefault((day.isoformat(), purpose), [0, 0, 0])
            for i, key in enumerate(("loans", "outstanding", "par30")):
                sums[i] += int(row[key])
    assert expected, "no open loan in any report"
    answer = _psql(server, url, par30_sql, tmp_path)
    assert answer == [
        [day, purpose, str(n), str(out), str(late), str(late * 10_000 // out if out else 0)]
        for (day, purpose), (n, out, late) in sorted(expected.items())
    ]

    lucia = result.borrowers["lucia"]
    lucia_hex = "0x" + decode_address(lucia, node.properties().address_prefix).hex()
    history = []
    for height, _, _, event in events:
        a, key = event["attributes"], (event["pallet"], event["name"])
        pool_in = key in {("payment", "FeePaid"), ("payment", "DustReaped")}
        amount = int(a.get("amount", a.get("fee", "0")))
        if key == ("balances", "Transferred") and a["sender"] != a["dest"]:
            delta = amount if a["dest"] == lucia_hex else -amount if a["sender"] == lucia_hex else 0
        elif pool_in and a["who"] == lucia_hex:
            delta = -amount
        elif key == ("balances", "Minted") and a["dest"] == lucia_hex:
            delta = amount
        elif key == ("balances", "Burned") and a["source"] == lucia_hex:
            delta = -amount
        else:
            delta = 0
        if delta:
            history.append((height, delta))
    running, rows = 0, []
    for height, delta in history:
        running += delta
        rows.append((height, delta, running))
    assert running == int(node.call("balances_getBalance", lucia, at)["free"])
    answer = _psql(server, url, history_sql, tmp_path, "-v", f"member={lucia}")
    assert [(int(r[0]), int(r[4]), int(r[5])) for r in answer] == rows
    assert {r[6] for r in answer} >= {"balances.transfer", "loans.repay"}
