"""Oversized and deeply nested inputs are refused before they cost memory.

Each test builds the hostile input first, then measures with ``tracemalloc``
the peak of what the entry point allocates while refusing it. A header that
claims 2**32 items must be refused from the header alone (a few KiB at
most), not after a list of 2**32 slots was made; nesting a million levels
deep must be refused at the depth limit, not after a million frames.
"""

from __future__ import annotations

import functools
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import trio

from ledger import codec
from ledger.codec import DecodeError, LimitError
from ledger.types import EXTRINSIC_LIMITS
from p2p.framing import FrameDecoder, FrameTooLarge
from p2p.handshake import HandshakeError
from p2p.messages import MAX_BODY, MessageError, MessageType, decode_body
from pallets.executive.validate import TOO_LARGE, InvalidExtrinsic, decode_extrinsic
from rpc.app import RpcApp
from rpc.config import RpcConfig
from tests.fuzz.targets_p2p import honest, max_body
from tests.fuzz.targets_rpc import asgi_request
from tests.rpc.fake_backend import FakeBackend, build_registry

SMALL = 16 * 1024  # what refusing from a header may cost: messages, a traceback
MIB = 1 << 20


def peak_while(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()``'s result (or the exception it raised) and the peak bytes it allocated."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = fn()
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- codec


@pytest.mark.parametrize(
    ("header", "what"),
    [
        (b"\xdd\xff\xff\xff\xff", "array"),
        (b"\xdf\xff\xff\xff\xff", "map"),
        (b"\xc6\xff\xff\xff\xff", "bin"),
        (b"\xdb\xff\xff\xff\xff", "str"),
    ],
)
def test_codec_refuses_a_4gib_claim_from_its_header(header: bytes, what: str) -> None:
    data = header + bytes(64)
    error, peak = peak_while(lambda: codec.decode(data))
    assert isinstance(error, LimitError) and what in str(error)
    assert peak < SMALL, peak


def test_codec_refuses_a_claim_longer_than_the_input_without_preallocating() -> None:
    # Within the container limit, but 65 535 items cannot fit in 3 bytes: the C
    # unpacker would preallocate a 512 KiB list for this header alone.
    data = b"\xdc\xff\xff\x00\x00\x00"
    error, peak = peak_while(lambda: codec.decode(data))
    assert isinstance(error, DecodeError) and "truncated" in str(error)
    assert peak < SMALL, peak


def test_codec_refuses_a_million_levels_of_nesting_at_the_depth_limit() -> None:
    data = b"\x91" * (MIB - 1) + b"\xc0"
    error, peak = peak_while(lambda: codec.decode(data))
    assert isinstance(error, LimitError) and "nesting deeper than the limit of 16" in str(error)
    assert peak < SMALL, peak


# ---------------------------------------------------------------- extrinsics


def test_an_oversized_extrinsic_is_refused_before_decoding() -> None:
    data = b"\x96" + b"\x00" * MIB
    error, peak = peak_while(lambda: decode_extrinsic(data, 16 * 1024))
    assert isinstance(error, InvalidExtrinsic) and error.kind == TOO_LARGE
    assert peak < SMALL, peak


def test_an_extrinsic_whose_args_claim_4g_entries_is_refused_from_the_header() -> None:
    data = b"\x96\x01\xc4\x20" + bytes(32) + b"\x00\x00\x93\xa0\xa0\xdf\xff\xff\xff\xff"
    error, peak = peak_while(lambda: decode_extrinsic(data, EXTRINSIC_LIMITS.max_size))
    assert isinstance(error, InvalidExtrinsic) and error.kind == TOO_LARGE
    assert "map of 4294967295 entries" in error.detail
    assert peak < SMALL, peak


# ---------------------------------------------------------------- p2p


def test_a_frame_announcing_4gib_is_refused_from_its_5_byte_header() -> None:
    decoder = FrameDecoder(max_body)
    header = bytes([MessageType.EXTRINSICS]) + b"\xff\xff\xff\xff"
    error, peak = peak_while(lambda: decoder.feed(header))
    assert isinstance(error, FrameTooLarge) and "announces 4294967295 bytes" in str(error)
    assert peak < SMALL, peak


def test_an_allowed_large_frame_is_not_preallocated_from_its_header() -> None:
    decoder = FrameDecoder(max_body)
    limit = MAX_BODY[MessageType.EXTRINSICS]
    header = bytes([MessageType.EXTRINSICS]) + limit.to_bytes(4, "big")
    frames, peak = peak_while(lambda: decoder.feed(header))
    assert frames == [] and decoder.buffered == 0  # waiting for the body, holding nothing
    assert peak < SMALL, peak


def test_a_message_body_claiming_4g_items_is_refused_from_the_header() -> None:
    body = b"\xdd\xff\xff\xff\xff" + bytes(16)
    error, peak = peak_while(lambda: decode_body(MessageType.EXTRINSICS, body))
    assert isinstance(error, MessageError) and "array of 4294967295 entries" in str(error)
    assert peak < SMALL, peak


def test_a_hello_claiming_4g_items_is_refused_from_the_header() -> None:
    # An all-clear first message: the ephemeral key, then the (unencrypted) hello.
    ephemeral = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    message = ephemeral + b"\xdd\xff\xff\xff\xff" + bytes(16)
    responder = honest(False)
    error, peak = peak_while(lambda: responder.receive(message))
    assert isinstance(error, HandshakeError) and error.reason == "malformed"
    assert "exceeds the limit" in str(error)
    assert peak < 4 * SMALL, peak  # the Noise state itself hashes the message


# ---------------------------------------------------------------- JSON-RPC


def rpc_app() -> RpcApp:
    return RpcApp(build_registry(), FakeBackend(), RpcConfig())


def run_request(application: RpcApp, pieces: list[bytes]) -> tuple[int, Any]:
    status, _headers, payload = trio.run(functools.partial(asgi_request, application, pieces))
    return status, json.loads(payload)


def test_an_oversized_body_is_refused_while_it_streams_in() -> None:
    application = rpc_app()
    pieces = [b" " * 65536 for _ in range(64)]  # 4 MiB against the 1 MiB default
    (status, reply), peak = peak_while(lambda: run_request(application, pieces))
    assert status == 413
    assert reply["error"]["data"] == "request body exceeds the limit of 1048576 bytes"
    assert peak < 256 * 1024, peak  # trio.run itself; the chunks are counted, never joined


def test_json_nested_a_million_deep_is_a_parse_error_with_bounded_memory() -> None:
    application = rpc_app()
    body = [b"[" * (MIB - 16)]
    (status, reply), peak = peak_while(lambda: run_request(application, body))
    assert status == 200 and reply["error"]["code"] == -32700
    assert peak < 4 * MIB, peak  # the body, once as bytes and once as text


def test_a_batch_of_empty_objects_at_the_body_limit_costs_a_bounded_multiple() -> None:
    """The worst case for JSON: the batch is parsed whole before its length is checked.

    Bounded by the body limit (1 MiB): 349 524 empty objects take ~27 MiB
    while parsed, then the batch is refused; docs/reliability.md records it.
    """
    application = rpc_app()
    count = MIB // 3 - 1
    body = [b"[" + b"{}," * (count - 1) + b"{}]"]
    (status, reply), peak = peak_while(lambda: run_request(application, body))
    assert status == 200 and reply["error"]["code"] == -32600
    assert reply["error"]["data"] == f"batch of {count} calls exceeds the limit of 100"
    assert peak < 40 * MIB, peak
