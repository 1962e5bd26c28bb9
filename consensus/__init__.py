"""credichain consensus: a pure Tendermint (BFT) state machine. How the node drives it.

The engine implements Algorithm 1 of "The latest gossip on BFT consensus"
(Buchman, Kwon, Milosevic 2018): one-block finality while less than a third
of the voting power is crashed, slow or malicious. It imports no trio, clock,
socket or randomness: ``Core.step(input) -> list[action]``, nothing else.
Modules: ``types`` (thresholds, timeouts), ``inputs``, ``actions``,
``round_machine`` (the paper's rules, pure), ``vote_keeper``, ``proposer``
(weighted round robin), ``driver`` (``Core``), ``commit`` (``verify_commit``,
``bft_time``), ``verify`` (checks on peer messages), ``wal`` (record codec).
Byte formats: docs/protocol/consensus.md. Design notes: docs/consensus.md.

Integration contract (node/)
----------------------------
Setup. ``core = Core(CoreConfig(address=our_key_or_None, timeouts=...))``;
``guard = SignerGuard(key, genesis_hash, FileSignerStore(...))``;
``wal, report = WriteAheadLog.open(path)``. Log ``report.problem`` if set.

Restart. Feed every ``report.inputs`` to ``core.step`` (do not append them
again), collecting the actions; then carry out *all* collected actions in
order, exactly as below. This is safe because every action is idempotent:
the guard re-signs identical bytes (or returns the stored vote when only the
timestamp differs), a second ``VoteSigned``/``BlockValidated``/``ValueReady``
is ignored, stale timeouts are ignored, and a ``Decide`` for a height already in the
block store is not stored again (the node still goes on to start the next
height). If the WAL was empty, send ``StartHeight`` for the height after the
last one in the block store.

Every input: ``wal.append(input)`` first, then ``actions = core.step(input)``,
then carry out the actions in order (answers such as ``VoteSigned`` are
themselves inputs: append, step, carry out, before the next action). Inputs,
and when to send them:

* ``StartHeight(h, validator_set)`` — at start (see above) and after the
  block decided at h−1 is committed to the store: ``wal.start_height(input)``
  (replaces the log; instead of ``append``), ``core.step(input)``, then feed
  every message ``next_height.release(h)`` returns, as ordinary inputs.
  ``validator_set`` is the set that finalizes height h. Validator set
  changes returned by the runtime while executing block H take effect at
  H+2: block H+1's header carries them as ``next_validators_hash``, so every
  node knows the set of H+2 when it starts H+2, and the set of height h is
  always fixed by the blocks up to h−2. The core trusts the set it is given.
* Peer messages: the core only takes messages of its current height
  (``core.height``). Hold those of ``core.height + 1`` in a
  ``consensus.buffer.NextHeightBuffer`` (``next_height.hold(input,
  core.height)``), drop the rest; this keeps every input the core acts on in
  the WAL.
* ``ProposalReceived(proposal, payload)`` — a peer's proposal whose
  signature passed ``consensus.verify.check_proposal``. First feed the
  ``pol_votes`` that came with it as ``VoteReceived``. ``payload`` is opaque
  (the encoded block, typically).
* ``VoteReceived(vote)`` — a peer's vote that passed ``check_vote``; also
  each precommit of a commit fetched by block sync (``commit_votes``), which
  makes a lagging core decide that height.
* ``TimeoutFired(h, r, step)`` — when a ``ScheduleTimeout`` timer expires.
  Timers are never cancelled; the core ignores stale ones.
* ``ValueReady``, ``BlockValidated``, ``VoteSigned``, ``ProposalSigned`` —
  answers to the requests below.

Actions, and what to do with each:

* ``RequestValue(h, r)`` — we propose: build block h (its ``last_commit`` is
  the commit of h−1, its timestamp ``bft_time(last_commit, set of h−1)``,
  the genesis time + 1 ms at h=1), store it, answer ``ValueReady(h, r, block_hash,
  block_time_ms, payload)``.
* ``RequestValidation(h, r, block_hash, payload)`` — get the block (the
  payload, the proposal's gossip, or block sync) and execute it on a state
  overlay: valid iff it decodes, its header links to h−1, its
  ``last_commit`` passes ``verify_commit`` for h−1's set, its timestamp is
  ``bft_time(last_commit)`` and greater than h−1's, the proposer matches, and
  execution reproduces its roots. Answer ``BlockValidated(h, block_hash,
  valid, block_time_ms)``; keep the executed overlay for the commit.
* ``SignVote(type, h, r, block_hash, min_timestamp_ms)`` — **the node signs**:
  ``wal.sync()``, then ``vote = guard.sign_vote(type, h, r, block_hash,
  max(clock_ms, min_timestamp_ms))`` and answer ``VoteSigned(vote)``. If
  the guard raises ``DoubleSignError``, drop the request (log it loudly).
* ``SignProposal(h, r, pol_round, block_hash)`` — ``wal.sync()``, then
  ``guard.sign_proposal(...)``, answer ``ProposalSigned(proposal)``.
* ``BroadcastVote(vote)`` / ``BroadcastProposal(proposal, payload,
  pol_votes)`` — gossip to all peers. The algorithm assumes gossip
  eventually delivers; on a lossy network the node must: re-send its own
  messages of the current round when the core made no progress (height,
  round, step unchanged) for a while; send a peer heard at a lower round of
  the same height our messages of that round; send a peer at a lower height
  that height's commit, and ask a peer at a higher height for ours (block
  sync; feed the commit with ``commit_votes``). tests/sim does all four.
* ``ScheduleTimeout(h, r, step, duration_ms)`` — start a timer.
* ``Decide(h, r, block_hash, commit, payload)`` — block h is final: commit
  its executed state, the block and ``commit`` (the proof, and block h+1's
  ``last_commit``) in one atomic write; then, after ``block_interval_ms``,
  ``StartHeight(h+1, ...)``. The ``Commit`` of a decided block is this one.
* ``EvidenceFound(evidence)`` — keep it for the next block we build; it
  proves a validator signed two votes for one (height, round, type). If the
  validator is us, another process runs with our key: alarm.
* ``ConflictingProposal(first, second)`` — the proposer equivocated: log it
  and penalise the peer that sent it.
"""

from .actions import (
    Action,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    Decide,
    EvidenceFound,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
)
from .buffer import NextHeightBuffer
from .commit import InvalidCommit, bft_time, build_commit, commit_votes, verify_commit
from .driver import Core, CoreConfig
from .inputs import (
    BlockValidated,
    Input,
    ProposalReceived,
    ProposalSigned,
    StartHeight,
    TimeoutFired,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from .proposer import ProposerSelector, proposer_of
from .types import ConsensusError, Step, TimeoutParams, TimeoutStep
from .verify import InvalidMessage, check_proposal, check_vote

__all__ = [
    "Action",
    "BlockValidated",
    "BroadcastProposal",
    "BroadcastVote",
    "ConflictingProposal",
    "ConsensusError",
    "Core",
    "CoreConfig",
    "Decide",
    "EvidenceFound",
    "Input",
    "InvalidCommit",
    "InvalidMessage",
    "NextHeightBuffer",
    "ProposalReceived",
    "ProposalSigned",
    "ProposerSelector",
    "RequestValidation",
    "RequestValue",
    "ScheduleTimeout",
    "SignProposal",
    "SignVote",
    "StartHeight",
    "Step",
    "TimeoutFired",
    "TimeoutParams",
    "TimeoutStep",
    "ValueReady",
    "VoteReceived",
    "VoteSigned",
    "bft_time",
    "build_commit",
    "check_proposal",
    "check_vote",
    "commit_votes",
    "proposer_of",
    "verify_commit",
]
