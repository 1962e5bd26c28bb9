"""The bank workload: accounts with a known total, random transfers, a ledger of what was final.

Theory of operation
-------------------
``accounts`` keys derived from the seed are funded by one dev account with
``per_account`` each, so the bank's total is known: only bank accounts send
to bank accounts, and what leaves the bank is the fees its transfers pay into
the commons pool (P1). The chain counts every fee (``payment/fees_collected``,
with reaped dust in ``payment/dust_collected``) and the bank is the only
payer once it is funded, so at any block the bank's balances plus what those
counters grew by since then equal the total.

Each account has at most one transfer in flight, with the account's next
nonce. A transfer is *acknowledged* when a node returns its receipt (BFT
finality: a committed block is final). Until then it is resubmitted, the
same bytes, to another node every ``RESUBMIT_S`` seconds, so a transfer lost
with a killed node's pool is retried but never replaced by a different one
at the same nonce. The model (balance and next nonce of every account) moves
only on acknowledgements; an amount is at most a quarter of the sender's
acknowledged balance, so every transfer must succeed.

Every ``READ_EVERY_S`` the workload reads all balances at one block over RPC:
they must sum to the total and none may be negative. ``reconcile`` at the
end checks every acknowledged transfer on every node (same block), and the
balances and nonces against the model.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ledger import codec
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from pallets.payment.storage import DUST_COLLECTED, FEES_COLLECTED
from pallets.system.storage import NONCE
from rpc.client import RpcClient, RpcConnectionError, RpcError
from scripts.chaos_lib.net import ChaosNet

RESUBMIT_S = 4.0
READ_EVERY_S = 2.0
TICK_S = 0.2
MORTALITY = 100_000
FUNDER = "alice"
RPC_FAILURES = (RpcConnectionError, RpcError, OSError, KeyError, TypeError, ValueError)


@dataclass
class Transfer:
    sender: int
    dest: int
    amount: int
    nonce: int
    raw: bytes
    hash: bytes
    last_try: float
    tries: int = 1
    block_hash: str | None = None
    height: int | None = None


@dataclass
class BankStats:
    submitted: int = 0
    resubmits: int = 0
    acknowledged: int = 0
    balance_reads: int = 0
    rpc_errors: int = 0
    violations: list[str] = field(default_factory=list)


class BankWorkload:
    def __init__(
        self, net: ChaosNet, *, accounts: int, seed: int, rate: float, per_account: int = 10**9
    ) -> None:
        if accounts < 2:
            raise ValueError("the bank needs at least 2 accounts")
        if rate <= 0:
            raise ValueError("the transfer rate must be positive")
        self.net = net
        self.rate = rate
        self.per_account = per_account
        self.rng = random.Random(seed)
        self.keys = [
            Keypair.from_seed(blake2b256(f"chaos-bank/{seed}/{i}".encode()))
            for i in range(accounts)
        ]
        hrp = net.genesis.address_prefix
        self.addresses = [encode_address(k.public, hrp) for k in self.keys]
        self.balance = [0] * accounts
        self.next_nonce = [0] * accounts
        self.total = 0
        self.paid_before = 0  # fees and dust counted by the chain before the bank started
        self.in_flight: dict[int, Transfer] = {}
        self.acked: list[Transfer] = []
        self.stats = BankStats()
        self.lock = threading.Lock()  # guards the model for readers on other threads
        self._genesis_hash = b""
        self._stop = threading.Event()
        self._accepting = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ RPC helpers

    def _client(self) -> RpcClient | None:
        live = self.net.available()
        return self.net.clients[self.rng.choice(live)] if live else None

    def _violation(self, text: str) -> None:
        with self.lock:
            self.stats.violations.append(text)

    # ------------------------------------------------------------ funding

    def fund(self, timeout: float = 60.0) -> None:
        """The dev account ``alice`` sends ``per_account`` to every bank account; wait for all."""
        client = self.net.clients[0]
        self._genesis_hash = client.genesis_hash()
        funder = Keypair.dev(FUNDER)
        nonce = client.next_index(encode_address(funder.public, self.net.genesis.address_prefix))
        valid_until = client.best_height() + MORTALITY
        pending = {}
        for index, key in enumerate(self.keys):
            call = Call("balances", "transfer", {"amount": self.per_account, "dest": key.public})
            ext = Extrinsic.create(funder, nonce + index, valid_until, call, self._genesis_hash)
            client.submit(ext.encode())
            pending[ext.hash] = index
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} funding transfers not final after {timeout}s")
            for tx_hash in list(pending):
                receipt = client.receipt(tx_hash)
                if receipt is not None:
                    if not receipt["success"]:
                        raise RuntimeError(f"funding transfer failed: {receipt['error']}")
                    self.balance[pending.pop(tx_hash)] = self.per_account
            time.sleep(0.2)
        self.total = self.per_account * len(self.keys)
        self.paid_before = self._paid_at(client, client.call("chain_getBlockHash"))

    @staticmethod
    def _paid_at(client: RpcClient, head: str) -> int:
        """Fees and reaped dust the chain has collected up to block ``head`` (P1, P3)."""
        values = client.batch(
            [("state_getStorage", ["0x" + item.key.hex(), head])
             for item in (FEES_COLLECTED, DUST_COLLECTED)]
        )  # fmt: skip
        return sum(
            0 if raw is None else int(codec.decode(bytes.fromhex(raw[2:]))) for raw in values
        )

    # ------------------------------------------------------------ the loop

    def start(self) -> None:
        if self.total == 0:
            raise RuntimeError("fund() the bank before starting the workload")
        self._accepting.set()
        self._thread = threading.Thread(target=self._loop, name="chaos-bank", daemon=True)
        self._thread.start()

    def stop_new(self) -> None:
        """Stop starting transfers; in-flight ones are still resubmitted and acknowledged."""
        with self.lock:  # a batch being built registers its transfers first (_submit_new)
            self._accepting.clear()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def drain(self, timeout: float) -> int:
        """Wait until nothing is in flight (or ``timeout``); the number still in flight."""
        self.stop_new()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.in_flight:
                    return 0
            time.sleep(0.2)
        with self.lock:
            return len(self.in_flight)

    def _loop(self) -> None:
        budget = 0.0
        last_read = 0.0
        last = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            budget = min(budget + (now - last) * self.rate, self.rate)
            last = now
            try:
                self._poll_receipts()
                self._resubmit()
                if self._accepting.is_set():
                    budget -= self._submit_new(int(budget))
                if now - last_read >= READ_EVERY_S:
                    last_read = now
                    self.read_balances()
            except RPC_FAILURES:
                self.stats.rpc_errors += 1
            time.sleep(TICK_S)

    def _submit_new(self, budget: int) -> int:
        idle = [i for i in range(len(self.keys)) if i not in self.in_flight and self.balance[i]]
        self.rng.shuffle(idle)
        client = self._client()
        if client is None or budget <= 0 or not idle:
            return 0
        valid_until = client.best_height() + MORTALITY
        made = []
        for sender in idle[:budget]:
            dest = self.rng.choice([d for d in range(len(self.keys)) if d != sender])
            amount = self.rng.randint(1, max(1, self.balance[sender] // 4))
            call = Call("balances", "transfer", {"amount": amount, "dest": self.keys[dest].public})
            ext = Extrinsic.create(
                self.keys[sender], self.next_nonce[sender], valid_until, call, self._genesis_hash
            )
            raw = ext.encode()
            made.append(
                Transfer(sender, dest, amount, self.next_nonce[sender], raw, ext.hash, time.time())
            )
        with self.lock:
            if not self._accepting.is_set():
                return 0
            # In flight from before the first byte leaves: whatever the reply, the
            # transfer may be committed, so drain() and reconcile() must know of it.
            for transfer in made:
                self.in_flight[transfer.sender] = transfer
                self.stats.submitted += 1
        replies = client.batch([("author_submitExtrinsic", ["0x" + t.raw.hex()]) for t in made])
        for transfer, reply in zip(made, replies, strict=True):
            if isinstance(reply, RpcError):
                transfer.last_try = 0.0  # refused for now (full pool): retry at once
        return len(made)

    def _resubmit(self) -> None:
        now = time.time()
        stale = [t for t in self.in_flight.values() if now - t.last_try >= RESUBMIT_S]
        client = self._client()
        if not stale or client is None:
            return
        for transfer in stale:
            transfer.last_try = now
            transfer.tries += 1
            self.stats.resubmits += 1
        # Errors are expected here (already pooled, already committed): receipts decide.
        with contextlib.suppress(*RPC_FAILURES):
            client.batch([("author_submitExtrinsic", ["0x" + t.raw.hex()]) for t in stale])

    def _poll_receipts(self, client: RpcClient | None = None) -> None:
        flying = list(self.in_flight.values())
        client = client or self._client()
        if not flying or client is None:
            return
        replies = client.batch([("chain_getReceipt", ["0x" + t.hash.hex()]) for t in flying])
        for transfer, reply in zip(flying, replies, strict=True):
            if isinstance(reply, dict):
                self._acknowledge(transfer, reply)

    def _acknowledge(self, transfer: Transfer, receipt: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight.pop(transfer.sender, None)
            transfer.block_hash = str(receipt["blockHash"])
            transfer.height = int(receipt["height"])
            self.acked.append(transfer)
            self.stats.acknowledged += 1
            self.next_nonce[transfer.sender] += 1
            self.balance[transfer.sender] -= _fee_and_dust(receipt)
            if receipt["success"]:
                self.balance[transfer.sender] -= transfer.amount
                self.balance[transfer.dest] += transfer.amount
            else:
                self.stats.violations.append(
                    f"transfer 0x{transfer.hash.hex()[:16]} failed although the model says it "
                    f"must succeed: {receipt['error']}"
                )

    # ------------------------------------------------------------ reads and checks

    def read_balances(self, client: RpcClient | None = None) -> None:
        """All balances at one block: they sum to the total and none is negative."""
        client = client or self._client()
        if client is None:
            return
        head = client.call("chain_getBlockHash")
        replies = client.batch([("balances_getBalance", [a, head]) for a in self.addresses])
        if any(not isinstance(r, dict) for r in replies):
            return  # the node went away mid-read; the next read counts
        values = [int(r["free"]) for r in replies]
        paid = self._paid_at(client, head) - self.paid_before
        self.stats.balance_reads += 1
        if sum(values) + paid != self.total:
            self._violation(
                f"balances at block {head} sum to {sum(values)} and {paid} went in fees: "
                f"{sum(values) + paid}, not {self.total}"
            )
        negative = [i for i, v in enumerate(values) if v < 0]
        if negative:
            self._violation(f"negative balances at block {head}: accounts {negative}")

    def settle(self, client: RpcClient) -> int:
        """Acknowledge in-flight transfers that did commit; the number still unknown."""
        with contextlib.suppress(*RPC_FAILURES):
            self._poll_receipts(client)
        return len(self.in_flight)

    def reconcile(self, clients: list[RpcClient]) -> None:
        """Every acknowledged transfer on every node, in the same block; model = state."""
        unknown = {t.sender for t in self.in_flight.values()}
        unknown |= {t.dest for t in self.in_flight.values()}
        for index, client in enumerate(clients):
            for start in range(0, len(self.acked), 100):
                chunk = self.acked[start : start + 100]
                replies = client.batch([("chain_getReceipt", ["0x" + t.hash.hex()]) for t in chunk])
                for transfer, reply in zip(chunk, replies, strict=True):
                    if not isinstance(reply, dict):
                        self._violation(
                            f"LOST: acknowledged transfer 0x{transfer.hash.hex()} (block "
                            f"{transfer.block_hash}, height {transfer.height}) has no receipt on "
                            f"node{index}"
                        )
                    elif reply["blockHash"] != transfer.block_hash:
                        self._violation(
                            f"acknowledged transfer 0x{transfer.hash.hex()} is in block "
                            f"{reply['blockHash']} on node{index}, was {transfer.block_hash}"
                        )
            head = client.call("chain_getBlockHash")
            self.read_balances(client)
            balances = client.batch([("balances_getBalance", [a, head]) for a in self.addresses])
            nonces = client.batch(
                [("state_getStorage", ["0x" + NONCE.key(k.public).hex(), head]) for k in self.keys]
            )
            for i, (bal, raw) in enumerate(zip(balances, nonces, strict=True)):
                nonce = 0 if raw is None else int(codec.decode(bytes.fromhex(raw[2:])))
                if i in unknown:
                    continue  # a transfer of unknown fate touches it: the model cannot say
                if int(bal["free"]) != self.balance[i] or nonce != self.next_nonce[i]:
                    self._violation(
                        f"node{index} account {i}: balance {bal['free']} nonce {nonce}, the "
                        f"acknowledged transfers say {self.balance[i]} and {self.next_nonce[i]}"
                    )


def _fee_and_dust(receipt: dict[str, Any]) -> int:
    """What a receipt says its signer paid besides the call: the fee and reaped dust."""
    paid = 0
    for event in receipt.get("events", []):
        attributes = event.get("attributes", {})
        if (event.get("pallet"), event.get("name")) == ("payment", "FeePaid"):
            paid += int(attributes["fee"])
        elif (event.get("pallet"), event.get("name")) == ("payment", "DustReaped"):
            paid += int(attributes["amount"])
    return paid
