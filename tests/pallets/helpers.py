"""A chain in memory for runtime tests: genesis, signing, blocks, ``assert_noop``.

``TestChain`` builds genesis on a real ``StateTrie`` over ``MemoryKV``,
signs extrinsics with the dev keys, executes blocks through the runtime's
public API (``execute`` + ``commit``) and checks the invariants after every
block, as FRAME tests do.

By default the runtime is the chain's own minus the payment pallet, as
FRAME's mock runtimes leave fees out: a pallet's rule tests then see exactly
the state changes of its calls, and ``assert_noop`` can demand an unmoved
state root. ``TestChain(fees=True)`` runs the full runtime with fees, the
allowance and dust reaping (tests/pallets/test_payment.py), as every real
node does (tests/e2e).

The test genesis is the localnet's (every dev account a member of the
"localnet" bioregion) plus the credit tests' borrowers ``PERSONS`` (Lucía,
Ana, Ben) as registered members too: T1 gives initial trust to registered
persons only, as the FediCredits example assumes of its people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genesis.build import build_genesis, genesis_header, parse_genesis
from genesis.localnet import localnet_doc
from genesis.schema import GenesisDoc
from ledger import vrf
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.kv import KVStore, MemoryKV, WriteBatch
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import GENESIS_VRF_OUTPUT, Block, Call, Extrinsic, Receipt, block_vrf_alpha
from pallets import construct
from pallets.executive.executor import BlockEnv, BlockResult, Runtime
from pallets.executive.genesis import genesis_state
from pallets.executive.registry import PalletRegistry
from pallets.executive.verify import BatchVerifier
from pallets.system.storage import NONCE

GENESIS_TIME = 1_700_000_000
ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE = (
    Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve", "ferdie")
)
VALIDATOR = Keypair.from_seed(blake2b256(b"test-validator"))
LUCIA, ANA, BEN = (
    Keypair.from_seed(blake2b256(b"credit-test/" + n)) for n in (b"lucia", b"ana", b"ben")
)
PERSONS = (LUCIA, ANA, BEN)  # registered members besides the dev accounts (T1, G1)


def _member(key: Keypair, name: str) -> dict[str, str]:
    attestation = blake2b256(b"credichain-test/attestation/" + name.encode())
    return {
        "account": encode_address(key.public),
        "bioregion": "localnet",
        "attestation": "0x" + attestation.hex(),
    }


def test_doc(*, people: bool = True, **overrides: Any) -> GenesisDoc:
    """The localnet genesis, plus ``PERSONS`` as members of "localnet" unless ``people=False``."""
    data = localnet_doc([VALIDATOR], genesis_time=GENESIS_TIME).to_json_dict()
    if people:
        names = ("lucia", "ana", "ben")
        data["members"] = [*data["members"], *map(_member, PERSONS, names)]
    return parse_genesis({**data, **overrides})


class TestChain:
    __test__ = False  # not a pytest class

    def __init__(
        self,
        doc: GenesisDoc | None = None,
        *,
        threads: int = 1,
        registry: PalletRegistry | None = None,
        fees: bool = False,
        kv: KVStore | None = None,
    ) -> None:
        self.doc = doc or test_doc()
        self.kv = MemoryKV() if kv is None else kv
        self.trie = StateTrie(self.kv)
        if registry is None and fees:
            block0, self.root = build_genesis(self.doc, self.trie)
            registry = construct.registry()
        else:  # a runtime without fees, or with extra (test) pallets: build_genesis's steps
            if registry is None:
                registry = PalletRegistry(
                    [p for p in construct.PALLETS if p.payment is None], wiring=construct.WIRING
                )
            state = genesis_state(registry, self.doc.to_config())
            self.root = self.trie.commit(EMPTY_ROOT, state, 0)
            block0 = Block(genesis_header(self.doc, self.root), (), None, ())
        self.genesis_hash = block0.hash
        self.parent_hash = block0.hash
        self.height = 0
        self.time_ms = self.doc.genesis_time * 1000
        self.vrf_output = GENESIS_VRF_OUTPUT  # the parent's VRF output (C6)
        self.runtime = Runtime(
            registry, self.genesis_hash, self.trie, verifier=BatchVerifier(threads)
        )
        self.nonces: dict[bytes, int] = {}

    def state(self) -> Any:
        return self.runtime.state(self.root)

    def sign(
        self,
        key: Keypair,
        pallet: str,
        function: str,
        args: dict[str, Any],
        *,
        nonce: int | None = None,
        valid_until: int | None = None,
    ) -> bytes:
        if nonce is None:
            nonce = self.nonces.get(key.public, NONCE.get(self.state(), key.public))
            self.nonces[key.public] = nonce + 1
        until = self.height + 100 if valid_until is None else valid_until
        call = Call(pallet, function, args)
        return Extrinsic.create(key, nonce, until, call, self.genesis_hash).encode()

    def transfer(self, key: Keypair, dest: bytes, amount: int, **kw: Any) -> bytes:
        return self.sign(key, "balances", "transfer", {"dest": dest, "amount": amount}, **kw)

    def next_env(self, seconds: int = 1, *, round_: int = 0) -> BlockEnv:
        """The next block's context, with VALIDATOR's VRF proof for it (as a proposer's)."""
        height = self.height + 1
        alpha = block_vrf_alpha(self.genesis_hash, height, round_, self.vrf_output)
        return BlockEnv(
            height,
            self.time_ms + seconds * 1000,
            self.parent_hash,
            bytes(32),
            VALIDATOR.public,
            round_,
            vrf.prove(VALIDATOR, alpha),
            self.vrf_output,
        )

    def execute(self, extrinsics: Sequence[bytes], *, seconds: int = 1) -> BlockResult:
        """Execute and commit a block, then check every invariant.

        Every block runs twice (DESIGN.md §3): both executions must agree.
        """
        env = self.next_env(seconds)
        result = self.runtime.execute(self.root, env, extrinsics)
        again = self.runtime.execute(self.root, env, extrinsics)
        assert (again.state_root, again.receipts, again.events) == (
            result.state_root,
            result.receipts,
            result.events,
        )
        self.apply(result)
        return result

    def apply(self, result: BlockResult) -> None:
        batch = WriteBatch()
        self.runtime.commit(result, batch)
        self.kv.write(batch)
        self.root = result.state_root
        self.height = result.env.height
        self.time_ms = result.env.timestamp_ms
        self.vrf_output = result.vrf_output
        vs = self.doc.validator_set().hash
        self.parent_hash = result.header(validators_hash=vs, next_validators_hash=vs).hash
        self.nonces.clear()
        problems = self.runtime.check_invariants(self.root)
        assert problems == [], problems


def assert_noop(
    chain: TestChain, key: Keypair, raw: bytes, code: str, rule: str | None = None
) -> Receipt:
    """The FRAME way: the call fails with ``code`` and the state root does not move.

    "Does not move" here: the block's state is exactly that of the same block
    without the extrinsic (hooks, height, time) plus the signer's nonce
    increment, compared change by change and by state root.
    """
    before, env = chain.root, chain.next_env()
    result = chain.runtime.execute(before, env, [raw])
    (receipt,) = result.receipts
    assert not receipt.success, receipt
    assert receipt.error is not None and receipt.error.code == code, receipt.error
    if rule is not None:
        assert receipt.error.rule == rule, receipt.error
    assert receipt.events == ()
    empty = chain.runtime.execute(before, env, [])
    nonce_key = NONCE.key(key.public)
    assert result.changes == {**empty.changes, nonce_key: result.changes[nonce_key]}
    expected = chain.trie.stage(
        before, {**empty.changes, nonce_key: result.changes[nonce_key]}, env.height
    )
    assert expected.root == result.state_root
    assert result.events == empty.events
    chain.apply(result)
    return receipt
