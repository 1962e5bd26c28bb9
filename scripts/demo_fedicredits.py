"""Run the FediCredits worked example on a live localnet, over JSON-RPC.

.venv/bin/python scripts/demo_fedicredits.py --rpc http://127.0.0.1:9944 [--json]

Theory of operation
-------------------
Everything goes through signed extrinsics submitted to a running node, as a
wallet would send them (no access to the node's store), and each step waits
for its receipts before the next:

1. alice creates FundZine (contribution 1 000 tokens, 5 %, creative and
   educational purposes); bob, charlie, dave and eve join: five funders,
   size 5 000, every funder's trust 100 (T1);
2. ferdie gives Lucía, Ana and Ben some pocket money (new accounts), and
   alice, the localnet's registrar, registers them as persons of the
   "localnet" bioregion (G1): only a registered person has initial trust (T1);
3. Lucía asks for 300 with Ana and Ben as co-borrowers (C1-C3): she first
   puts the request's texts and her budget on the node (``documents_put``,
   F10: off chain, gossiped to the validators) and signs only their hashes;
   her co-borrowers' signatures make the request valid, and two blocks later the chain draws
   the reviewers from its block seed (C6);
4. once ``credit.review_min`` (20 s on a localnet) has passed since validity,
   every drawn reviewer approves (C8): 300 leave the fund's cash for Lucía
   (C9, L1) and a loan of three installments opens (L2);
5. Lucía pays 100 towards it (L4: accrued interest first, then principal).

Lucía, Ana and Ben have their own dev-style keys (``Keypair.dev("lucia")``:
seed ``blake2b256(b"credichain-dev/lucia")``); the funders are the genesis
dev accounts. The fund, request and loan ids come from the events of the
receipts, so the script can run again on the same chain (a second FundZine).
The result (ids, reviewers, extrinsic hashes) is printed, or returned by
``run_demo`` to a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import codec
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from pallets.support.params import param_key
from rpc.client import RpcClient, RpcConnectionError, RpcError

FUNDER_NAMES = ("alice", "bob", "charlie", "dave", "eve")
BORROWER_NAMES = ("lucia", "ana", "ben")
TOKENS = 10**6  # minor units per token at the localnet's 6 decimals (checked at start)
CONTRIBUTION = 1_000 * TOKENS
AMOUNT = 300 * TOKENS
PAYMENT = 100 * TOKENS
TERM = 90 * 86_400  # seconds: three monthly installments
VALIDITY = 200  # blocks an extrinsic stays valid


class DemoError(RuntimeError):
    """A step of the example did not go as the rules say it should."""


@dataclass
class DemoResult:
    fund: int
    request: int
    loan: int
    funders: list[str]
    borrowers: dict[str, str]
    reviewers: list[str]
    draw_seed: str
    extrinsics: dict[str, str] = field(default_factory=dict)


class Driver:
    """Signs, submits and waits for receipts against one node."""

    def __init__(self, client: RpcClient, log: Callable[[str], None], timeout: float) -> None:
        self.client = client
        self.log = log
        self.timeout = timeout
        self.genesis = client.genesis_hash()
        self.hrp = client.properties().address_prefix

    def address(self, key: Keypair) -> str:
        return encode_address(key.public, self.hrp)

    def submit_all(self, signed: list[tuple[Keypair, Call]]) -> list[dict[str, Any]]:
        """Submit calls (several per signer allowed, in order); wait for every receipt."""
        best = self.client.best_height()
        nonces: dict[bytes, int] = {}
        hashes = []
        for key, call in signed:
            if key.public not in nonces:
                nonces[key.public] = self.client.next_index(self.address(key))
            ext = Extrinsic.create(key, nonces[key.public], best + VALIDITY, call, self.genesis)
            nonces[key.public] += 1
            hashes.append(self.client.submit(ext.encode()))
        receipts = [self.wait_receipt(h) for h in hashes]
        for (key, call), receipt in zip(signed, receipts, strict=True):
            if not receipt["success"]:
                raise DemoError(
                    f"{call.pallet}.{call.function} by {self.address(key)} failed: "
                    f"{receipt['error']}"
                )
        return receipts

    def submit(self, key: Keypair, call: Call) -> dict[str, Any]:
        (receipt,) = self.submit_all([(key, call)])
        return receipt

    def wait_receipt(self, tx_hash: bytes) -> dict[str, Any]:
        found = self.wait_for(f"receipt of 0x{tx_hash.hex()}", lambda: self.client.receipt(tx_hash))
        return dict(found)

    def wait_for(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.25)
        raise DemoError(f"timed out after {self.timeout}s waiting for {what}")

    def param(self, section: str, name: str) -> int:
        raw = self.client.storage(param_key(section, name))
        if raw is None:
            raise DemoError(f"the chain has no parameter {section}.{name}")
        value = codec.decode(raw)
        if not isinstance(value, int):
            raise DemoError(f"parameter {section}.{name} is not an integer")
        return value

    def block_time_s(self) -> int:
        header = self.client.get_header()
        if header is None:
            raise DemoError("the node has no best block")
        return int(header["timestamp"]) // 1000


def _event(receipt: dict[str, Any], pallet: str, name: str) -> dict[str, Any]:
    for event in receipt["events"]:
        if event["pallet"] == pallet and event["name"] == name:
            attributes: dict[str, Any] = event["attributes"]
            return attributes
    raise DemoError(f"no {pallet}.{name} event in the receipt of block {receipt['blockHash']}")


def _registration(key: Keypair, name: str) -> dict[str, Any]:
    """``members.register`` arguments: the attestation hash stands for the checked document."""
    attestation = blake2b256(b"credichain-demo/attestation/" + name.encode())
    return {"member": key.public, "bioregion": "localnet", "attestation": attestation}


def _put_document(client: RpcClient, text: str) -> bytes:
    """Put a text on the node's document store (F10); its hash, checked."""
    answer = client.call_named("documents_put", text=text)
    digest = blake2b256(text.encode("utf-8"))
    if answer["hash"] != "0x" + digest.hex():
        raise DemoError(f"the node named a document {answer['hash']}, not 0x{digest.hex()}")
    return digest


def run_demo(
    client: RpcClient, *, log: Callable[[str], None] = print, timeout: float = 60.0
) -> DemoResult:
    """Drive the whole example against ``client``'s node; raise ``DemoError`` if a step fails."""
    chain = Driver(client, log, timeout)
    decimals = client.properties().token_decimals
    if 10**decimals != TOKENS:
        raise DemoError(f"the example expects 6 token decimals, the chain has {decimals}")
    funders = [Keypair.dev(name) for name in FUNDER_NAMES]
    lucia, ana, ben = (Keypair.dev(name) for name in BORROWER_NAMES)
    ferdie = Keypair.dev("ferdie")
    result_hashes: dict[str, str] = {}

    log("1. alice creates FundZine; bob, charlie, dave and eve join")
    create = Call(
        "funds",
        "create",
        {
            "name": "FundZine",
            "scope": "fanzine makers of the neighbourhood",
            "bioregion": None,
            "policy_hash": blake2b256(b"FundZine policy"),
            "conduct_hash": blake2b256(b"FundZine code of conduct"),
            "contribution": CONTRIBUTION,
            "rate_bps": 500,
            "purposes": ["creative_project", "educational_initiative"],
        },
    )
    created = chain.submit(funders[0], create)
    fund = int(_event(created, "funds", "FundCreated")["fund"])
    result_hashes["fund_create"] = created["extrinsicHash"]
    chain.submit_all([(key, Call("funds", "join", {"fund": fund})) for key in funders[1:]])
    if client.call("funds_get", fund)["status"] != "active":
        raise DemoError(f"fund {fund} is not active after five funders joined (F2)")

    log("2. ferdie gives Lucía, Ana and Ben 10 tokens each")
    chain.submit_all(
        [
            (ferdie, Call("balances", "transfer", {"dest": key.public, "amount": 10 * TOKENS}))
            for key in (lucia, ana, ben)
        ]
    )

    log("2b. alice, the registrar, registers Lucía, Ana and Ben as persons (G1, T1)")
    chain.submit_all(
        [
            (funders[0], Call("members", "register", _registration(key, name)))
            for key, name in zip((lucia, ana, ben), BORROWER_NAMES, strict=True)
            if client.call("members_get", encode_address(key.public))["member"] is None
        ]
    )

    log("3. Lucía asks for 300 with Ana and Ben; they sign")
    texts = {
        name: _put_document(client, text)
        for name, text in (
            ("what_hash", "print the new fanzine and improve its distribution"),
            ("repayment_good_hash", "sales at three fairs"),
            ("repayment_bad_hash", "sales at one fair and savings"),
            ("trust_reasons_hash", "two friends vouch for her"),
            ("budget", "300 copies of the fanzine: paper 180, printing 120"),
        )
    }
    budget = texts.pop("budget")
    submitted = chain.submit(
        lucia,
        Call(
            "credit",
            "submit",
            {
                "fund": fund,
                "borrowers": [lucia.public, ana.public, ben.public],
                "amount": AMOUNT,
                "purpose": "creative_project",
                "recipient": lucia.public,
                "term": TERM,
                "installments": 3,
                **texts,
                "documents": [budget],
                "providers": [],
            },
        ),
    )
    request = int(_event(submitted, "credit", "RequestSubmitted")["request"])
    result_hashes["credit_submit"] = submitted["extrinsicHash"]
    chain.submit_all([(key, Call("credit", "sign", {"request": request})) for key in (ana, ben)])

    def drawn() -> dict[str, Any] | None:
        found: dict[str, Any] = client.call("credit_getRequest", request)
        return found if found["status"] != "awaiting_signatures" and found["draws"] else None

    record = chain.wait_for("the reviewer draw (C6)", drawn)
    if record["status"] != "in_review":
        raise DemoError(f"request {request} is {record['status']}, not in review")
    reviewers: list[str] = record["reviewers"]
    log(f"   reviewers drawn: {', '.join(reviewers)}")

    review_min = chain.param("credit", "review_min")
    opens = int(record["valid_at"]) + review_min
    log(f"4. after review_min ({review_min} s) from validity, every reviewer approves")
    chain.wait_for("the review window (C8)", lambda: chain.block_time_s() > opens)
    by_address = {chain.address(key): key for key in funders}
    conclusions = blake2b256(b"we read the budget and met Lucia, Ana and Ben")
    reviews = chain.submit_all(
        [
            (
                by_address[reviewer],
                Call(
                    "credit",
                    "review",
                    {"request": request, "verdict": "approve", "conclusions_hash": conclusions},
                ),
            )
            for reviewer in reviewers
        ]
    )
    _event(reviews[-1], "loans", "Disbursed")
    result_hashes["approval"] = reviews[-1]["extrinsicHash"]
    loan = request  # a loan carries the id of the request it comes from (L1)

    log("5. Lucía pays 100 towards her loan")
    paid = chain.submit(lucia, Call("loans", "repay", {"loan": loan, "amount": PAYMENT}))
    _event(paid, "loans", "Repaid")
    result_hashes["repay"] = paid["extrinsicHash"]

    return DemoResult(
        fund=fund,
        request=request,
        loan=loan,
        funders=[chain.address(key) for key in funders],
        borrowers={
            name: chain.address(key)
            for name, key in zip(BORROWER_NAMES, (lucia, ana, ben), strict=True)
        },
        reviewers=reviewers,
        draw_seed=str(record["draws"][-1]["seed"]),
        extrinsics=result_hashes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default="http://127.0.0.1:9944", help="a localnet node's RPC URL")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for a step")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    log: Callable[[str], None] = (lambda _: None) if args.json else print
    try:
        with RpcClient(args.rpc, timeout=10) as client:
            result = run_demo(client, log=log, timeout=args.timeout)
    except (DemoError, RpcError, RpcConnectionError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
