"""Documents off the chain, erasable (F10), on a real 4-validator localnet.

A text put to node 0 (``documents_put``) that no request names stays on
node 0 (anyone may put one for free, so it is held there, not gossiped).
Node 3 then stops, and the FediCredits example
(``scripts/demo_fedicredits.py``) submits Lucía's request, whose texts and
budget Lucía put on node 0 first: the chain holds only their hashes, and
once the request is committed node 0 keeps them for good and gossips them
to nodes 1 and 2. Node 3 restarts, syncs the blocks it missed and asks its
peers for the request's texts by hash (``DocumentRequest``): every node
then serves them. Governance purges one of them
(``credit.purge_document``: proposed, voted on in the next round, enacted):
from then on every node answers ``redacted`` and has deleted the file from
its store, refuses the text when it is put again, ``credichain credit show``
and the explorer's request page (in Chromium) say ``redacted``, the other
texts are unchanged, and ``credichain replay`` still verifies every block
(the state never held the text). Before the purge, one node's operator
erases another text with ``credichain node purge-document``: only that
node redacts it. 96 s on the shared 2-core machine (`pytest
tests/e2e/test_documents_live.py`), most of it the review window and two
governance rounds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from pallets.governance.allowlist import encode_call
from rpc.client import RpcConnectionError, RpcError
from scripts.demo_fedicredits import run_demo
from tests.e2e.cluster import Cluster

ALICE, BOB, CHARLIE = (Keypair.dev(n) for n in ("alice", "bob", "charlie"))
REPO = Path(__file__).resolve().parents[2]
EXPLORER = REPO / "explorer"
CHROMIUM = Path("/usr/bin/chromium")
WHAT = "print the new fanzine and improve its distribution"
WHY = "two friends vouch for her"  # the demo's trust_reasons: governance erases it
GOOD = "sales at three fairs"  # the demo's repayment_good: node 2's operator erases it


def _hex(text: str) -> str:
    return "0x" + blake2b256(text.encode("utf-8")).hex()


def _stored(home: Path, text: str) -> Path:
    digest = _hex(text)[2:]
    return home / "data" / "documents" / digest[:2] / digest


def _send(net: Cluster, key: Keypair, call: Call, nonce: int | None = None) -> bytes:
    rpc = net.clients[0]
    if nonce is None:
        nonce = rpc.next_index(encode_address(key.public))
    ext = Extrinsic.create(key, nonce, rpc.best_height() + 200, call, net.genesis_hash)
    return rpc.submit(ext.encode())


def _committed(net: Cluster, hashes: list[bytes]) -> None:
    rpc = net.clients[0]
    net.wait_for(f"{len(hashes)} extrinsics", lambda: all(rpc.receipt(h) for h in hashes), 30)
    receipts = [rpc.receipt(h) for h in hashes]
    assert all(r is not None and r["success"] for r in receipts), receipts


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _statuses(net: Cluster, text: str) -> list[Any]:
    """Each node's status for ``text``; None for a node that does not answer (yet)."""
    found: list[Any] = []
    for client in net.clients:
        try:
            found.append(client.call("documents_get", _hex(text))["status"])
        except (RpcConnectionError, OSError):
            found.append(None)
    return found


def _browser_shows_redacted(net: Cluster, request: int, artifacts: Path) -> None:
    """The explorer's request page (node 1, real Chromium): texts, and the purged one redacted."""
    assert CHROMIUM.exists(), "the browser check needs Debian's chromium: apt-get install chromium"
    node = shutil.which("node")
    assert node is not None, "the browser check needs node (>= 20.19) on PATH"
    expected = {
        "base": f"http://127.0.0.1:{net.ports.rpc + 1}/explorer/",
        "request": request,
        "artifacts": str(artifacts),
        "shown": {"what": WHAT, "repayment-bad": "sales at one fair and savings"},
        "redacted": ["trust-reasons"],
        "erased": {"trust-reasons": WHY},
    }
    config = artifacts / "documents.json"
    config.write_text(json.dumps(expected))
    browser = subprocess.run(
        [node, str(EXPLORER / "tests" / "documents.mjs"), str(config)],
        cwd=EXPLORER,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert browser.returncode == 0, f"{browser.stderr}\n{browser.stdout}"
    assert "all document checks passed" in browser.stdout


def test_a_named_document_is_gossiped_shown_purged_by_governance_and_replay_is_unmoved(
    tmp_path: Path,
) -> None:
    net = Cluster(tmp_path / "net")
    net.start()
    try:
        net.wait_height(2, timeout=90)
        rpc = net.clients[0]

        # a put no request names: held on node 0 only, never gossiped
        put = rpc.call_named("documents_put", text="a note no request names")
        assert put == {"hash": _hex("a note no request names"), "size": 23, "new": True}
        assert rpc.call("documents_get", put["hash"])["text"] == "a note no request names"
        net.wait_height(rpc.best_height() + 2, timeout=30)  # ample time for a gossip
        assert _statuses(net, "a note no request names") == ["available"] + ["unknown"] * 3
        assert not _stored(net.homes[0], "a note no request names").exists()  # pending only

        # the FediCredits request while node 3 is away: hashes on chain
        net.nodes[3].kill()
        demo = run_demo(rpc, log=lambda line: print(line, flush=True), timeout=90)
        request = rpc.call("credit_getRequest", demo.request)
        assert request["trust_reasons_hash"] == _hex(WHY)
        assert not _stored(net.homes[3], WHY).exists()
        # node 3 comes back: block sync, then a pull by hash from its peers
        net.nodes[3].start()
        net.wait_for(
            "node 3 pulled the request's texts",
            lambda: (
                _statuses(net, WHY) == ["available"] * 4
                and _statuses(net, "sales at one fair and savings") == ["available"] * 4
            ),
            timeout=90,
        )
        for client in net.clients:
            assert client.call("documents_get", _hex(WHY))["text"] == WHY
        for home in net.homes:  # kept for good now that a committed request names it
            assert _stored(home, WHY).exists(), home
        assert _statuses(net, "a note no request names") == ["available"] + ["unknown"] * 3

        # one operator's purge: node 2 only
        result = _cli("node", "purge-document", _hex(GOOD), "--home", str(net.homes[2]))
        assert result.returncode == 0, result.stdout + result.stderr
        assert _statuses(net, GOOD) == ["available", "available", "redacted", "available"]
        assert not _stored(net.homes[2], GOOD).exists() and _stored(net.homes[1], GOOD).exists()

        # governance: propose, vote in the next round, enacted
        propose = Call(
            "governance",
            "propose",
            {
                "call": encode_call(
                    "credit", "purge_document", {"document": blake2b256(WHY.encode())}
                )
            },
        )
        _committed(net, [_send(net, ALICE, propose)])
        (proposal,) = [
            p for p in rpc.call("gov_proposals") if p["call"]["function"] == "purge_document"
        ]
        assert proposal["kind"] == "document"
        net.wait_for(
            f"voting round {proposal['round']}",
            lambda: rpc.call("gov_round")["round"] >= proposal["round"],
            timeout=40,
        )
        vote = Call("governance", "vote", {"proposal": proposal["id"], "votes": 3})
        _committed(net, [_send(net, key, vote) for key in (ALICE, BOB, CHARLIE)])
        net.wait_for(
            "the purge enacted",
            lambda: rpc.call("gov_proposal", proposal["id"])["status"] == "enacted",
            timeout=60,
        )
        enacted = rpc.call("gov_proposal", proposal["id"])["enacted_height"]
        net.wait_height(enacted + 1, timeout=30)

        # gone from every node's store and RPC; refused; the other texts unchanged
        answers = [c.call("documents_get", _hex(WHY)) for c in net.clients]
        assert [(a["status"], a["purgedBy"], a["text"]) for a in answers] == [
            ("redacted", "governance", None)
        ] * 4
        for home in net.homes:
            assert not _stored(home, WHY).exists(), home
            assert _stored(home, "sales at one fair and savings").exists(), home
        for client in net.clients:
            try:
                client.call_named("documents_put", text=WHY)
            except RpcError as exc:
                assert "purged by governance" in str(exc.data)
            else:
                raise AssertionError("a purged document was stored again")
        assert rpc.call("credit_getRequest", demo.request)["trust_reasons_hash"] == _hex(WHY)

        url = f"http://127.0.0.1:{net.ports.rpc + 1}"
        shown = _cli("credit", "show", str(demo.request), "--rpc", url)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        flat = " ".join(shown.stdout.split())
        assert "redacted (purged by governance)" in flat, shown.stdout
        assert "sales at one fair and savings" in flat and WHY not in flat

        _browser_shows_redacted(net, demo.request, tmp_path)

        # replay verifies every block: the state never held the text
        top = rpc.best_height()
        genesis = net.homes[0].parent / "genesis.json"
        replay = _cli("replay", "--rpc", url, "--genesis", str(genesis))
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "replay verified" in replay.stdout
        (blocks,) = [line.split()[1] for line in replay.stdout.splitlines() if "  blocks " in line]
        assert int(blocks) >= top >= enacted, replay.stdout  # the purge's block among them
    finally:
        net.stop()
