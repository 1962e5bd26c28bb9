"""Hypothesis strategies that build near-valid inputs for each fuzz target.

Theory of operation
-------------------
Random bytes rarely get past the first check of a parser, so each target
gets three kinds of input: *mutations* of its valid seeds (bytes flipped,
cut, repeated, spliced with the headers that break parsers: huge lengths,
reserved bytes), *structured* values built from the protocol's own shapes
(msgpack values of every type, extrinsics whose calls and arguments come
from the runtime's metadata, frames of known types, JSON-RPC requests for
known methods) and plain random bytes. Shrinking then reduces a failure to
its smallest form, which is what gets pinned in ``corpus/``.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from pallets.support import argtypes
from tests.fuzz import targets_ledger, targets_p2p
from tests.fuzz.harness import Target

# Headers and bytes that have broken parsers before: 4 GiB lengths, reserved
# and ext type bytes, deep nesting starts, maximal integers.
NASTY = [
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\xff\xff\xff\xff",
    b"\xc6\xff\xff\xff\xff",
    b"\xdb\xff\xff\xff\xff",
    b"\xc1",
    b"\xd6\xff\x00\x00\x00\x00",
    b"\xcb" + bytes(8),
    b"\x91" * 40,
    b"\xcf" + b"\xff" * 8,
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
]

SMALL_ORDER_ED25519 = [  # encodings of the 8 small-order points (and a non-canonical one)
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "nasty", "repeat", "truncate"]))
        where = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            index = min(where, len(data) - 1)
            data[index] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[where : where + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "nasty":
            data[where:where] = draw(st.sampled_from(NASTY))
        elif kind == "repeat":
            data[where:where] = data[where : where + draw(st.integers(1, 16))] * 2
        else:
            del data[where:]
    return bytes(data)


def from_seeds_or_random(target: Target) -> st.SearchStrategy[bytes]:
    seeds = target.seeds()
    return mutated(seeds) | st.binary(max_size=300) | st.sampled_from(seeds)


# ---------------------------------------------------------------- msgpack values

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**65)
    | st.floats(allow_nan=True)
    | st.binary(max_size=40)
    | st.text(max_size=20)
)
msgpack_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(
            st.text(max_size=6) | st.binary(max_size=3) | st.integers(0, 9), inner, max_size=5
        )
    ),
    max_leaves=20,
)


@st.composite
def packed(draw: st.DrawFn, values: st.SearchStrategy[Any] = msgpack_values) -> bytes:
    """A value packed canonically when it can be, else by plain msgpack (old str/bin rules)."""
    value = draw(values)
    try:
        return codec.encode(value)
    except codec.EncodeError:
        pass
    try:
        result: bytes = msgpack.packb(value, use_bin_type=draw(st.booleans()))
    except (TypeError, ValueError, OverflowError):
        return b"\xc0"
    return result


def codec_inputs() -> st.SearchStrategy[bytes]:
    return packed() | from_seeds_or_random(targets_ledger.CODEC)


# ---------------------------------------------------------------- extrinsics


def valid_value_for(kind: argtypes.ArgType) -> st.SearchStrategy[Any]:
    """Values ``kind.check`` accepts (a type known only by its metadata: by its pattern)."""
    if isinstance(kind, argtypes.Int):
        return st.integers(kind.minimum, kind.maximum)
    if isinstance(kind, argtypes.FixedBytes):
        return st.binary(min_size=kind.length, max_size=kind.length)
    if isinstance(kind, argtypes.Bytes):
        return st.binary(max_size=min(kind.max_len, 48))
    if isinstance(kind, argtypes.Text):
        letters = st.characters(blacklist_categories=("Cc", "Cs"))
        return st.text(letters, max_size=min(kind.max_len // 4, 12))
    if isinstance(kind, argtypes.Bool):
        return st.booleans()
    if isinstance(kind, argtypes.Enum):
        return st.sampled_from(kind.values)
    if isinstance(kind, argtypes.Optional):
        return st.none() | valid_value_for(kind.of)
    if isinstance(kind, argtypes.List):
        most = min(kind.max_len, max(kind.min_len, 4))
        items = valid_value_for(kind.of)
        if kind.unique:
            return st.lists(items, min_size=kind.min_len, max_size=most, unique_by=repr)
        return st.lists(items, min_size=kind.min_len, max_size=most)
    if isinstance(kind, argtypes.Record):
        return st.tuples(*(valid_value_for(of) for _, of in kind.fields)).map(list)
    pattern = kind.describe().get("pattern")
    if isinstance(pattern, str):  # e.g. a bioregion id
        return st.from_regex(pattern, fullmatch=True).filter(lambda v: _accepts(kind, v))
    raise AssertionError(f"no strategy for {kind!r}: add one")


def _accepts(kind: argtypes.ArgType, value: Any) -> bool:
    try:
        kind.check(value, "value")
    except argtypes.ArgError:
        return False
    return True


def value_for(kind: argtypes.ArgType) -> st.SearchStrategy[Any]:
    """Values of ``kind`` and just outside it (wrong type, off by one, too long)."""
    wrong = scalars | st.lists(scalars, max_size=3)
    if isinstance(kind, argtypes.Int):
        return valid_value_for(kind) | st.sampled_from(
            [kind.minimum - 1, kind.maximum + 1, True, -(2**63)]
        )
    if isinstance(kind, argtypes.FixedBytes):
        return valid_value_for(kind) | st.binary(max_size=40)
    if isinstance(kind, argtypes.Bytes):
        return st.binary(max_size=kind.max_len + 2)
    if isinstance(kind, argtypes.Text):
        return (
            st.text(max_size=min(kind.max_len, 80)) | st.just("\x00") | st.just("é" * kind.max_len)
        )
    if isinstance(kind, argtypes.Enum):
        return valid_value_for(kind) | st.text(max_size=8)
    if isinstance(kind, argtypes.List):
        return st.lists(value_for(kind.of), max_size=kind.max_len + 1) | wrong
    if isinstance(kind, argtypes.Optional):
        return st.none() | value_for(kind.of)
    if isinstance(kind, argtypes.Record):
        return st.tuples(*(value_for(t) for _, t in kind.fields)).map(list) | wrong
    return wrong


@st.composite
def extrinsics(draw: st.DrawFn) -> bytes:
    """A signed (or mis-signed) extrinsic for a real call, with generated arguments."""
    call_def = draw(st.sampled_from(targets_ledger.all_calls()))
    args = {name: draw(value_for(kind)) for name, kind in call_def.args}
    if args and draw(st.integers(0, 9)) == 0:
        del args[draw(st.sampled_from(sorted(args)))]
    if draw(st.integers(0, 9)) == 0:
        args[draw(st.text(min_size=1, max_size=6))] = draw(scalars)
    call = Call(call_def.pallet, call_def.name, args)
    nonce = draw(st.integers(0, 3) | st.integers(0, 2**64 - 1))
    valid_until = draw(st.integers(0, 200) | st.integers(0, 2**64 - 1))
    try:
        data = targets_ledger.sign(call, nonce=nonce, valid_until=valid_until)
    except codec.EncodeError:  # a generated value with no canonical form (float...)
        unsigned: bytes = msgpack.packb([1, targets_ledger.ALICE.public, nonce, valid_until, []])
        return unsigned
    if draw(st.integers(0, 4)) == 0:  # a bad signature or a foreign signer
        ext = Extrinsic.decode(data)
        signature = draw(st.binary(min_size=64, max_size=64))
        signer = draw(st.sampled_from([ext.signer, *SMALL_ORDER_ED25519]))
        data = Extrinsic(signer, ext.nonce, ext.valid_until, ext.call, signature).encode()
    return data


def extrinsic_inputs() -> st.SearchStrategy[bytes]:
    return extrinsics() | from_seeds_or_random(targets_ledger.EXTRINSIC)


# ---------------------------------------------------------------- p2p


@st.composite
def frame_streams(draw: st.DrawFn) -> bytes:
    """Frames of known and unknown types whose bodies are msgpack values."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        type_id = draw(st.integers(0, 12))
        body = draw(packed())
        parts.append(bytes([type_id]) + len(body).to_bytes(4, "big") + body)
    prefix = draw(st.binary(min_size=2, max_size=2))
    return prefix + b"".join(parts)


def frame_inputs() -> st.SearchStrategy[bytes]:
    return frame_streams() | from_seeds_or_random(targets_p2p.P2P_FRAMES)


def _payload_values() -> st.SearchStrategy[Any]:
    key = st.sampled_from(SMALL_ORDER_ED25519) | st.binary(min_size=32, max_size=32)
    return (
        st.tuples(st.integers(-2, 3) | scalars, st.binary(max_size=40) | scalars).map(list)
        | st.tuples(key | scalars, st.binary(min_size=64, max_size=64) | scalars).map(list)
        | msgpack_values
    )


@st.composite
def handshake_payloads(draw: st.DrawFn) -> bytes:
    stage = draw(st.sampled_from([3, 4]))
    return bytes([stage]) + draw(packed(_payload_values()))


def handshake_inputs() -> st.SearchStrategy[bytes]:
    return handshake_payloads() | from_seeds_or_random(targets_p2p.P2P_HANDSHAKE)


# ---------------------------------------------------------------- JSON-RPC

METHODS = [
    "system_chain",
    "system_health",
    "chain_getBlockHash",
    "chain_getHeader",
    "chain_getBlock",
    "chain_getReceipt",
    "author_submitExtrinsic",
    "author_pendingExtrinsics",
    "account_nextIndex",
    "state_getStorage",
    "state_getReadProof",
    "state_getMetadata",
    "chain_subscribeNewHeads",
    "system_resetPeers",
    "balances_getBalance",
    "rpc_methods",
]
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.binary(max_size=40).map(lambda b: "0x" + b.hex())
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
plausible_params = (
    st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
    | st.binary(max_size=40).map(lambda b: "0x" + b.hex())
    | st.sampled_from([encode_address(Keypair.dev(n).public) for n in ("alice", "bob")])
    | st.integers(-3, 10)
    | json_values
)
well_formed_requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.just("2.0"),
        "id": st.integers(0, 1000) | st.text(max_size=4),
        "method": st.sampled_from(METHODS),
    },
    optional={
        "params": st.lists(plausible_params, max_size=3)
        | st.dictionaries(
            st.sampled_from(["hash", "height", "at", "key", "keys", "address", "x"]),
            plausible_params,
            max_size=3,
        )
    },
)
any_requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.just("2.0") | json_scalars,
        "method": st.sampled_from(METHODS) | st.text(max_size=12),
    },
    optional={"id": json_values, "params": json_values},
)
requests = well_formed_requests | any_requests


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    depth = draw(st.integers(10, 5000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_chain", "params": []})
    return opener * depth + inner + closer * depth


def rpc_inputs() -> st.SearchStrategy[bytes]:
    texts = (
        (requests | st.lists(requests, min_size=0, max_size=6)).map(json.dumps)
        | deep_json()
        | st.sampled_from(["1" * 5000, "1e400", "-0", '"\\ud800"', "NaN", "[" * 100_000])
    )
    return (
        texts.map(str.encode)
        | st.binary(max_size=200)
        | mutated(
            [
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": m, "params": []}).encode()
                for m in METHODS
            ]
        )
    )
