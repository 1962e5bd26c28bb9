"""Reading blocks and what the indexer needs of them from a node's JSON-RPC.

Theory of operation
-------------------
``Fetcher.fetch(first, last, ...)`` returns a ``FetchedBlock`` for every
height of the range, in order, reading with JSON-RPC batches:

1. ``chain_getBlockHash`` of each height;
2. ``chain_getBlockRaw`` and ``chain_getEvents`` of each hash: the block as
   stored (its hash must be the one asked for) and the hooks' events (their
   Merkle root must be the header's ``eventsRoot``);
3. ``chain_getReceipt`` of each extrinsic (their root must be the header's
   ``receiptsRoot``);
4. at each block, ``loans_get`` of every loan its events name, and
   ``funds_get`` and ``funds_report`` of every fund its events name or whose
   cash moved, plus every known fund when the block's time crosses a multiple
   of ``report_interval_s`` (the snapshots the PAR-over-time query reads).

So nothing the node says is taken on trust beyond what the header commits
to, except the answers of state queries, which no header covers (a verifier
can ask for them with ``state_getReadProof``).

Bounded work: a batch holds at most ``MAX_BATCH_CALLS`` calls (under the
node's ``max_batch`` and ``max_batch_cost`` defaults); a batch refused as too
big (-32008, ``max_response_bytes``) is split in halves down to single calls.
A call refused for the rate limit (-32005) raises that ``RpcError``, which
the follower waits out; any other refused call is a ``FetchError``; so is a
node that no longer holds a block or its state (pruned): the indexer needs
the state of every block it indexes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.crypto import AddressError, blake2b256, decode_address
from ledger.receipts import Event, Receipt, events_root, receipts_root
from ledger.types import Block
from node.indexer.rows import (
    POOL,
    FetchedBlock,
    all_events,
    created_funds,
    named_funds,
    named_loans,
)
from rpc.client import RpcClient
from rpc.encoding import address_text, hex0x
from rpc.errors import RATE_LIMITED, RESPONSE_TOO_BIG, RpcError

__all__ = ["MAX_BATCH_CALLS", "ChainIdentity", "FetchError", "Fetcher"]

MAX_BATCH_CALLS: Final = 50  # cost at most 50 x 15 = 750 of the node's 1 000 per batch


class FetchError(RuntimeError):
    """The node answered with something the indexer cannot use (not a lost connection)."""


@dataclass(frozen=True, slots=True)
class ChainIdentity:
    genesis_hash: bytes
    chain: str
    hrp: str


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise FetchError(f"{what}: expected 0x-hex, got {str(value)[:80]!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise FetchError(f"{what}: not hex") from None


class Fetcher:
    """Reads ranges of blocks from one node (see the module doc)."""

    def __init__(self, client: RpcClient, *, report_interval_s: int = 3600) -> None:
        if report_interval_s < 1:
            raise ValueError(f"report_interval_s must be at least 1, got {report_interval_s}")
        self.client = client
        self.report_interval_ms = report_interval_s * 1000

    # ------------------------------------------------------------ batches

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results of ``calls`` in order, in batches; refused calls raise ``FetchError``."""
        out: list[Any] = []
        for start in range(0, len(calls), MAX_BATCH_CALLS):
            out.extend(self._send(list(calls[start : start + MAX_BATCH_CALLS])))
        return out

    def _send(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        try:
            answers = self.client.batch(calls)
        except RpcError as exc:
            if exc.code == RESPONSE_TOO_BIG and len(calls) > 1:
                half = len(calls) // 2
                return self._send(calls[:half]) + self._send(calls[half:])
            raise
        for (method, params), answer in zip(calls, answers, strict=True):
            if isinstance(answer, RpcError):
                if answer.code == RESPONSE_TOO_BIG and len(calls) > 1:
                    half = len(calls) // 2
                    return self._send(calls[:half]) + self._send(calls[half:])
                if answer.code == RATE_LIMITED:
                    raise answer  # waited out by the follower
                raise FetchError(f"the node refused {method}{tuple(params)}: {answer}")
        return answers

    # ------------------------------------------------------------ chain

    def identity(self) -> ChainIdentity:
        system_chain, props, genesis = self._batch(
            [("system_chain", []), ("system_properties", []), ("chain_getBlockHash", [0])]
        )
        if genesis is None:
            raise FetchError("the node has no genesis block")
        return ChainIdentity(
            _unhex(genesis, "genesis hash"), str(system_chain), str(props["addressPrefix"])
        )

    def best_height(self) -> int:
        return self.client.best_height()

    def genesis_balances(self, hrp: str) -> tuple[tuple[str, int], ...]:
        """``(account, amount)`` of the genesis document, the commons pool included."""
        answer = self.client.call("chain_getGenesis")
        try:
            document = answer["document"]
            balances = [(str(b["account"]), int(b["amount"])) for b in document["balances"]]
            pool = int(document.get("commons_pool", "0"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FetchError(f"chain_getGenesis: malformed document: {exc!r}") from None
        for account, _ in balances:
            try:
                decode_address(account, hrp)
            except AddressError as exc:
                raise FetchError(f"chain_getGenesis: balance of {account!r}: {exc}") from None
        if pool:
            balances.append((address_text(POOL, hrp), pool))
        return tuple(balances)

    # ------------------------------------------------------------ blocks

    def fetch(
        self,
        first: int,
        last: int,
        *,
        identity: ChainIdentity,
        prev_time_ms: int | None,
        cash_accounts: Mapping[bytes, int],
    ) -> list[FetchedBlock]:
        """Blocks ``first..last`` (see the module doc).

        ``prev_time_ms`` is the time of block ``first - 1`` (None before
        genesis), ``cash_accounts`` the funds known before ``first``
        (cash account -> fund id); neither is changed.
        """
        if not 0 <= first <= last:
            raise ValueError(f"bad range {first}..{last}")
        heights = range(first, last + 1)
        hashes = self._batch([("chain_getBlockHash", [h]) for h in heights])
        for height, found in zip(heights, hashes, strict=True):
            if found is None:
                raise FetchError(f"the node has no block {height}")
        calls: list[tuple[str, list[Any]]] = []
        for found in hashes:
            calls += [("chain_getBlockRaw", [found]), ("chain_getEvents", [found])]
        answers = self._batch(calls)
        blocks: list[tuple[int, Block, tuple[Event, ...]]] = []
        for i, height in enumerate(heights):
            blocks.append(self._block(height, hashes[i], answers[2 * i], answers[2 * i + 1]))
        receipts = self._receipts(blocks)
        known = dict(cash_accounts)
        genesis = self.genesis_balances(identity.hrp) if first == 0 else ()
        out: list[FetchedBlock] = []
        prev = prev_time_ms
        for height, block, hooks in blocks:
            bare = FetchedBlock(height, block, receipts[height], hooks)
            events = [event for _, _, event in all_events(bare)]
            known.update(created_funds(events))
            funds = named_funds(events, known)
            time_ms = block.header.timestamp_ms
            if prev is not None and (
                prev // self.report_interval_ms != time_ms // self.report_interval_ms
            ):
                funds.update(known.values())
            loans, fund_records, reports = self._state(block.hash, named_loans(events), funds)
            # a loan's fund is a row the loan refers to: keep it current too
            missing = {int(r["fund"]) for r in loans.values()} - set(fund_records)
            if missing:
                _, more, more_reports = self._state(block.hash, set(), missing)
                fund_records.update(more)
                reports.update(more_reports)
            out.append(
                FetchedBlock(
                    height,
                    block,
                    receipts[height],
                    hooks,
                    loans,
                    fund_records,
                    reports,
                    genesis if height == 0 else (),
                )
            )
            prev = time_ms
        return out

    def _block(
        self, height: int, block_hash: str, raw: Any, events: Any
    ) -> tuple[int, Block, tuple[Event, ...]]:
        if raw is None or events is None:
            raise FetchError(f"the node has no block {height} ({block_hash})")
        try:
            block = Block.decode(_unhex(raw, f"block {height}"))
            hooks = tuple(
                Event.from_wire(codec.decode(_unhex(e["raw"], f"block {height} event")))
                for e in events["events"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FetchError(f"block {height}: cannot decode: {exc}") from None
        if hex0x(block.hash) != block_hash or block.header.height != height:
            raise FetchError(f"block {height}: the node served another block than {block_hash}")
        if events_root(hooks) != block.header.events_root:
            raise FetchError(f"block {height}: the hooks' events do not match the eventsRoot")
        return height, block, hooks

    def _receipts(
        self, blocks: list[tuple[int, Block, tuple[Event, ...]]]
    ) -> dict[int, tuple[Receipt, ...]]:
        wanted = [
            (height, hex0x(blake2b256(raw)))
            for height, block, _ in blocks
            for raw in block.extrinsics
        ]
        answers = self._batch([("chain_getReceipt", [h]) for _, h in wanted])
        by_height: dict[int, list[Receipt]] = {height: [] for height, _, _ in blocks}
        for (height, ext_hash), answer in zip(wanted, answers, strict=True):
            if answer is None:
                raise FetchError(f"block {height}: the node has no receipt for {ext_hash}")
            try:
                receipt = Receipt.from_wire(codec.decode(_unhex(answer["raw"], "receipt")))
            except (ValueError, KeyError, TypeError) as exc:
                raise FetchError(f"block {height}: receipt {ext_hash}: {exc}") from None
            by_height[height].append(receipt)
        out: dict[int, tuple[Receipt, ...]] = {}
        for height, block, _ in blocks:
            found = tuple(by_height[height])
            if receipts_root(found) != block.header.receipts_root:
                raise FetchError(f"block {height}: the receipts do not match the receiptsRoot")
            out[height] = found
        return out

    def _state(
        self, block_hash: bytes, loans: set[int], funds: set[int]
    ) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
        """``loans_get``, ``funds_get`` and ``funds_report`` at ``block_hash``.

        Unknown loans and funds (not yet created at that block) are left out.
        """
        at = hex0x(block_hash)
        loan_ids, fund_ids = sorted(loans), sorted(funds)
        calls = [("loans_get", [loan, at]) for loan in loan_ids]
        for fund in fund_ids:
            calls += [("funds_get", [fund, at]), ("funds_report", [fund, at])]
        answers = self._batch(calls)
        found_loans = {
            loan: answer
            for loan, answer in zip(loan_ids, answers[: len(loan_ids)], strict=True)
            if answer is not None
        }
        rest = answers[len(loan_ids) :]
        records: dict[int, Any] = {}
        reports: dict[int, Any] = {}
        for i, fund in enumerate(fund_ids):
            record, report = rest[2 * i], rest[2 * i + 1]
            if record is not None and report is not None:
                records[fund], reports[fund] = record, report
        return found_loans, records, reports
