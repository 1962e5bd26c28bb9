"""Every query's answer validates against its published schema, on a live localnet (#22).

A 4-validator localnet runs the FediCredits example (scripts/demo_fedicredits.py:
FundZine, Lucía's credit with Ana and Ben, the drawn reviewers' approval, the
loan and a payment), and beside it what the other pallets' queries need to
have something to return: two more funds that federate (X1: a consent
pending, then the agreement once both 30 s consent periods have passed), a
governance proposal with ballots that places one of them in the localnet
bioregion (G4: alice proposes, charlie and ferdie vote in its round), the
oracles' observations, and the close of the first epoch (60 s on a localnet),
which publishes the bioregion's health value (H3) and grants the placed fund
a share of the commons pool (R2); and a failed extrinsic (a late join
refused by F4).

Then ``rpc_discover`` is read, and every method it publishes with a result
schema is called over HTTP: with parameters taken from what the chain now
holds (the demo's ids and addresses, block hashes from its receipts), and
once more with parameters that make it answer null, empty or zero where the
schema allows. Every answer is validated with ``jsonschema`` against the
published schema, its ``$ref``s resolved in the OpenRPC document. A failure
names the method, the case and the validation error.

The cases must cover every query the runtime declares (``state_getMetadata``
lists them: they are the generated ``<namespace>_<name>`` methods), so a new
query without a case fails here. Every other method with a result schema is
called too (WebSocket-only ones excepted: HTTP cannot call them); one this
file has no case for is called with parameters chosen by their names. A
query's schema must also be typed: no object without its properties (the
``{"type": ["object", "null"]}`` that issue 22 found).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from pallets.governance.allowlist import encode_call
from pallets.support.params import param_key
from rpc.client import RpcClient
from scripts.demo_fedicredits import DemoResult, Driver, run_demo
from tests.e2e.cluster import Cluster
from tests.e2e.oracles import REGION, observe_health

DOCUMENT_URI: Final = "urn:credichain:openrpc"
FEDERATION_OPTIONS: Final = 7  # recognize trust, lend reviewers, share losses (X1)
SMALL_CONTRIBUTION: Final = 10 * 10**6  # 10 tokens
NOBODY: Final = Keypair.from_seed(blake2b256(b"e2e-query-schemas/nobody"))
UNKNOWN_ID: Final = 4_000_000_000
UNKNOWN_HASH: Final = "0x" + "00" * 32
RUNTIME_BUDGET_S: Final = 150  # a bound on the whole test; ~65 s on a 2-core machine


def _log(line: str) -> None:
    print(line, flush=True)


# ---------------------------------------------------------------- what a case expects


def present(value: Any) -> bool:
    """An answer with something in it: not null, not an empty list or object."""
    return bool(value not in (None, [], {}))


def null(value: Any) -> bool:
    return value is None


def empty(value: Any) -> bool:
    return value == []


def anything(value: Any) -> bool:
    """Any answer (the schema still has to hold): its content depends on timing."""
    del value
    return True


@dataclass(frozen=True)
class Case:
    label: str
    params: dict[str, Any]
    expect: Callable[[Any], bool] = present


@dataclass(frozen=True)
class Chain:
    """What the chain holds once set up: ids, addresses and blocks to query with."""

    demo: DemoResult
    federating: tuple[int, int]  # two funds that proposed to federate with each other
    setup_block: str  # the block of the first federation proposal, before the demo
    consents_at: str  # a block where one fund's consent waits for the other's
    proposal: int
    voting_round: int
    voter: str
    early: str  # block 1, before any of it happened
    repay_block: str
    repay_height: int
    failed_receipt: str
    transfer: str  # a signed transfer, never submitted (hex)
    extra_transfer: str  # a signed transfer that author_submitExtrinsic sends (hex)
    nobody: str


# ---------------------------------------------------------------- setting the chain up


def _event(receipt: dict[str, Any], pallet: str, name: str) -> dict[str, Any]:
    for event in receipt["events"]:
        if (event["pallet"], event["name"]) == (pallet, name):
            attributes: dict[str, Any] = event["attributes"]
            return attributes
    raise AssertionError(f"no {pallet}.{name} event in {receipt}")


def _fund(name: str) -> Call:
    return Call(
        "funds",
        "create",
        {
            "name": name,
            "scope": "schema checks of issue 22",
            "bioregion": None,
            "policy_hash": blake2b256(name.encode() + b" policy"),
            "conduct_hash": blake2b256(name.encode() + b" conduct"),
            "contribution": SMALL_CONTRIBUTION,
            "rate_bps": 300,
            "purposes": ["community_infrastructure"],
        },
    )


def _before_demo(client: RpcClient) -> tuple[int, int, tuple[int, int], int]:
    """Two new funds, a governance proposal to place the first one in the localnet
    bioregion, the first fund's federation proposal, the oracles' observations.

    Returns the proposal, its voting round, the two funds and the height of the
    federation proposal.
    """
    chain = Driver(client, log=_log, timeout=60)
    alice, bob, charlie, dave, eve = (
        Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve")
    )
    made = chain.submit_all([(alice, _fund("Federa A")), (bob, _fund("Federa B"))])
    pair = (int(_event(made[0], "funds", "FundCreated")["fund"]),
            int(_event(made[1], "funds", "FundCreated")["fund"]))  # fmt: skip
    # G4: place the first fund in the localnet bioregion, so that the epoch's close
    # publishes a health value and grants it a share of the commons pool (R2)
    place = encode_call("health", "set_fund_bioregion", {"fund": pair[0], "bioregion": REGION})
    calls = [(alice, Call("governance", "propose", {"call": place}))]
    calls += [(key, Call("funds", "join", {"fund": pair[0]})) for key in (bob, charlie, dave, eve)]
    calls += [
        (key, Call("funds", "join", {"fund": pair[1]})) for key in (alice, charlie, dave, eve)
    ]
    proposed = _event(chain.submit_all(calls)[0], "governance", "Proposed")
    federate = chain.submit(alice, _federate(*pair))
    observe_health(chain, client)
    return int(proposed["proposal"]), int(proposed["round"]), pair, federate["height"]


def _federate(fund: int, partner: int) -> Call:
    """A funder of ``fund`` proposes to federate with ``partner`` (X1, a consent proposal F8)."""
    args = {
        "fund": fund,
        "partner": partner,
        "options": FEDERATION_OPTIONS,
        "reason_hash": blake2b256(b"two small funds federate"),
    }
    return Call("federation", "propose", args)


def _vote(
    client: RpcClient, proposal: int, voting_round: int, pair: tuple[int, int], federated_at: int
) -> str:
    """Charlie and ferdie vote on the proposal in its round, and the second fund answers
    the first one's federation proposal (later, so that the first one's consent stands
    alone for a while: X1); returns charlie's address."""
    chain = Driver(client, log=_log, timeout=60)
    chain.wait_for(
        f"governance round {voting_round}",
        lambda: client.call("gov_round")["round"] >= voting_round,
    )
    header = client.get_header(client.block_hash(federated_at))
    assert header is not None
    first = int(header["timestamp"]) // 1000  # the consents must pass at different times
    chain.wait_for("two seconds after the first", lambda: chain.block_time_s() >= first + 2)
    charlie, ferdie = Keypair.dev("charlie"), Keypair.dev("ferdie")
    chain.submit_all(
        [
            (charlie, Call("governance", "vote", {"proposal": proposal, "votes": 3})),
            (ferdie, Call("governance", "vote", {"proposal": proposal, "votes": -1})),
            (Keypair.dev("bob"), _federate(pair[1], pair[0])),
        ]
    )
    return chain.address(charlie)


def _hash_at(client: RpcClient, height: int) -> str:
    block = client.block_hash(height)
    assert block is not None, f"no block at height {height}"
    return "0x" + block.hex()


def _lone_consent(client: RpcClient, pair: tuple[int, int], since: int) -> str:
    """The first block from height ``since`` where one fund's consent waits for the other's."""
    for height in range(since, client.best_height() + 1):
        at = _hash_at(client, height)
        if client.call("federation_get", pair[0], pair[1], at)["consents"]:
            return at
    raise AssertionError(f"no block from {since} where funds {pair} have a pending consent")


def _epoch_closed(client: RpcClient, cluster: Cluster, proposal: int) -> None:
    """Wait for the placement to be enacted and the epoch to close after it: the oracles'
    medians published (H3) and the placed fund granted a share of the pool (R2)."""

    def closed() -> bool:
        enacted = client.call("gov_proposal", proposal)["status"] == "enacted"
        health = client.call("health_get", REGION)
        return bool(enacted and health["value_epoch"] is not None)

    cluster.wait_for("the epoch's close (a localnet epoch is 60 s)", closed, timeout=90)
    rounds = client.call("commons_redistributions")
    assert rounds and rounds[0]["grants"], f"no grant at the epoch's close: {rounds}"


def _late_join(client: RpcClient, fund: int, cluster: Cluster) -> str:
    """Ferdie joins an active fund without consent: a failed extrinsic (F4); its hash."""
    ferdie = Keypair.dev("ferdie")
    nonce = client.next_index(encode_address(ferdie.public))
    call = Call("funds", "join", {"fund": fund})
    ext = Extrinsic.create(ferdie, nonce, client.best_height() + 100, call, cluster.genesis_hash)
    tx_hash = client.submit(ext.encode())
    cluster.wait_for("the late join's receipt", lambda: client.receipt(tx_hash) is not None)
    receipt = client.receipt(tx_hash)
    assert receipt is not None and not receipt["success"], receipt
    return "0x" + tx_hash.hex()


def _signed_transfer(client: RpcClient, cluster: Cluster, key: Keypair, nonce: int) -> str:
    call = Call("balances", "transfer", {"dest": NOBODY.public, "amount": 10**6})
    valid_until = client.best_height() + 100
    return (
        "0x" + Extrinsic.create(key, nonce, valid_until, call, cluster.genesis_hash).encode().hex()
    )


# ---------------------------------------------------------------- the cases


def _query_cases(c: Chain) -> dict[str, list[Case]]:
    """One or more cases per declared query: real answers first, then null/empty ones."""
    demo = c.demo
    lucia = demo.borrowers["lucia"]
    funder = demo.funders[0]
    fund, loan, request = demo.fund, demo.loan, demo.request
    a, b = c.federating
    return {
        "balances_getBalance": [
            Case("a borrower", {"address": lucia}),
            Case("an unknown account", {"address": c.nobody}, lambda v: v == {"free": "0"}),
        ],
        "balances_totalIssuance": [
            Case("now", {}),
            Case("at block 1", {"at": c.early}),
        ],
        "funds_get": [
            Case("FundZine", {"fund": fund}),
            Case("a federated fund", {"fund": a}),
            Case("an unknown fund", {"fund": UNKNOWN_ID}, null),
        ],
        "funds_list": [Case("now", {}), Case("at block 1", {"at": c.early}, empty)],
        "funds_report": [
            Case("FundZine", {"fund": fund}),
            Case("an unknown fund", {"fund": UNKNOWN_ID}, null),
        ],
        "trust_get": [
            Case("a funder", {"fund": fund, "address": funder}),
            Case("a borrower", {"fund": fund, "address": lucia}),
            Case("an unknown account", {"fund": fund, "address": c.nobody}),
        ],
        "credit_getRequest": [
            Case("Lucía's request", {"request": request}),
            Case("before the demo", {"request": request, "at": c.setup_block}, null),
            Case("an unknown request", {"request": UNKNOWN_ID}, null),
        ],
        "credit_listRequests": [
            Case("FundZine", {"fund": fund}),
            Case("of one status", {"fund": fund, "status": "approved"}, anything),
            Case("a fund without requests", {"fund": a}, empty),
            Case("none declined", {"fund": fund, "status": "declined"}, empty),
        ],
        "credit_redraw": [
            Case("Lucía's request", {"request": request}),
            Case("an unknown request", {"request": UNKNOWN_ID}, null),
        ],
        "loans_get": [
            Case("Lucía's loan", {"loan": loan}),
            Case("an unknown loan", {"loan": UNKNOWN_ID}, null),
        ],
        "loans_schedule": [
            Case("Lucía's loan", {"loan": loan}),
            Case("an unknown loan", {"loan": UNKNOWN_ID}, null),
        ],
        "federation_agreements": [
            Case("every fund", {}),
            Case("one fund", {"fund": a}),
            Case("a fund with none", {"fund": fund}, empty),
        ],
        "federation_get": [
            Case(
                "consents pending",
                {"fund": a, "partner": b, "at": c.consents_at},
                lambda v: len(v["consents"]) == 1 and v["agreement"] is None,
            ),
            Case("in force", {"fund": a, "partner": b}, lambda v: v["agreement"] is not None),
            Case(
                "two funds with nothing between them",
                {"fund": fund, "partner": a},
                lambda v: v["agreement"] is None and v["consents"] == [],
            ),
        ],
        "federation_debts": [
            Case("every fund", {}),
            Case("one fund", {"fund": fund}),
        ],
        "federation_getLoss": [Case("a loan with no loss", {"loan": loan}, null)],
        "federation_getSplit": [Case("a request not split", {"request": request}, null)],
        "members_get": [
            Case("a registered borrower", {"address": lucia}, lambda v: v["member"] is not None),
            Case("the registrar", {"address": funder}, lambda v: v["registrar_of"] == [REGION]),
            Case(
                "an unknown account",
                {"address": c.nobody},
                lambda v: v["member"] is None and v["registrar_of"] == [],
            ),
        ],
        "members_list": [
            Case("every bioregion", {}),
            Case("one bioregion", {"bioregion": REGION}),
            Case("an unknown bioregion", {"bioregion": "nowhere"}, empty),
        ],
        "members_registrars": [
            Case("every bioregion", {}),
            Case("one bioregion", {"bioregion": REGION}),
            Case("an unknown bioregion", {"bioregion": "nowhere"}, empty),
        ],
        "gov_proposals": [
            Case("now", {}),
            Case("the newest one", {"limit": 1}, lambda v: len(v) == 1),
            Case("at block 1", {"at": c.early}, empty),
        ],
        "gov_proposal": [
            Case(
                "enacted, with ballots",
                {"proposal": c.proposal},
                lambda v: v["status"] == "enacted" and len(v["ballots"]) == 2,
            ),
            Case(
                "before the votes",
                {"proposal": c.proposal, "at": c.setup_block},
                lambda v: v["ballots"] == [],
            ),
            Case("an unknown proposal", {"proposal": UNKNOWN_ID}, null),
        ],
        "gov_voter": [
            Case(
                "a voter", {"round": c.voting_round, "address": c.voter}, lambda v: v["spent"] == 9
            ),
            Case(
                "the proposer, who did not vote",
                {"round": c.voting_round, "address": funder},
                lambda v: v["spent"] == 0,
            ),
            Case("not a member", {"round": 0, "address": c.nobody}, lambda v: v["member"] is False),
        ],
        "gov_round": [Case("now", {}), Case("at block 1", {"at": c.early})],
        "health_bioregions": [Case("now", {}), Case("at block 1", {"at": c.early})],
        "health_get": [
            Case(
                "the localnet's bioregion",
                {"bioregion": REGION},
                lambda v: v["components"] is not None and v["funds"] == [c.federating[0]],
            ),
            Case("at block 1", {"bioregion": REGION, "at": c.early}),
            Case("an unknown bioregion", {"bioregion": "nowhere"}, null),
        ],
        "health_history": [
            Case("the localnet's bioregion", {"bioregion": REGION}),
            Case("the last epoch", {"bioregion": REGION, "limit": 1}, lambda v: len(v) == 1),
            Case("at block 1", {"bioregion": REGION, "at": c.early}, empty),
            Case("an unknown bioregion", {"bioregion": "nowhere"}, null),
        ],
        "commons_pool": [Case("now", {}), Case("at block 1", {"at": c.early})],
        "commons_redistributions": [
            Case("now", {}, lambda v: bool(v and v[0]["grants"])),
            Case("the last one", {"limit": 1}, lambda v: len(v) == 1),
            Case("at block 1", {"at": c.early}, empty),
        ],
        "commons_issuance": [Case("now", {}), Case("at block 1", {"at": c.early})],
    }


def _other_cases(c: Chain) -> dict[str, list[Case]]:
    """The methods that are not declared queries, where HTTP can call them."""
    demo = c.demo
    lucia = demo.borrowers["lucia"]
    key = "0x" + param_key("credit", "review_min").hex()
    return {
        "payment_queryInfo": [
            Case("a transfer", {"extrinsic": c.transfer}),
            Case("at block 1", {"extrinsic": c.transfer, "at": c.early}),
        ],
        "system_name": [Case("no parameters", {})],
        "system_version": [Case("no parameters", {})],
        "system_chain": [Case("no parameters", {})],
        "system_properties": [Case("no parameters", {})],
        "system_health": [Case("no parameters", {})],
        "system_peers": [Case("three validators", {}, lambda v: len(v) == 3)],
        "chain_getBlockHash": [
            Case(
                "the repayment's height", {"height": c.repay_height}, lambda v: v == c.repay_block
            ),
            Case("the best block", {}),
            Case("a height not reached", {"height": 10**12}, null),
        ],
        "chain_getHeader": [
            Case("the repayment's block", {"hash": c.repay_block}),
            Case("the best block", {}),
            Case("an unknown block", {"hash": UNKNOWN_HASH}, null),
        ],
        "chain_getBlock": [
            Case("the repayment's block", {"hash": c.repay_block}),
            Case("an unknown block", {"hash": UNKNOWN_HASH}, null),
        ],
        "chain_getFinalizedHead": [Case("no parameters", {})],
        "chain_getReceipt": [
            Case("the repayment", {"extrinsic_hash": demo.extrinsics["repay"]}),
            Case(
                "a failed extrinsic",
                {"extrinsic_hash": c.failed_receipt},
                lambda v: v["error"]["rule"] == "F4",
            ),
            Case("an unknown extrinsic", {"extrinsic_hash": UNKNOWN_HASH}, null),
        ],
        "account_history": [
            Case("a borrower", {"address": lucia}, lambda v: v["total"] > 0 and v["entries"]),
            Case(
                "newest first, two a page",
                {"address": lucia, "limit": 2, "order": "desc"},
                lambda v: len(v["entries"]) == 2 and v["next"] is not None,
            ),
            Case("an unknown account", {"address": c.nobody}, lambda v: v["entries"] == []),
        ],
        "funds_statement": [
            Case("the demo's fund", {"fund": demo.fund}, lambda v: v["entries"] and v["total"] > 0),
            Case(
                "blocks up to the repayment",
                {"fund": demo.fund, "from_height": 1, "to_height": c.repay_height},
                lambda v: all(e["height"] <= c.repay_height for e in v["entries"]),
            ),
            Case("a fund that is not there", {"fund": 4_000_000}, lambda v: v["entries"] == []),
        ],
        "account_nextIndex": [
            Case("a borrower", {"address": lucia}, lambda v: v > 0),
            Case("an unknown account", {"address": c.nobody}, lambda v: v == 0),
        ],
        "state_getStorage": [
            Case("a parameter", {"key": key}),
            Case("at block 1", {"key": key, "at": c.early}),
            Case("an absent key", {"key": "0x00"}, null),
        ],
        "state_getReadProof": [
            Case("a parameter", {"keys": [key], "at": c.repay_block}),
            Case("no keys", {"keys": []}),
        ],
        "state_getMetadata": [Case("no parameters", {})],
        "rpc_methods": [Case("no parameters", {})],
        "rpc_discover": [Case("no parameters", {})],
        "author_submitExtrinsic": [Case("a transfer", {"extrinsic": c.extra_transfer})],
        # F10: the document store beside the chain (the demo put Lucía's texts)
        "documents_put": [
            Case("a text", {"text": "notes of a reviewer"}),
            Case("binary data", {"data": "0x00ff"}),
        ],
        "documents_get": [
            Case(
                "a text of the demo's request",
                {"hash": "0x" + blake2b256(b"sales at three fairs").hex()},
                lambda v: v["status"] == "available" and v["text"] == "sales at three fairs",
            ),
            Case("an unknown document", {"hash": UNKNOWN_HASH}, lambda v: v["status"] == "unknown"),
        ],
        # published only where unsafe methods are on, as author_pendingExtrinsics
        "documents_purge": [Case("an unknown document", {"hash": UNKNOWN_HASH})],
        # published only where unsafe methods are on (not on a localnet by default)
        "author_pendingExtrinsics": [Case("the pool", {}, lambda v: isinstance(v, list))],
    }


def _by_name(c: Chain, entry: dict[str, Any]) -> list[Case]:
    """A case for a method this file does not list, its parameters chosen by their names."""
    known: dict[str, Any] = {
        "hash": c.repay_block,
        "at": c.repay_block,
        "block": c.repay_block,
        "height": c.repay_height,
        "number": c.repay_height,
        "extrinsic_hash": c.demo.extrinsics["repay"],
        "address": c.demo.borrowers["lucia"],
        "fund": c.demo.fund,
        "loan": c.demo.loan,
        "request": c.demo.request,
    }
    params = {}
    for param in entry["params"]:
        if param["name"] in known:
            params[param["name"]] = known[param["name"]]
        else:
            assert not param["required"], (
                f"{entry['name']}: no case for it, and its parameter {param['name']!r} "
                "cannot be chosen by its name; add a case to tests/e2e/test_query_schemas.py"
            )
    return [Case("parameters chosen by name", params, anything)]


# ---------------------------------------------------------------- schemas


def _validators(document: dict[str, Any]) -> dict[str, jsonschema.protocols.Validator]:
    """Each method's result validator, ``$ref``s resolved against the whole document."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT7)
    )
    out = {}
    for index, entry in enumerate(document["methods"]):
        schema = entry["result"]["schema"]
        jsonschema.Draft7Validator.check_schema(schema)
        pointer = {"$ref": f"{DOCUMENT_URI}#/methods/{index}/result/schema"}
        out[entry["name"]] = jsonschema.Draft7Validator(pointer, registry=registry)
    return out


def _untyped(schema: Any, path: str = "result") -> Iterator[str]:
    """Places in a schema where an object is published without its fields."""
    if isinstance(schema, dict):
        types = schema.get("type")
        kinds = types if isinstance(types, list) else [types]
        if "object" in kinds and not ({"properties", "additionalProperties"} & set(schema)):
            yield path
        for key, value in schema.items():
            if key != "description":
                yield from _untyped(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _untyped(value, f"{path}[{i}]")


def _check(client: RpcClient, validator: Any, method: str, case: Case) -> tuple[list[str], Any]:
    """Call ``method`` as ``case`` says; the problems found (none if it validates), the answer."""
    where = f"{method} ({case.label}, params {case.params})"
    try:
        answer = client.call_named(method, **case.params)
    except Exception as exc:
        return [f"{where}: the call failed: {exc!r}"], None
    problems = [
        f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path)) or 'the top'} "
        f"(schema {'/'.join(map(str, error.absolute_schema_path))})"
        for error in validator.iter_errors(answer)
    ]
    if not case.expect(answer):
        problems.append(f"{where}: unexpected answer {str(answer)[:300]}")
    return problems, answer


# ---------------------------------------------------------------- the test


def test_every_query_answer_validates_against_its_published_schema(tmp_path: Path) -> None:
    started = time.monotonic()
    cluster = Cluster(tmp_path / "net")
    cluster.start()
    try:
        cluster.wait_height(2, timeout=60)
        client = cluster.clients[0]
        early = client.block_hash(1)
        assert early is not None
        proposal, voting_round, federating, federated_at = _before_demo(client)
        voter = _vote(client, proposal, voting_round, federating, federated_at)
        set_up = time.monotonic()
        demo = run_demo(client, log=_log, timeout=60)
        demo_done = time.monotonic()
        failed = _late_join(client, federating[0], cluster)
        cluster.wait_for(  # the second fund's consent period (30 s) ends: X1 in force
            "the federation agreement",
            lambda: client.call("federation_get", *federating)["agreement"] is not None,
            timeout=45,
        )
        consents_at = _lone_consent(client, federating, federated_at)
        _epoch_closed(client, cluster, proposal)
        repay = client.receipt(bytes.fromhex(demo.extrinsics["repay"][2:]))
        assert repay is not None
        ferdie = Keypair.dev("ferdie")
        nonce = client.next_index(encode_address(ferdie.public))
        chain = Chain(
            demo=demo,
            federating=federating,
            setup_block=_hash_at(client, federated_at),
            consents_at=consents_at,
            proposal=proposal,
            voting_round=voting_round,
            voter=voter,
            early="0x" + early.hex(),
            repay_block=repay["blockHash"],
            repay_height=repay["height"],
            failed_receipt=failed,
            transfer=_signed_transfer(client, cluster, ferdie, nonce + 1),
            extra_transfer=_signed_transfer(client, cluster, ferdie, nonce),
            nobody=encode_address(NOBODY.public),
        )

        document = client.call("rpc_discover")
        validators = _validators(document)
        published = {e["name"]: e for e in document["methods"]}
        metadata = client.call("state_getMetadata")
        declared = {q["method"] for p in metadata["pallets"] for q in p.get("queries", [])}
        query_cases = _query_cases(chain)
        assert set(query_cases) == declared, (
            f"queries without a case: {sorted(declared - set(query_cases))}; "
            f"cases for no query: {sorted(set(query_cases) - declared)}"
        )
        assert declared <= set(published), f"not published: {sorted(declared - set(published))}"
        untyped = {m: list(_untyped(published[m]["result"]["schema"])) for m in sorted(declared)}
        assert not any(untyped.values()), f"query results published untyped: {untyped}"

        others = _other_cases(chain)
        cases: dict[str, list[Case]] = {}
        by_name: list[str] = []
        for name, entry in published.items():
            if not entry["result"]["schema"] or entry.get("x-websocket-only"):
                continue
            if name in query_cases:
                cases[name] = query_cases[name]
            elif name in others:
                cases[name] = others[name]
            else:
                by_name.append(name)
                cases[name] = _by_name(chain, entry)

        # the validators do reject: a wrong type, and a missing field, of a real answer
        fund = client.call("funds_get", demo.fund)
        assert not validators["funds_get"].is_valid({**fund, "cash": int(fund["cash"])})
        assert not validators["funds_get"].is_valid({k: v for k, v in fund.items() if k != "id"})

        problems: list[str] = []
        calls = 0
        for name in sorted(cases):
            answers = []
            for case in cases[name]:
                found, answer = _check(client, validators[name], name, case)
                problems += found
                answers.append(answer)
                calls += 1
            if name not in by_name and validators[name].is_valid(None) and None not in answers:
                problems.append(f"{name}: its schema allows null, and no case answered null")
        done = time.monotonic()
        _log(
            f"{len(cases)} methods ({len(declared)} declared queries), {calls} calls; "
            f"parameters chosen by name for {by_name or 'none'}; setup {set_up - started:.1f} s, "
            f"demo {demo_done - set_up:.1f} s, epoch close and checks {done - demo_done:.1f} s"
        )
        assert not problems, "answers that do not match their published schema:\n" + "\n".join(
            problems
        )
        exercised = {name for name in cases if name in declared}
        assert exercised == declared
        assert done - started < RUNTIME_BUDGET_S, f"took {done - started:.0f} s"
    finally:
        cluster.stop()
