"""The feeder loop: once per epoch, read the sources, build, sign, submit, confirm.

Theory of operation
-------------------
The chain accepts one ``health.observe`` per oracle, bioregion and epoch,
for the epoch the including block is in (H3). The feeder therefore polls
the node every ``poll_seconds`` for the bioregion's open epoch and the
oracles that already observed it (``health_get``). When its own account is
not among them, it makes one *attempt*:

1. **Read** every source once (``sources``): one that is down, slow, or
   returns garbage is logged (``source_failed``) and left out.
2. **Build** the five components (``mapping``). If any component has no
   valid reading, the attempt is **skipped** and logged
   (``observation_skipped``, naming the components): the feeder never sends
   a made-up, default or last-known value, because the chain already keeps
   the last value when an epoch has no observation, and a median is only
   as honest as its inputs. The next poll in the same epoch tries again,
   so a source that comes back in time still counts.
3. **Sign and submit** through JSON-RPC (``rpc.client.RpcClient``) with a
   fresh nonce, then **wait for inclusion** by polling the receipt.
   Connection errors, refusals and a receipt that does not come within
   ``inclusion_timeout`` are retried ``retries`` times with exponential
   backoff (``backoff_seconds * 2**n``, at most ``backoff_max``); before
   each retry the node is asked again whether the observation already made
   it (a lost reply must not become a duplicate).
4. A failed receipt is final for that epoch (``AlreadyObserved``,
   ``WrongEpoch`` when the epoch turned meanwhile, ``NotOracle``): logged
   with its code and rule, and the feeder waits for the next epoch.

Every step logs one structlog event with the bioregion and epoch, and the
components it sent; nothing is ever raised out of ``run`` for bad data or a
flaky node (only for a wrong configuration or key, before it starts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx
import structlog

from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from node.oracle.config import OracleConfig
from node.oracle.mapping import to_bps
from node.oracle.sources import SourceError, lookup, read_source
from pallets.health.storage import COMPONENTS
from rpc.client import RpcClient, RpcConnectionError, RpcError

VALID_FOR = 64  # blocks an observation stays valid in the pool
RECEIPT_POLL = 0.5

Status = Literal["included", "failed", "skipped", "already", "gave_up"]


class FeederError(Exception):
    """The feeder cannot work at all (unknown bioregion, unreachable node at start)."""


@dataclass(frozen=True, slots=True)
class EpochStatus:
    epoch: int
    observed: frozenset[str]  # addresses
    oracles: frozenset[str]


class ChainPort(Protocol):
    """What the feeder needs of a node (``RpcChain``; tests may give a fake)."""

    def address(self, key: Keypair) -> str: ...

    def epoch_status(self, bioregion: str) -> EpochStatus: ...

    def submit(self, key: Keypair, call: Call) -> bytes: ...

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None: ...


class RpcChain:
    """``ChainPort`` over the node's JSON-RPC."""

    def __init__(self, client: RpcClient) -> None:
        self.client = client
        self._hrp: str | None = None
        self._genesis: bytes | None = None

    def _prefix(self) -> str:
        if self._hrp is None:
            self._hrp = self.client.properties().address_prefix
        return self._hrp

    def address(self, key: Keypair) -> str:
        return encode_address(key.public, self._prefix())

    def epoch_status(self, bioregion: str) -> EpochStatus:
        data = self.client.call("health_get", bioregion)
        if data is None:
            raise FeederError(f"bioregion {bioregion!r} is not registered on this chain")
        return EpochStatus(
            int(data["open_epoch"]),
            frozenset(data["observed_this_epoch"]),
            frozenset(data["oracles"]),
        )

    def submit(self, key: Keypair, call: Call) -> bytes:
        if self._genesis is None:
            self._genesis = self.client.genesis_hash()
        nonce = self.client.next_index(self.address(key))
        valid_until = self.client.best_height() + VALID_FOR
        return self.client.submit(
            Extrinsic.create(key, nonce, valid_until, call, self._genesis).encode()
        )

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        return self.client.receipt(tx_hash)


def read_components(
    config: OracleConfig, http: httpx.Client, log: Any
) -> tuple[list[int] | None, list[str]]:
    """The five components in bps, or None and the components that had no valid reading."""
    documents: dict[str, Any] = {}
    for source in config.sources:
        try:
            documents[source.name] = read_source(source, http)
        except SourceError as exc:
            log.warning("source_failed", source=source.name, error=str(exc))
    values: list[int] = []
    missing: list[str] = []
    for name, mapping in config.components.in_order():
        if mapping.source not in documents:
            missing.append(name)
            continue
        try:
            reading = lookup(documents[mapping.source], mapping.field)
        except SourceError as exc:
            log.warning("reading_failed", component=name, source=mapping.source, error=str(exc))
            missing.append(name)
            continue
        mapped = to_bps(reading, mapping)
        if mapped.clamped:
            log.warning("reading_clamped", component=name, value=str(reading), bps=mapped.bps)
        values.append(mapped.bps)
    return (None, missing) if missing else (values, [])


@dataclass(frozen=True, slots=True)
class Outcome:
    epoch: int
    status: Status
    components: list[int] | None = None
    detail: str = ""


@dataclass
class Feeder:
    config: OracleConfig
    key: Keypair
    chain: ChainPort
    http: httpx.Client
    sleep: Callable[[float], None] = time.sleep
    log: Any = field(default_factory=lambda: structlog.get_logger("oracle"))
    done_epoch: int | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    # -------------------------------------------------------- one attempt

    def read_components(self) -> tuple[list[int] | None, list[str]]:
        return read_components(self.config, self.http, self.log)

    def attempt(self) -> Outcome | None:
        """Observe the open epoch if not done yet; None when there is nothing to do."""
        region = self.config.bioregion
        status = self.chain.epoch_status(region)
        me = self.chain.address(self.key)
        if status.epoch == self.done_epoch:
            return None
        if me in status.observed:
            self.done_epoch = status.epoch
            return self._record(Outcome(status.epoch, "already", detail="observed already"))
        if me not in status.oracles:
            self.log.warning("not_an_oracle", bioregion=region, epoch=status.epoch, account=me)
        components, missing = self.read_components()
        if components is None:
            self.log.warning(
                "observation_skipped", bioregion=region, epoch=status.epoch, missing=missing
            )
            return self._record(
                Outcome(
                    status.epoch, "skipped", detail="no valid reading for " + ", ".join(missing)
                )
            )
        return self._submit(status.epoch, components)

    def _submit(self, epoch: int, components: list[int]) -> Outcome:
        region = self.config.bioregion
        call = Call(
            "health", "observe", {"bioregion": region, "epoch": epoch, "components": components}
        )
        for attempt in range(self.config.retries + 1):
            if attempt:
                delay = min(
                    self.config.backoff_max, self.config.backoff_seconds * 2 ** (attempt - 1)
                )
                self.log.info(
                    "retrying", bioregion=region, epoch=epoch, attempt=attempt, delay=delay
                )
                self.sleep(delay)
                try:
                    status = self.chain.epoch_status(region)
                except (RpcConnectionError, RpcError, httpx.HTTPError) as exc:
                    self.log.warning("node_unreachable", error=str(exc))
                    continue
                if self.chain.address(self.key) in status.observed:
                    self.done_epoch = epoch
                    return self._record(Outcome(epoch, "included", components, "confirmed late"))
                if status.epoch != epoch:
                    return self._record(Outcome(epoch, "gave_up", components, "the epoch ended"))
            try:
                tx_hash = self.chain.submit(self.key, call)
                self.log.info(
                    "observation_sent", bioregion=region, epoch=epoch, tx="0x" + tx_hash.hex(),
                    components=dict(zip(COMPONENTS, components, strict=True)),
                )  # fmt: skip
                receipt = self._wait_receipt(tx_hash)
            except (RpcConnectionError, RpcError, httpx.HTTPError) as exc:
                self.log.warning("submit_failed", bioregion=region, epoch=epoch, error=str(exc))
                continue
            if receipt is None:
                self.log.warning("not_included", bioregion=region, epoch=epoch)
                continue
            self.done_epoch = epoch
            if receipt.get("success"):
                self.log.info(
                    "observation_included", bioregion=region, epoch=epoch,
                    height=receipt.get("height"), block=receipt.get("blockHash"),
                )  # fmt: skip
                return self._record(Outcome(epoch, "included", components))
            error = receipt.get("error") or {}
            self.log.error(
                "observation_failed", bioregion=region, epoch=epoch, code=error.get("code"),
                rule=error.get("rule"), message=error.get("message"),
            )  # fmt: skip
            return self._record(Outcome(epoch, "failed", components, str(error.get("code"))))
        self.log.error("observation_gave_up", bioregion=region, epoch=epoch)
        return self._record(Outcome(epoch, "gave_up", components, "retries exhausted"))

    def _wait_receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        waited = 0.0
        while waited < self.config.inclusion_timeout:
            receipt = self.chain.receipt(tx_hash)
            if receipt is not None:
                return receipt
            self.sleep(RECEIPT_POLL)
            waited += RECEIPT_POLL
        return None

    def _record(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    # -------------------------------------------------------- the loop

    def run(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Poll and observe until ``stop()``; node and source troubles are logged, not raised."""
        self.log.info(
            "feeder_started", bioregion=self.config.bioregion, account=self.chain.address(self.key)
        )
        while not stop():
            try:
                self.attempt()
            except (RpcConnectionError, RpcError, httpx.HTTPError) as exc:
                self.log.warning("node_unreachable", error=str(exc))
            self.sleep(self.config.poll_seconds)
