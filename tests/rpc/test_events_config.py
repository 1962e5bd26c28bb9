"""The event hub's fan-out and back-pressure; RpcConfig validation."""

from __future__ import annotations

import pytest
import trio
from pydantic import ValidationError

from ledger.crypto import Keypair
from rpc.backend import (
    Dropped,
    ExtrinsicRejected,
    ExtrinsicStatus,
    Finalized,
    FinalizedHead,
    InBlock,
    Lagged,
    NewHead,
    Topics,
)
from rpc.config import RpcConfig
from rpc.events import EventHub
from tests.rpc.fake_backend import FakeBackend

HASH = Keypair.dev("x").public


async def test_every_subscriber_gets_every_event_in_order() -> None:
    hub = EventHub(buffer=8)
    events = [ExtrinsicStatus(HASH, InBlock(bytes([i]) * 32)) for i in range(5)]
    async with hub.subscribe() as first, hub.subscribe() as second:
        assert hub.subscriber_count == 2
        for event in events:
            hub.publish(event)
        for channel in (first, second):
            assert [await channel.receive() for _ in events] == events
    assert hub.subscriber_count == 0
    hub.publish(events[0])  # nobody listening: a no-op


async def test_a_slow_subscriber_is_cut_off_with_a_lagged_marker_not_in_silence() -> None:
    hub = EventHub(buffer=2)
    async with hub.subscribe() as slow, hub.subscribe() as fast:
        for _ in range(2):
            hub.publish(ExtrinsicStatus(HASH, Dropped()))
            await fast.receive()
        hub.publish(ExtrinsicStatus(HASH, Dropped()))  # slow's buffer is full: cut off
        assert hub.subscriber_count == 1 and hub.lagged == 1
        assert await fast.receive() == ExtrinsicStatus(HASH, Dropped())
        received = [await slow.receive(), await slow.receive()]
        assert received == [ExtrinsicStatus(HASH, Dropped())] * 2
        assert await slow.receive() == Lagged(2)  # the stream says why it ends
        with pytest.raises(trio.EndOfChannel):
            await slow.receive()


async def test_events_are_routed_by_topic_so_a_big_block_cannot_overflow_a_head_stream() -> None:
    """A block of 1 000 extrinsics: a head subscriber gets its two heads, a watcher its own."""
    hub = EventHub(buffer=4)
    header = FakeBackend().blocks[FakeBackend().genesis_hash].header
    others = [Keypair.dev(f"x{i}").public for i in range(1000)]
    async with (
        hub.subscribe(Topics(new_heads=True, finalized_heads=True)) as heads,
        hub.subscribe(Topics(extrinsic=HASH)) as watcher,
    ):
        hub.publish(NewHead(header))
        for other in [*others, HASH]:
            hub.publish(ExtrinsicStatus(other, InBlock(bytes(32))))
        hub.publish(FinalizedHead(header))
        for other in [*others, HASH]:
            hub.publish(ExtrinsicStatus(other, Finalized(bytes(32))))
        assert hub.lagged == 0 and hub.subscriber_count == 2
        assert [await heads.receive(), await heads.receive()] == [
            NewHead(header),
            FinalizedHead(header),
        ]
        assert [await watcher.receive(), await watcher.receive()] == [
            ExtrinsicStatus(HASH, InBlock(bytes(32))),
            ExtrinsicStatus(HASH, Finalized(bytes(32))),
        ]
    assert hub.subscriber_count == 0


def test_hub_and_rejection_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        EventHub(buffer=0)
    with pytest.raises(ValueError, match="1010-1014"):
        ExtrinsicRejected(1099, "nope")


def test_config_defaults_follow_the_spec() -> None:
    config = RpcConfig()
    assert (config.host, config.port, config.bind) == ("127.0.0.1", 9944, "127.0.0.1:9944")
    assert (config.max_body_bytes, config.max_batch) == (1 << 20, 100)
    assert config.cors_origins == () and config.unsafe_methods is False
    assert not config.origin_allowed("http://localhost:3000")


def test_config_from_listen_and_refusals() -> None:
    config = RpcConfig.from_listen("[::1]:0", max_batch=5, cors_origins=["https://w.example"])
    assert (config.host, config.port, config.bind) == ("::1", 0, "[::1]:0")
    assert config.origin_allowed("https://w.example")
    assert RpcConfig(cors_origins=("*",)).origin_allowed("https://any.example")
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        RpcConfig.from_listen("9944")
    with pytest.raises(ValidationError, match="max_batch"):
        RpcConfig(max_batch=0)
    with pytest.raises(ValidationError, match="must be"):
        RpcConfig(cors_origins=("evil.example",))
    with pytest.raises(ValidationError, match="Extra inputs"):
        RpcConfig(max_bach=5)  # type: ignore[call-arg]
