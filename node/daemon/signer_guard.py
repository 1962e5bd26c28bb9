"""The signer guard: a validator never signs two different things for one step.

Theory of operation
-------------------
Every proposal and vote the node signs goes through ``SignerGuard``. It keeps
a persistent record of the last (height, round, step) signed — step 1 =
proposal, 2 = prevote, 3 = precommit — and of every signature of that
height: the exact bytes signed, the signature and (for votes) the timestamp.
A request for (h, r, s) is answered thus:

1. already signed at (h, r, s):
   * the same bytes → the same signature again (after a restart the WAL
     replay asks again; Ed25519 is deterministic anyway);
   * a vote that differs only in its timestamp → the *stored* vote, with
     the stored timestamp (CometBFT's privval does the same: a restarted
     node's clock has moved on, but what it said must not change);
   * anything else → ``DoubleSignError``;
2. (h, r, s) below the last one signed → ``DoubleSignError`` (regression);
3. otherwise sign, persist the record (fsync, atomic replace) and only then
   return the signature: a crash after signing never forgets it.

The store is pluggable (``SignerStore``): ``FileSignerStore`` for nodes,
``MemorySignerStore`` for simulations, which need the same guard logic
without thousands of fsyncs.

File format (canonical MessagePack): ``[1, public_key, genesis_hash,
last_height, last_round, last_step, [[height, round, step, sign_bytes,
signature, timestamp_ms], ...]]`` (timestamp −1 for proposals). A file made
for another key or chain is refused rather than overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ledger import codec
from ledger.codec import DecodeError, expect_bytes, expect_int, expect_list
from ledger.crypto import Keypair
from ledger.types import Proposal, Vote, VoteType, vote_sign_bytes

STEP_PROPOSAL = 1
STEP_PREVOTE = 2
STEP_PRECOMMIT = 3
_VERSION = 1


class DoubleSignError(Exception):
    """Refused: signing this would conflict with something already signed."""


class SignerStateError(ValueError):
    """The persisted signer state is unreadable or belongs to another key/chain."""


class SignerStore(Protocol):
    def load(self) -> bytes | None: ...

    def save(self, data: bytes) -> None: ...


class MemorySignerStore:
    """Keeps the state in memory: survives a simulated crash, not a real one."""

    def __init__(self) -> None:
        self.data: bytes | None = None

    def load(self) -> bytes | None:
        return self.data

    def save(self, data: bytes) -> None:
        self.data = data


class FileSignerStore:
    """A small file, replaced atomically: write temp, fsync, rename, fsync directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, data: bytes) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True, slots=True)
class SignedRecord:
    height: int
    round: int
    step: int
    sign_bytes: bytes
    signature: bytes
    timestamp_ms: int  # −1 for proposals

    def to_wire(self) -> list[Any]:
        return [
            self.height,
            self.round,
            self.step,
            self.sign_bytes,
            self.signature,
            self.timestamp_ms,
        ]


class SignerGuard:
    """Signs proposals and votes for one key, refusing conflicts (module docstring)."""

    def __init__(self, key: Keypair, genesis_hash: bytes, store: SignerStore) -> None:
        if len(genesis_hash) != 32:
            raise ValueError("SignerGuard: genesis_hash must be 32 bytes")
        self.key = key
        self.genesis_hash = genesis_hash
        self.store = store
        self.last: tuple[int, int, int] | None = None
        self.records: dict[tuple[int, int, int], SignedRecord] = {}
        raw = store.load()
        if raw is not None:
            self._load(raw)

    def _load(self, raw: bytes) -> None:
        try:
            fields = expect_list(codec.decode(raw), 7, "signer state")
            version, public, genesis, h, r, s, records = fields
            if version != _VERSION:
                raise SignerStateError(f"signer state: unknown version {version!r}")
            if expect_bytes(public, "signer key", 32) != self.key.public:
                raise SignerStateError("signer state belongs to another validator key")
            if expect_bytes(genesis, "signer genesis", 32) != self.genesis_hash:
                raise SignerStateError("signer state belongs to another chain (genesis hash)")
            self.last = (
                expect_int(h, "last height"),
                expect_int(r, "last round"),
                expect_int(s, "last step", 1, 3),
            )
            if not isinstance(records, list):
                raise DecodeError("signer records: expected an array")
            for item in records:
                rh, rr, rs, sb, sig, ts = expect_list(item, 6, "signer record")
                rec = SignedRecord(
                    expect_int(rh, "record height"),
                    expect_int(rr, "record round"),
                    expect_int(rs, "record step", 1, 3),
                    expect_bytes(sb, "record sign bytes"),
                    expect_bytes(sig, "record signature", 64),
                    expect_int(ts, "record timestamp", -1),
                )
                self.records[(rec.height, rec.round, rec.step)] = rec
        except DecodeError as exc:
            raise SignerStateError(f"signer state unreadable: {exc}") from exc

    def _persist(self) -> None:
        assert self.last is not None
        records = [self.records[k].to_wire() for k in sorted(self.records)]
        state = [_VERSION, self.key.public, self.genesis_hash, *self.last, records]
        self.store.save(codec.encode(state))

    def _check_order(self, hrs: tuple[int, int, int]) -> None:
        if self.last is not None and hrs < self.last:
            raise DoubleSignError(
                f"refusing to sign height/round/step {hrs}: already signed {self.last}"
            )

    def _record(self, hrs: tuple[int, int, int], sign_bytes: bytes, timestamp_ms: int) -> bytes:
        signature = self.key.sign(sign_bytes)
        if self.last is None or hrs[0] > self.last[0]:
            self.records = {}  # only the current height's signatures are kept
        self.records[hrs] = SignedRecord(*hrs, sign_bytes, signature, timestamp_ms)
        self.last = hrs
        self._persist()  # before the signature leaves this function
        return signature

    def sign_vote(
        self,
        vote_type: VoteType,
        height: int,
        round_: int,
        block_hash: bytes | None,
        timestamp_ms: int,
    ) -> Vote:
        """Our signed vote, or the one signed before for this step; see the module docstring."""
        if height < 1 or round_ < 0 or timestamp_ms < 0:
            raise ValueError(f"sign_vote: bad height/round/timestamp {height}/{round_}")
        step = STEP_PREVOTE if vote_type is VoteType.PREVOTE else STEP_PRECOMMIT
        hrs = (height, round_, step)
        gh = self.genesis_hash
        sign_bytes = vote_sign_bytes(gh, height, round_, vote_type, block_hash, timestamp_ms)
        old = self.records.get(hrs)
        if old is not None:
            same_but_time = vote_sign_bytes(
                gh, height, round_, vote_type, block_hash, old.timestamp_ms
            )
            if old.sign_bytes in (sign_bytes, same_but_time):
                return Vote(
                    vote_type,
                    height,
                    round_,
                    block_hash,
                    old.timestamp_ms,
                    self.key.public,
                    old.signature,
                )
            raise DoubleSignError(
                f"refusing a conflicting {vote_type.name.lower()} at height {height} "
                f"round {round_}: another vote was already signed"
            )
        self._check_order(hrs)
        signature = self._record(hrs, sign_bytes, timestamp_ms)
        return Vote(vote_type, height, round_, block_hash, timestamp_ms, self.key.public, signature)

    def sign_proposal(
        self, height: int, round_: int, pol_round: int, block_hash: bytes
    ) -> Proposal:
        """Our signed proposal, or the identical one signed before; refuses conflicts."""
        if height < 1 or round_ < 0 or not -1 <= pol_round < round_:
            raise ValueError(f"sign_proposal: bad height/round/pol_round {height}/{round_}")
        hrs = (height, round_, STEP_PROPOSAL)
        sign_bytes = Proposal.sign_bytes_of(
            self.genesis_hash, height, round_, pol_round, block_hash
        )
        old = self.records.get(hrs)
        if old is not None:
            if old.sign_bytes == sign_bytes:
                return Proposal(
                    height, round_, pol_round, block_hash, self.key.public, old.signature
                )
            raise DoubleSignError(
                f"refusing a conflicting proposal at height {height} round {round_}"
            )
        self._check_order(hrs)
        signature = self._record(hrs, sign_bytes, -1)
        return Proposal(height, round_, pol_round, block_hash, self.key.public, signature)
