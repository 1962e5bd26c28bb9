"""Blocks for replay fetched from a running node's JSON-RPC (``chain_getBlock``).

Theory of operation
-------------------
The node serves blocks as JSON (docs/rpc.md): every header field, the
extrinsics as hex, the last commit and the block's own commit in full, but
evidence only as hashes. ``RpcSource`` rebuilds the binary ``Block`` and
``Commit`` from that JSON, fetching ``BATCH`` heights per HTTP request
(``chain_getBlockHash`` then ``chain_getBlock``, JSON-RPC batches). Nothing
the node says is trusted: the rebuilt block's hash must equal the hash the
node announced, and replay then checks it like any other block. A block
carrying evidence cannot be rebuilt from its hashes; replay of such a chain
needs ``--home`` or ``--file``. Receipts are not fetched: the receipts root in
each header is checked against re-execution instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from ledger.crypto import AddressError, decode_address
from ledger.types import Block, Commit, CommitSig, Header
from node.audit.replay import BlockRecord, ReplayDivergence
from rpc.client import RpcClient, RpcConnectionError, RpcError

BATCH: Final = 32


class RpcSourceError(RuntimeError):
    """The node could not be reached or answered with something unusable."""


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcSourceError(f"{what}: expected 0x-hex, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcSourceError(f"{what}: not hex") from exc


def _account(value: Any, hrp: str, what: str) -> bytes:
    try:
        return decode_address(value, hrp)
    except AddressError as exc:
        raise RpcSourceError(f"{what}: {exc}") from exc


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RpcSourceError(f"{what}: expected an unsigned integer, got {value!r}")
    return value


def header_from_json(data: dict[str, Any], hrp: str) -> Header:
    return Header(
        height=_int(data["number"], "header.number"),
        timestamp_ms=_int(data["timestamp"], "header.timestamp"),
        parent_hash=_hex(data["parentHash"], "header.parentHash"),
        last_commit_hash=_hex(data["lastCommitHash"], "header.lastCommitHash"),
        extrinsics_root=_hex(data["extrinsicsRoot"], "header.extrinsicsRoot"),
        evidence_root=_hex(data["evidenceRoot"], "header.evidenceRoot"),
        state_root=_hex(data["stateRoot"], "header.stateRoot"),
        receipts_root=_hex(data["receiptsRoot"], "header.receiptsRoot"),
        events_root=_hex(data["eventsRoot"], "header.eventsRoot"),
        validators_hash=_hex(data["validatorsHash"], "header.validatorsHash"),
        next_validators_hash=_hex(data["nextValidatorsHash"], "header.nextValidatorsHash"),
        proposer=_account(data["proposer"], hrp, "header.proposer"),
        proposal_round=_int(data["proposalRound"], "header.proposalRound"),
        vrf_proof=_hex(data["vrfProof"], "header.vrfProof"),
    )


def commit_from_json(data: dict[str, Any], hrp: str) -> Commit:
    return Commit(
        _int(data["height"], "commit.height"),
        _int(data["round"], "commit.round"),
        _hex(data["blockHash"], "commit.blockHash"),
        tuple(
            CommitSig(
                _account(sig["validator"], hrp, "commit validator"),
                _int(sig["timestamp"], "commit timestamp"),
                _hex(sig["signature"], "commit signature"),
            )
            for sig in data["signatures"]
        ),
    )


def record_from_json(height: int, data: dict[str, Any], hrp: str) -> BlockRecord:
    """Rebuild one ``chain_getBlock`` answer; ``ReplayDivergence`` if it does not hash right."""
    try:
        body = data["block"]
        header = header_from_json(body["header"], hrp)
        if body["evidence"]:
            raise RpcSourceError(
                f"block {height} carries evidence, which the RPC serves only as hashes: "
                "replay this chain with --home or --file"
            )
        last = body["lastCommit"]
        block = Block(
            header,
            tuple(_hex(x, "extrinsic") for x in body["extrinsics"]),
            None if last is None else commit_from_json(last, hrp),
            (),
        )
        if data["commit"] is None:
            raise ReplayDivergence(height, "commit", detail="the node has none for this block")
        commit = commit_from_json(data["commit"], hrp)
        announced = _hex(body["header"]["hash"], "header.hash")
    except (KeyError, TypeError) as exc:
        raise RpcSourceError(f"block {height}: malformed chain_getBlock answer: {exc!r}") from exc
    if block.hash != announced:
        raise ReplayDivergence(height, "block hash", expected=announced, found=block.hash)
    return BlockRecord(height, block, commit)


class RpcSource:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.client = RpcClient(url, timeout=timeout)
        try:
            self.hrp = self.client.properties().address_prefix
            self.genesis_hash = self.client.genesis_hash()
            self.height = self.client.best_height()
        except (RpcConnectionError, RpcError, OSError) as exc:
            self.client.close()
            raise RpcSourceError(f"{url}: {exc}") from exc

    def _call_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        try:
            answers = self.client.batch(calls)
        except (RpcConnectionError, RpcError, OSError) as exc:
            raise RpcSourceError(str(exc)) from exc
        for answer in answers:
            if isinstance(answer, RpcError):
                raise RpcSourceError(f"the node refused: {answer}")
        return answers

    def records(self) -> Iterator[BlockRecord]:
        for start in range(1, self.height + 1, BATCH):
            heights = list(range(start, min(start + BATCH, self.height + 1)))
            hashes = self._call_batch([("chain_getBlockHash", [h]) for h in heights])
            if any(h is None for h in hashes):
                raise RpcSourceError(f"the node lost blocks in {heights[0]}..{heights[-1]}")
            blocks = self._call_batch([("chain_getBlock", [h]) for h in hashes])
            for height, data in zip(heights, blocks, strict=True):
                if data is None:
                    raise RpcSourceError(f"the node has no block {height}")
                yield record_from_json(height, data, self.hrp)

    def close(self) -> None:
        self.client.close()
