"""Every fuzz target keeps its promises on generated input (see harness.py).

``CREDICHAIN_FUZZ_EXAMPLES`` (default 120) sets the examples per property;
``CREDICHAIN_FUZZ_EXAMPLES=5000 pytest tests/fuzz`` is a longer run. A
failure shrinks to a small input: pin it as a file in ``corpus/<target>/``
(replayed by test_corpus.py) once it is fixed.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings

from tests.fuzz import strategies
from tests.fuzz.harness import EXAMPLES, exercise
from tests.fuzz.targets import TARGETS

# A per-example deadline well above the slowest honest input (a handshake,
# about a millisecond) yet far below a hang; the SIGALRM watchdog of
# ``exercise`` stops a real hang.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(strategies.codec_inputs())
@example(b"\xdd\xff\xff\xff\xff")  # an array claiming 2**32-1 items
@example(b"\xcf\x00\x00\x00\x00\x00\x00\x00\x01")  # 1 as uint64: not the shortest form
@example(b"\x82\xa1b\x01\xa1a\x02")  # map keys out of order
def test_codec(data: bytes) -> None:
    exercise(TARGETS["codec"], data)


@FUZZ
@given(strategies.extrinsic_inputs())
@example(b"\x96\xc3" + bytes(5))  # version true, which equals 1 in Python
@example(b"\x96\x01\xc4\x20" + bytes(32) + b"\x00\x00\x93\xa0\xa0\x80\xc4\x40" + bytes(64))
def test_extrinsic(data: bytes) -> None:
    exercise(TARGETS["extrinsic"], data)


@FUZZ
@given(strategies.frame_inputs())
@example(b"\x00\x00\x04\xff\xff\xff\xff")  # an Extrinsics frame announcing 4 GiB
@example(b"\x00\x01\xff\xff" + b"\x04")  # a record announcing 65535 bytes, then nothing
def test_p2p_frames(data: bytes) -> None:
    exercise(TARGETS["p2p_frames"], data)


@FUZZ
@given(strategies.handshake_inputs())
@example(b"\x00" + bytes(32) + b"\x92\x01\xc4\x20" + bytes(32))  # all-zero ephemeral key
@example(b"\x03\x92\xc3\xc4\x20" + bytes(32))  # version true
def test_p2p_handshake(data: bytes) -> None:
    exercise(TARGETS["p2p_handshake"], data)


@FUZZ
@given(strategies.rpc_inputs())
@example(b'{"jsonrpc":"2.0","id":1e400,"method":"system_chain"}')
@example(b'{"jsonrpc":"2.0","id":1,"method":"chain_getBlockHash","params":[1e400]}')
@example(b'[{"jsonrpc":"2.0","id":1,"method":"system_chain"}' + b",1" * 100 + b"]")
def test_rpc_http(data: bytes) -> None:
    exercise(TARGETS["rpc_http"], data)
