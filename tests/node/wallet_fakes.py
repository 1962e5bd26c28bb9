"""Fakes for the wallet-command and RPC-query tests: a TestChain behind ``RpcClient``.

``ChainBackend`` is the part of ``RpcBackend`` that ``pallet_query`` uses
(best block, header by hash, state by hash) over a ``TestChain``: the current
head is always known and read live; older heads are known once ``record()``ed
(after the block that made them) and read from the state root kept then, so
that ``at`` reads historical state. ``run_query`` runs one registered query
method through the real parameter parsing and handler.

``ChainClient`` stands in for ``rpc.client.RpcClient`` as the wallet uses it:
a submitted extrinsic is executed at once as a block of the chain (its
receipt kept in ``ChainClient.receipts``) and queries go to ``run_query``.
``serve_chain`` points it at a chain and a query registry and installs it as
``RpcClient`` in the CLI modules under test; everything it sets is undone by
``monkeypatch`` when the test ends.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from ledger.crypto import decode_address
from ledger.types import Extrinsic, Receipt
from node.daemon.documents import DocumentError, DocumentStore
from pallets.credit.documents import purged_at
from pallets.system.storage import NONCE
from rpc.client import ChainProperties
from rpc.documents import DocumentAnswer, DocumentRefused
from rpc.errors import METHOD_NOT_FOUND, RpcError
from rpc.registry import CallContext, MethodRegistry, parse_params
from tests.pallets.helpers import TestChain

HRP = "cc"


class ChainBackend:
    """What ``pallet_query`` needs: best block, known headers, state by block hash."""

    def __init__(self, chain: TestChain) -> None:
        self.chain = chain
        self.roots: dict[bytes, bytes] = {}
        self.record()
        # the node's document store (F10), in a directory of its own, purges read from chain
        folder = tempfile.mkdtemp(prefix="credichain-docs-")
        weakref.finalize(self, shutil.rmtree, folder, True)
        self.documents = DocumentStore(Path(folder), lambda h: purged_at(self.chain.state(), h) > 0)

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        try:
            return self.documents.put(content)
        except DocumentError as exc:
            raise DocumentRefused(str(exc)) from exc

    def get_document(self, digest: bytes) -> DocumentAnswer:
        found = self.documents.lookup(digest)
        return DocumentAnswer(found.status, found.content, found.purged_by)

    def purge_document_here(self, digest: bytes) -> bool:
        return self.documents.purge_here(digest)

    def record(self) -> bytes:
        """Remember the current head's state root so later ``at`` queries can read it."""
        self.roots[self.chain.parent_hash] = self.chain.root
        return self.chain.parent_hash

    def best_hash(self) -> bytes:
        return self.chain.parent_hash

    def header(self, block_hash: bytes) -> object | None:
        known = block_hash == self.chain.parent_hash or block_hash in self.roots
        return object() if known else None

    def state_at(self, block_hash: bytes) -> Any:
        if block_hash == self.chain.parent_hash:
            return self.chain.state()
        return self.chain.runtime.state(self.roots[block_hash])


def run_query(backend: ChainBackend, registry: MethodRegistry, method: str, **params: Any) -> Any:
    """Call the registered query ``method`` as the RPC server would; RpcError on bad params."""
    found = registry.get(method)
    assert found is not None, method
    parsed = parse_params(found, params, HRP)
    ctx = CallContext(backend, None, registry, HRP, None)  # type: ignore[arg-type]
    return found.handler(ctx, parsed)


class ChainClient:
    """``RpcClient`` as the wallet uses it, answered by a TestChain (see ``serve_chain``)."""

    backend: ClassVar[ChainBackend]
    registry: ClassVar[MethodRegistry]
    receipts: ClassVar[list[Receipt]] = []

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass

    def properties(self) -> ChainProperties:
        return ChainProperties("CRED", 6, HRP)

    def genesis_hash(self) -> bytes:
        return self.backend.chain.genesis_hash

    def next_index(self, address: str) -> int:
        value: int = NONCE.get(self.backend.chain.state(), decode_address(address, HRP))
        return value

    def best_height(self) -> int:
        return self.backend.chain.height

    def submit(self, extrinsic: bytes) -> bytes:
        result = self.backend.chain.execute([extrinsic])
        self.backend.record()
        ChainClient.receipts.append(result.receipts[0])
        return Extrinsic.decode(extrinsic).hash

    def call_named(self, method: str, **params: Any) -> Any:
        if self.registry.get(method) is None:  # as a node answers an unknown method
            raise RpcError(METHOD_NOT_FOUND, f"unknown method {method}")
        return run_query(self.backend, self.registry, method, **params)


def serve_chain(
    monkeypatch: pytest.MonkeyPatch,
    chain: TestChain,
    registry: MethodRegistry,
    *cli_modules: ModuleType,
) -> ChainBackend:
    """Answer ``ChainClient`` from ``chain`` and ``registry``; make it each module's RpcClient."""
    backend = ChainBackend(chain)
    monkeypatch.setattr(ChainClient, "backend", backend, raising=False)
    monkeypatch.setattr(ChainClient, "registry", registry, raising=False)
    monkeypatch.setattr(ChainClient, "receipts", [])
    for module in cli_modules:
        monkeypatch.setattr(module, "RpcClient", ChainClient)
    return backend
