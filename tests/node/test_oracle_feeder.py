"""The oracle feeder: configuration, sources (a local HTTP server and CSV files),
the mapping, and the loop against a fake node and a real single-validator localnet.

A source that is down, slow or returns garbage is logged and skipped; a
component without a valid reading skips the epoch's observation (never a
bogus value); submission is retried with backoff; a real node includes the
observation and the feeder then knows it is done for the epoch.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import structlog
from structlog.testing import capture_logs
from typer.testing import CliRunner

from ledger.crypto import Keypair
from ledger.types import Call
from node.cli.main import mounted_app
from node.oracle.config import ComponentMap, ConfigError, OracleConfig, load_config, parse_config
from node.oracle.feeder import EpochStatus, Feeder, RpcChain, read_components
from node.oracle.mapping import Mapped, to_bps
from node.oracle.sources import SourceError, lookup, read_csv
from pallets.health.storage import COMPONENTS
from rpc.client import RpcConnectionError
from tests.e2e.cluster import Cluster

credichain = mounted_app()

ALICE = Keypair.dev("alice")
STATS = {
    "economy": {"diversity": Decimal("0.7312"), "local_spend": 0.384},
    "coops": {"percent": 27.5},
    "knowledge": {"courses": [4.6, 9]},
}


# ---------------------------------------------------------------- a local HTTP server


class Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, float]]] = {}

    def do_GET(self) -> None:
        status, body, delay = self.routes.get(self.path, (404, b"{}", 0.0))
        time.sleep(delay)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.routes = {
        "/stats": (200, json.dumps(STATS, default=str).encode(), 0.0),
        "/garbage": (200, b"<html>maintenance</html>", 0.0),
        "/nan": (200, b'{"economy": {"diversity": NaN}}', 0.0),
        "/text": (200, b'{"economy": {"diversity": "high"}}', 0.0),
        "/broken": (500, b"{}", 0.0),
        "/slow": (200, b"{}", 1.0),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def dead_url() -> str:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/stats"


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "ecology.csv"
    path.write_text(
        "month,footprint,biocapacity\n2024-05,4.93,3.92\n2024-06,4.90,3.92\n\n", encoding="utf-8"
    )
    return path


def config_data(stats_url: str, csv_path: Path, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rpc": "http://127.0.0.1:9",
        "bioregion": "localnet",
        "dev_account": "alice",
        "sources": [
            {"name": "stats", "kind": "http", "url": stats_url, "timeout": 0.3},
            {"name": "ecology", "kind": "csv", "path": str(csv_path)},
        ],
        "components": {
            "economic_diversity": {"source": "stats", "field": "economy.diversity"},
            "resource_circulation": {"source": "stats", "field": "economy.local_spend", "max": 0.6},
            "cooperative_participation": {"source": "stats", "field": "coops.percent", "max": 50},
            "ecological_health": {
                "source": "ecology", "field": "footprint", "min": "3.9", "max": "11.7",
                "invert": True,
            },
            "knowledge_sharing": {"source": "stats", "field": "knowledge.courses.0", "max": 10},
        },
    }  # fmt: skip
    data.update(extra)
    return data


EXPECTED = [7312, 6400, 5500, 8718, 4600]


# ---------------------------------------------------------------- configuration


def test_config_refuses_bad_files_naming_the_field(tmp_path: Path) -> None:
    good = config_data("http://127.0.0.1:1/x", tmp_path / "x.csv")
    assert isinstance(parse_config(good), OracleConfig)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"bioregion": "Not An Id"}, "bioregion"),
        ({"dev_account": None}, "exactly one of key_file and dev_account"),
        ({"key_file": "k.json"}, "exactly one of key_file and dev_account"),
        ({"poll_seconds": 0}, "poll_seconds"),
        ({"colour": "blue"}, "colour"),
    ]
    for change, needle in cases:
        with pytest.raises(ConfigError, match=needle):
            parse_config({**good, **change})
    missing = json.loads(json.dumps(good))
    del missing["components"]["knowledge_sharing"]
    with pytest.raises(ConfigError, match=r"components\.knowledge_sharing"):
        parse_config(missing)
    unknown = json.loads(json.dumps(good))
    unknown["components"]["ecological_health"]["source"] = "satellite"
    with pytest.raises(
        ConfigError, match=r"components\.ecological_health\.source names 'satellite'"
    ):
        parse_config(unknown)
    flat = json.loads(json.dumps(good))
    flat["components"]["economic_diversity"]["max"] = 0
    with pytest.raises(ConfigError, match=r"components\.economic_diversity: .*min and max"):
        parse_config(flat)
    twice = {**good, "sources": good["sources"] + [good["sources"][0]]}
    with pytest.raises(ConfigError, match="repeats 'stats'"):
        parse_config(twice)
    bad_url = json.loads(json.dumps(good))
    bad_url["sources"][0]["url"] = "ftp://example.org/x"
    with pytest.raises(ConfigError, match=r"sources\.0\.http\.url"):
        parse_config(bad_url)


def test_config_files_in_toml_and_json_with_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eco.csv").write_text("footprint\n4.9\n", encoding="utf-8")
    data = config_data("http://127.0.0.1:1/x", Path("data/eco.csv"))
    (tmp_path / "feeder.json").write_text(json.dumps(data), encoding="utf-8")
    config = load_config(tmp_path / "feeder.json")
    assert config.source("ecology").path == tmp_path / "data" / "eco.csv"  # type: ignore[union-attr]
    (tmp_path / "broken.toml").write_text("bioregion = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid toml"):
        load_config(tmp_path / "broken.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    for sample in sorted(Path("deploy/oracle").glob("*.toml")):
        assert load_config(sample).bioregion  # the shipped samples are valid


# ---------------------------------------------------------------- mapping


def test_mapping_is_exact_floored_clamped_and_inverted() -> None:
    ratio = ComponentMap(source="s", field="f", min=Decimal(0), max=Decimal(1))
    assert to_bps(Decimal("0.7312"), ratio).bps == 7312
    assert to_bps(Decimal("0.99999"), ratio).bps == 9999  # floored, never rounded up
    assert to_bps(Decimal("1.5"), ratio) == Mapped(10_000, clamped=True)
    assert to_bps(Decimal("-3"), ratio).bps == 0 and to_bps(Decimal("-3"), ratio).clamped
    footprint = ComponentMap(
        source="s", field="f", min=Decimal("3.9"), max=Decimal("11.7"), invert=True
    )
    assert to_bps(Decimal("4.90"), footprint).bps == 10_000 - 1282  # ecological health
    assert to_bps(Decimal("3.0"), footprint).bps == 10_000  # below biocapacity: full health
    falling = ComponentMap(source="s", field="f", min=Decimal(100), max=Decimal(0))
    assert to_bps(Decimal(25), falling).bps == 7500  # less is better without invert


# ---------------------------------------------------------------- sources


def test_sources_down_slow_or_garbage_are_source_errors(server: str, csv_file: Path) -> None:
    config = parse_config(config_data(server + "/stats", csv_file))
    with httpx.Client() as http:
        values, missing = read_components(config, http, _NullLog())
    assert values == EXPECTED and missing == []
    assert read_csv(config.source("ecology"))["footprint"] == "4.90"  # type: ignore[arg-type]
    for path, needle in (
        ("/garbage", "did not send JSON"),
        ("/nan", "did not send JSON"),
        ("/broken", "HTTP 500"),
        ("/slow", "did not answer within"),
        ("/absent", "HTTP 404"),
    ):
        bad = parse_config(config_data(server + path, csv_file))
        with httpx.Client() as http, capture_logs() as logs:
            values, missing = read_components(bad, http, _structlog())
        assert values is None
        assert set(missing) == set(COMPONENTS) - {"ecological_health"}
        failed = [e for e in logs if e["event"] == "source_failed"]
        assert failed and needle in failed[0]["error"], (path, logs)
    with pytest.raises(SourceError, match="not a number"):
        lookup({"economy": {"diversity": "high"}}, "economy.diversity")
    with pytest.raises(SourceError, match="missing"):
        lookup({"economy": {}}, "economy.diversity")
    with pytest.raises(SourceError, match="not a number"):
        lookup({"a": [1, 2]}, "a")


def test_a_down_host_and_a_broken_csv_are_skipped(tmp_path: Path, server: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("month,footprint\n", encoding="utf-8")
    config = parse_config(config_data(dead_url(), empty))
    with httpx.Client() as http, capture_logs() as logs:
        values, missing = read_components(config, http, _structlog())
    assert values is None and missing == list(COMPONENTS)
    errors = " | ".join(e["error"] for e in logs if e["event"] == "source_failed")
    assert "unreachable" in errors and "no data row" in errors
    words = tmp_path / "words.csv"
    words.write_text("footprint\nabout five\n", encoding="utf-8")
    config = parse_config(config_data(server + "/stats", words))
    with httpx.Client() as http, capture_logs() as logs:
        values, missing = read_components(config, http, _structlog())
    assert values is None and missing == ["ecological_health"]
    assert any(e["event"] == "reading_failed" for e in logs)


# ---------------------------------------------------------------- the loop, fake node


@dataclass
class FakeChain:
    """A node that includes what it is sent unless told to fail first."""

    epoch: int = 7
    observed: set[str] = field(default_factory=set)
    sent: list[Call] = field(default_factory=list)
    connection_failures: int = 0
    receipt_error: dict[str, Any] | None = None

    def address(self, key: Keypair) -> str:
        return "0x" + key.public.hex()

    def epoch_status(self, bioregion: str) -> EpochStatus:
        return EpochStatus(self.epoch, frozenset(self.observed), frozenset({self.address(ALICE)}))

    def submit(self, key: Keypair, call: Call) -> bytes:
        if self.connection_failures:
            self.connection_failures -= 1
            raise RpcConnectionError("cannot reach the node: connection refused")
        self.sent.append(call)
        if self.receipt_error is None:
            self.observed.add(self.address(key))
        return bytes([len(self.sent)]) * 32

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        if self.receipt_error is not None:
            return {"success": False, "error": self.receipt_error, "height": 3}
        return {"success": True, "error": None, "height": 3, "blockHash": "0x00"}


def feeder(config: OracleConfig, chain: FakeChain, sleeps: list[float]) -> Feeder:
    return Feeder(config, ALICE, chain, httpx.Client(), sleep=sleeps.append, log=_structlog())


def test_feeder_sends_once_per_epoch_and_logs_what_it_sent(server: str, csv_file: Path) -> None:
    chain = FakeChain()
    sleeps: list[float] = []
    fd = feeder(parse_config(config_data(server + "/stats", csv_file)), chain, sleeps)
    with capture_logs() as logs:
        outcome = fd.attempt()
    assert outcome is not None and outcome.status == "included"
    (call,) = chain.sent
    assert call.args == {"bioregion": "localnet", "epoch": 7, "components": EXPECTED}
    sent = next(e for e in logs if e["event"] == "observation_sent")
    assert sent["components"] == dict(zip(COMPONENTS, EXPECTED, strict=True))
    assert fd.attempt() is None and len(chain.sent) == 1  # done for epoch 7
    chain.epoch, chain.observed = 8, set()  # a new epoch: nobody observed it yet
    assert fd.attempt() is not None and len(chain.sent) == 2


def test_a_missing_component_skips_the_epoch_then_a_recovered_source_counts(
    server: str, csv_file: Path
) -> None:
    chain = FakeChain()
    sleeps: list[float] = []
    fd = feeder(parse_config(config_data(server + "/garbage", csv_file)), chain, sleeps)
    with capture_logs() as logs:
        outcome = fd.attempt()
    assert outcome is not None and outcome.status == "skipped" and chain.sent == []
    assert any(e["event"] == "observation_skipped" for e in logs)
    Handler.routes["/garbage"] = Handler.routes["/stats"]  # the source recovers in the epoch
    outcome = fd.attempt()
    assert outcome is not None and outcome.status == "included" and len(chain.sent) == 1
    assert chain.sent[0].args["components"] == EXPECTED


def test_submission_is_retried_with_backoff(server: str, csv_file: Path) -> None:
    chain = FakeChain(connection_failures=2)
    sleeps: list[float] = []
    data = config_data(server + "/stats", csv_file, backoff_seconds=1.5, retries=3)
    fd = feeder(parse_config(data), chain, sleeps)
    with capture_logs() as logs:
        outcome = fd.attempt()
    assert outcome is not None and outcome.status == "included"
    assert sleeps == [1.5, 3.0]  # exponential backoff before each retry
    assert [e["event"] for e in logs].count("submit_failed") == 2
    gave_up = FakeChain(connection_failures=10)
    fd = feeder(parse_config(data), gave_up, [])
    outcome = fd.attempt()
    assert outcome is not None and outcome.status == "gave_up" and gave_up.sent == []


def test_a_failed_receipt_is_final_for_the_epoch(server: str, csv_file: Path) -> None:
    error = {"pallet": "health", "code": "WrongEpoch", "rule": "H3", "message": "stale"}
    chain = FakeChain(receipt_error=error)
    sleeps: list[float] = []
    fd = feeder(parse_config(config_data(server + "/stats", csv_file)), chain, sleeps)
    with capture_logs() as logs:
        outcome = fd.attempt()
    assert outcome is not None and (outcome.status, outcome.detail) == ("failed", "WrongEpoch")
    failed = next(e for e in logs if e["event"] == "observation_failed")
    assert (failed["code"], failed["rule"]) == ("WrongEpoch", "H3")
    assert fd.attempt() is None and len(chain.sent) == 1  # not resent in the same epoch


def test_run_survives_an_unreachable_node(server: str, csv_file: Path) -> None:
    class Down(FakeChain):
        def epoch_status(self, bioregion: str) -> EpochStatus:
            raise RpcConnectionError("cannot reach the node")

    rounds = iter(range(3))
    fd = feeder(parse_config(config_data(server + "/stats", csv_file)), Down(), [])
    with capture_logs() as logs:
        fd.run(stop=lambda: next(rounds, None) is None)
    assert [e["event"] for e in logs].count("node_unreachable") == 3


# ---------------------------------------------------------------- a real node


def test_feeder_against_a_real_localnet(tmp_path: Path, server: str, csv_file: Path) -> None:
    """One validator: the observation is included, read back over RPC, and not resent."""
    cluster = Cluster(tmp_path / "net", validators=1)
    cluster.start()
    try:
        cluster.wait_height(1, timeout=60)
        rpc_url = f"http://127.0.0.1:{cluster.ports.rpc}"
        config = parse_config(
            config_data(server + "/stats", csv_file, rpc=rpc_url, inclusion_timeout=30)
        )
        client = cluster.clients[0]
        with httpx.Client() as http, capture_logs() as logs:
            fd = Feeder(config, ALICE, RpcChain(client), http, log=_structlog())
            outcome = fd.attempt()
            assert outcome is not None and outcome.status == "included", (outcome, logs)
            info = client.call("health_get", "localnet")
            assert RpcChain(client).address(ALICE) in info["observed_this_epoch"]
            assert info["open_epoch"] == outcome.epoch
            again = Feeder(config, ALICE, RpcChain(client), http, log=_structlog()).attempt()
            assert again is not None and again.status == "already"
        assert client.call("health_bioregions")[0]["id"] == "localnet"
        _wallet_commands(rpc_url, tmp_path / "keystore")
    finally:
        cluster.stop()


def _wallet_commands(rpc_url: str, keystore: Path) -> None:
    """``credichain health|commons`` against the same live node."""
    runner = CliRunner()
    imported = runner.invoke(
        credichain,
        ["wallet", "import", "bob", "--keystore", str(keystore), "--dev", "bob", "--localnet"],
    )
    assert imported.exit_code == 0, imported.output
    common = ["--rpc", rpc_url, "--keystore", str(keystore), "--localnet-keys", "--yes"]
    sent = runner.invoke(
        credichain,
        ["health", *common, "observe", "bob", "localnet", "1000", "2000", "3000", "4000", "5000",
         "--json"],
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout.strip().splitlines()[-1])["success"] is True
    shown = runner.invoke(credichain, ["health", "--rpc", rpc_url, "show", "localnet", "--json"])
    assert shown.exit_code == 0, shown.output
    assert len(json.loads(shown.stdout)["observed_this_epoch"]) == 2  # alice (feeder) and bob
    pool = runner.invoke(credichain, ["commons", "--rpc", rpc_url, "pool", "--json"])
    assert pool.exit_code == 0 and int(json.loads(pool.stdout)["balance"]) > 0, pool.output
    bad = runner.invoke(credichain, ["health", *common, "observe", "bob", "localnet", "1", "2"])
    assert bad.exit_code == 1 and "exactly 5 components" in bad.output


# ---------------------------------------------------------------- helpers


class _NullLog:
    def warning(self, *args: Any, **kwargs: Any) -> None:
        pass


def _structlog() -> Any:
    return structlog.get_logger("oracle-test")


def test_once_always_says_what_it_did() -> None:
    from node.oracle.cli import describe
    from node.oracle.feeder import Outcome

    me = "cc1oracle"
    assert describe(None, "cascadia", me) == (
        "nothing to observe: cascadia's open epoch was observed by cc1oracle already"
    )
    assert describe(Outcome(12, "already", detail="observed already"), "cascadia", me) == (
        "cascadia epoch 12: nothing to observe: observed by cc1oracle already"
    )
    assert describe(Outcome(12, "included", [1, 2]), "cascadia", me) == (
        "cascadia epoch 12: observation included"
    )
    skipped = Outcome(13, "skipped", detail="no valid reading for water")
    assert describe(skipped, "cascadia", me) == (
        "cascadia epoch 13: observation skipped (no valid reading for water)"
    )
