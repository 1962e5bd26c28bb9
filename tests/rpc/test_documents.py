"""documents_put / documents_get / documents_purge over real HTTP (F10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.crypto import blake2b256
from rpc.client import RpcClient
from rpc.config import RpcConfig
from rpc.documents import DocumentAnswer, DocumentRefused, register_document_methods
from rpc.errors import INVALID_PARAMS, METHOD_NOT_FOUND, RpcError
from tests.rpc.fake_backend import FakeBackend, build_registry
from tests.rpc.live_server import LiveServer

LIMIT = 64  # this fake's bound, to see a refusal pass through


class DocumentFake(FakeBackend):
    """A FakeBackend with an in-memory document store and a governance purge set."""

    def __init__(self) -> None:
        super().__init__()
        self.documents: dict[bytes, bytes] = {}
        self.here: set[bytes] = set()
        self.governance: set[bytes] = set()

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        digest = blake2b256(content)
        if len(content) > LIMIT:
            raise DocumentRefused(f"a document is at most {LIMIT} bytes, got {len(content)}")
        if digest in self.here | self.governance:
            raise DocumentRefused(f"document 0x{digest.hex()} was purged")
        new = digest not in self.documents
        self.documents[digest] = content
        return digest, new

    def get_document(self, digest: bytes) -> DocumentAnswer:
        if digest in self.governance:
            return DocumentAnswer("redacted", purged_by="governance")
        if digest in self.here:
            return DocumentAnswer("redacted", purged_by="operator")
        if digest in self.documents:
            return DocumentAnswer("available", self.documents[digest])
        return DocumentAnswer("unknown")

    def purge_document_here(self, digest: bytes) -> bool:
        self.here.add(digest)
        return self.documents.pop(digest, None) is not None


def serve(unsafe: bool, backend: FakeBackend | None = None) -> LiveServer:
    registry = build_registry()
    register_document_methods(registry)
    config = RpcConfig(port=0, unsafe_methods=unsafe)
    return LiveServer(backend or DocumentFake(), config=config, registry=registry).start()


@pytest.fixture
def server() -> Iterator[LiveServer]:
    live = serve(unsafe=True)
    yield live
    live.stop()


def hexhash(content: bytes) -> str:
    return "0x" + blake2b256(content).hex()


def test_put_then_get_a_text_and_binary_data(server: LiveServer) -> None:
    with RpcClient(server.url) as client:
        put = client.call_named("documents_put", text="sales at three fairs")
        assert put == {"hash": hexhash(b"sales at three fairs"), "size": 20, "new": True}
        assert client.call_named("documents_put", text="sales at three fairs")["new"] is False
        got = client.call("documents_get", put["hash"])
        assert (got["status"], got["text"], got["data"], got["size"]) == (
            "available",
            "sales at three fairs",
            None,
            20,
        )
        binary = bytes([0xFF, 0x00, 0x80])
        put = client.call_named("documents_put", data="0x" + binary.hex())
        got = client.call("documents_get", put["hash"])
        assert (got["text"], got["data"]) == (None, "0xff0080")
        unknown = client.call("documents_get", hexhash(b"never"))
        assert (unknown["status"], unknown["text"], unknown["purgedBy"]) == ("unknown", None, None)


def test_bad_puts_and_hashes_are_refused_naming_the_parameter(server: LiveServer) -> None:
    with RpcClient(server.url) as client:
        for params in ({}, {"text": "a", "data": "0x00"}):
            with pytest.raises(RpcError) as exc:
                client.call_named("documents_put", **params)
            assert exc.value.code == INVALID_PARAMS and "exactly one" in str(exc.value.data)
        with pytest.raises(RpcError) as exc:
            client.call_named("documents_put", text="x" * (LIMIT + 1))
        assert exc.value.code == INVALID_PARAMS and f"at most {LIMIT} bytes" in str(exc.value.data)
        with pytest.raises(RpcError) as exc:
            client.call("documents_get", "0x1234")
        assert exc.value.code == INVALID_PARAMS and "hash" in str(exc.value.data)


def test_the_operators_purge_redacts_and_refuses(server: LiveServer) -> None:
    with RpcClient(server.url) as client:
        digest = client.call_named("documents_put", text="12 Elm Street")["hash"]
        assert client.call("documents_purge", digest) == {"hash": digest, "deleted": True}
        got = client.call("documents_get", digest)
        assert (got["status"], got["text"], got["purgedBy"]) == ("redacted", None, "operator")
        with pytest.raises(RpcError) as exc:
            client.call_named("documents_put", text="12 Elm Street")
        assert exc.value.code == INVALID_PARAMS and "purged" in str(exc.value.data)


def test_a_governance_purge_shows_as_redacted() -> None:
    backend = DocumentFake()
    live = serve(unsafe=False, backend=backend)
    try:
        with RpcClient(live.url) as client:
            digest = client.call_named("documents_put", text="why trusted")["hash"]
            live.run(backend.governance.add, bytes.fromhex(digest[2:]))
            got = client.call("documents_get", digest)
            assert (got["status"], got["purgedBy"]) == ("redacted", "governance")
    finally:
        live.stop()


def test_purge_is_unsafe_and_a_backend_without_documents_has_no_such_methods() -> None:
    live = serve(unsafe=False)
    plain = serve(unsafe=True, backend=FakeBackend())
    try:
        with RpcClient(live.url) as client:
            with pytest.raises(RpcError) as exc:
                client.call("documents_purge", hexhash(b"x"))
            assert exc.value.code == METHOD_NOT_FOUND and "unsafe" in str(exc.value.data)
        with RpcClient(plain.url) as client:
            with pytest.raises(RpcError) as exc:
                client.call("documents_get", hexhash(b"x"))
            assert exc.value.code == METHOD_NOT_FOUND
    finally:
        live.stop()
        plain.stop()
