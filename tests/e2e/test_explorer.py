"""The web explorer in a real browser against a live localnet (docs/explorer.md).

A 4-validator localnet (explorer on, as ``credichain localnet`` sets it) runs
the FediCredits example through signed extrinsics
(``scripts/demo_fedicredits.py``: FundZine with five funders, Lucía's credit
with Ana and Ben, reviewers drawn, approval, the loan and a payment). What
the chain then says over RPC (``funds_report``, the drawn reviewers and
seed, ``loans_schedule``...) is written to a JSON file, and
``explorer/tests/e2e.mjs`` drives Debian's Chromium with playwright-core to
check that the pages show exactly that (among it every funder's and
borrower's trust, trust in use and available trust at the fund, read with
``trust_get``), that a new block appears without a reload, and that the
pages fit a 375 px phone screen. Screenshots are kept
in the test's temporary directory and copied to ``explorer/test-artifacts/``
(git-ignored).

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and
``explorer/node_modules`` (``npm ci`` in ``explorer/``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from ledger import codec
from pallets.support.params import param_key
from rpc.client import RpcClient
from scripts.demo_fedicredits import Driver, run_demo
from tests.e2e.cluster import Cluster
from tests.e2e.oracles import MEDIANS, OBSERVATIONS, REGION, observe_health

REPO = Path(__file__).resolve().parents[2]
EXPLORER = REPO / "explorer"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TIMEOUT_S = 150
EXPECTED_SCORE = 5050
EPOCH_CLOSE_TIMEOUT_S = 90  # a localnet epoch is 60 s of block time


def test_explorer_shows_the_fedicredits_example_live(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "the browser test needs Debian's chromium: apt-get install chromium"
    playwright = EXPLORER / "node_modules" / "playwright-core"
    assert playwright.is_dir(), "the browser test needs playwright-core: run `npm ci` in explorer/"
    node = shutil.which("node")
    assert node is not None, "the browser test needs node (>= 20.19) on PATH"

    started = time.monotonic()
    cluster = Cluster(tmp_path / "net")
    cluster.start()
    try:
        cluster.wait_height(2, timeout=90)
        base = f"http://127.0.0.1:{cluster.ports.rpc}"
        index = httpx.get(f"{base}/explorer/", timeout=5)
        assert index.status_code == 200, (
            f"node0 does not serve /explorer/ ({index.status_code}): the localnet config has "
            "rpc.explorer = true, so the node must pass it on to RpcConfig(explorer=...)"
        )
        client = cluster.clients[0]
        driver = Driver(client, log=lambda line: print(line, flush=True), timeout=30)
        observed_epoch = observe_health(driver, client)
        demo = run_demo(client, log=lambda line: print(line, flush=True), timeout=90)
        health = _wait_epoch_closed(client, observed_epoch)
        demo_done = time.monotonic()
        methods = client.call("rpc_methods")["methods"]
        expected = {
            "base": f"{base}/explorer/",
            "artifacts": str(tmp_path),
            "fund": demo.fund,
            "report": client.call("funds_report", demo.fund),
            "max_utilization_bps": _param(client, "credit", "max_utilization"),
            "request": demo.request,
            "reviewers": demo.reviewers,
            "seed": demo.draw_seed,
            "loan": demo.loan,
            "loan_record": client.call("loans_get", demo.loan),
            "schedule": client.call("loans_schedule", demo.loan),
            "repay": demo.extrinsics["repay"],
            "methods": methods,
            "lucia": demo.borrowers["lucia"],
            "lucia_balance": str(client.free_balance(demo.borrowers["lucia"])),
            "lucia_history": client.call_named(
                "account_history", address=demo.borrowers["lucia"], limit=25, order="desc"
            ),
            "lucia_trust": client.call("trust_get", demo.fund, demo.borrowers["lucia"])["trust"],
            "funders_trust": _trust(client, demo.fund, demo.funders),
            "borrowers_trust": _trust(client, demo.fund, list(demo.borrowers.values())),
            "bioregion": REGION,
            "health": health,
            "health_history": client.call("health_history", REGION),
            "demo": asdict(demo),
        }
        config = tmp_path / "expected.json"
        config.write_text(json.dumps(expected, indent=2))
        browser = subprocess.run(
            [node, str(EXPLORER / "tests" / "e2e.mjs"), str(config)],
            cwd=EXPLORER,
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT_S,
        )
        print(browser.stdout)
        kept = _keep_artifacts(tmp_path)
        print(f"screenshots: {tmp_path} (copied to {kept})")
        assert browser.returncode == 0, f"{browser.stderr}\n{browser.stdout}"
        assert "all explorer checks passed" in browser.stdout
        print(
            f"localnet + demo {demo_done - started:.1f} s, "
            f"browser checks {time.monotonic() - demo_done:.1f} s"
        )
        shots = sorted(p.name for p in tmp_path.glob("*.png"))
        assert "02-fund.png" in shots and "09-fund-phone-375.png" in shots, shots
    finally:
        cluster.stop()


def _trust(client: RpcClient, fund: int, accounts: list[str]) -> dict[str, dict[str, str]]:
    """trust_get for each account (T1-T5); after the approval the reviewers' and
    the borrowers' trust is in use, so the explorer must show non-zero figures."""
    views = {a: client.call("trust_get", fund, a) for a in accounts}
    assert any(int(v["in_use"]) > 0 for v in views.values()), views
    return views


def _param(client: RpcClient, section: str, name: str) -> int:
    raw = client.storage(param_key(section, name))
    assert raw is not None, f"the chain has no parameter {section}.{name}"
    value = codec.decode(raw)
    assert isinstance(value, int)
    return value


def _wait_epoch_closed(client: RpcClient, epoch: int) -> dict[str, Any]:
    """Wait for the epoch's medians to stand; check them and the score (H2, H3)."""
    deadline = time.monotonic() + EPOCH_CLOSE_TIMEOUT_S
    while time.monotonic() < deadline:
        health: dict[str, Any] = client.call("health_get", REGION)
        if health["value_epoch"] == epoch:
            assert list(health["components"].values()) == MEDIANS, health
            assert health["score"] == EXPECTED_SCORE, health
            assert health["observations"] == len(OBSERVATIONS), health
            return health
        time.sleep(0.5)
    raise AssertionError(f"epoch {epoch} of {REGION} did not close in {EPOCH_CLOSE_TIMEOUT_S} s")


def _keep_artifacts(source: Path) -> Path:
    target = EXPLORER / "test-artifacts"
    target.mkdir(exist_ok=True)
    for shot in source.glob("*.png"):
        shutil.copy2(shot, target / shot.name)
    return target
