"""The event hub's fan-out and back-pressure; RpcConfig validation."""

from __future__ import annotations

import pytest
import trio
from pydantic import ValidationError

from ledger.crypto import Keypair
from rpc.backend import Dropped, ExtrinsicRejected, ExtrinsicStatus, InBlock
from rpc.config import RpcConfig
from rpc.events import EventHub

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


async def test_a_slow_subscriber_is_cut_off_not_buffered_forever() -> None:
    hub = EventHub(buffer=2)
    async with hub.subscribe() as slow, hub.subscribe() as fast:
        for _ in range(2):
            hub.publish(ExtrinsicStatus(HASH, Dropped()))
            await fast.receive()
        hub.publish(ExtrinsicStatus(HASH, Dropped()))  # slow's buffer is full: dropped
        assert hub.subscriber_count == 1
        assert await fast.receive() == ExtrinsicStatus(HASH, Dropped())
        received = [await slow.receive(), await slow.receive()]
        assert len(received) == 2
        with pytest.raises(trio.EndOfChannel):
            await slow.receive()


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
