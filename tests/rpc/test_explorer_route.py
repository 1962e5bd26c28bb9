"""The explorer's static route on the RPC port (rpc/app.py, docs/explorer.md).

The ASGI app is driven in-process, as hypercorn would call it: off by
default (404), then on over a small directory of files: the index, hashed
assets with immutable caching, content types, ETag revalidation, HEAD, the
redirect from ``/explorer``; and every way out of the directory refused
(``..`` literal or percent-encoded, hidden files, backslashes, a symlink
pointing outside). The explorer's own page may open a WebSocket from its
origin when served from a numeric or localhost host, never from a domain
name (DNS rebinding). Last, the committed ``explorer/dist`` is the build of
the current sources: its recorded hash equals the hash of ``explorer/src``
and the build inputs, computed here as ``explorer/scripts/stamp.mjs`` does.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from rpc.app import DEFAULT_EXPLORER_DIR, RpcApp, explorer_file
from rpc.config import RpcConfig
from tests.rpc.fake_backend import FakeBackend, build_registry

REPO = Path(__file__).resolve().parents[2]
EXPLORER = REPO / "explorer"
STAMP_INPUTS = (
    "src",
    "index.html",
    "vite.config.ts",
    "tsconfig.json",
    "package.json",
    "package-lock.json",
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>x</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (root / "assets" / "index-abc123.css").write_text("body{}")
    (root / ".hidden.txt").write_text("SECRET-CONTENT")
    (root / "notes.md").write_text("unknown type")
    (tmp_path / "outside.txt").write_text("OUTSIDE-CONTENT")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    return root


def app(site: Path | None = None, **config: Any) -> RpcApp:
    return RpcApp(build_registry(), FakeBackend(), RpcConfig(explorer_dir=site, **config))


async def get(
    application: RpcApp,
    path: str,
    method: str = "GET",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"host", b"127.0.0.1:9944"), *headers],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


async def ws_accepted(application: RpcApp, host: bytes, origin: bytes) -> bool:
    sent: list[dict[str, Any]] = []
    incoming = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect"}])
    scope = {"type": "websocket", "path": "/", "headers": [(b"host", host), (b"origin", origin)]}

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    return bool(sent[0]["type"] == "websocket.accept")


async def test_off_by_default_the_explorer_is_not_served(site: Path) -> None:
    assert RpcConfig().explorer is False
    for path in ("/explorer/", "/explorer/index.html", "/explorer"):
        status, _, _ = await get(app(site), path)
        assert status == 404


async def test_the_index_and_assets_are_served_with_types_and_cache_headers(site: Path) -> None:
    application = app(site, explorer=True)
    status, headers, body = await get(application, "/explorer/")
    assert status == 200 and body == b"<!doctype html><title>x</title>"
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert headers[b"cache-control"] == b"no-cache"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
    status, headers, body = await get(application, "/explorer/assets/index-abc123.js")
    assert (status, body) == (200, b"console.log(1)")
    assert headers[b"content-type"] == b"text/javascript; charset=utf-8"
    assert headers[b"cache-control"] == b"public, max-age=31536000, immutable"
    status, headers, _ = await get(application, "/explorer/assets/index-abc123.css")
    assert status == 200 and headers[b"content-type"] == b"text/css; charset=utf-8"


async def test_revalidation_head_redirect_and_methods(site: Path) -> None:
    application = app(site, explorer=True)
    _, headers, _ = await get(application, "/explorer/index.html")
    etag = headers[b"etag"]
    status, _, body = await get(application, "/explorer/", headers=((b"if-none-match", etag),))
    assert (status, body) == (304, b"")
    status, headers, body = await get(application, "/explorer/", method="HEAD")
    assert status == 200 and body == b"" and headers[b"content-length"] == b"31"
    status, headers, _ = await get(application, "/explorer")
    assert status == 308 and headers[b"location"] == b"/explorer/"
    status, _, body = await get(application, "/explorer/", method="POST")
    assert status == 405 and b"GET" in body


@pytest.mark.parametrize(
    "path",
    [
        "/explorer/../app.py",
        "/explorer/assets/../../outside.txt",
        "/explorer/./index.html",
        "/explorer/.hidden.txt",
        "/explorer/assets/",
        "/explorer//etc/passwd.txt",
        "/explorer/..\\outside.txt",
        "/explorer/index.html\x00.js",
        "/explorer/link.txt",
        "/explorer/notes.md",
        "/explorer/missing.js",
    ],
)
async def test_nothing_outside_the_directory_nor_of_unknown_type_is_served(
    site: Path, path: str
) -> None:
    status, headers, body = await get(app(site, explorer=True), path)
    assert status == 404 and headers[b"content-type"] == b"application/json"
    assert b"OUTSIDE-CONTENT" not in body and b"SECRET-CONTENT" not in body


def test_percent_encoded_traversal_is_refused_once_decoded(site: Path) -> None:
    # hypercorn hands the app the decoded path: %2e%2e%2f arrives as "../".
    assert explorer_file(site, "/explorer/%2e%2e/outside.txt") is None
    assert explorer_file(site, "/explorer/../outside.txt") is None
    assert explorer_file(site, "/explorer/") == (site / "index.html").resolve()


async def test_websocket_from_the_explorer_page_only_on_a_numeric_or_local_host() -> None:
    on, off = app(explorer=True), app()
    assert await ws_accepted(on, b"127.0.0.1:9944", b"http://127.0.0.1:9944")
    assert await ws_accepted(on, b"localhost:9944", b"http://localhost:9944")
    assert await ws_accepted(on, b"[::1]:9944", b"http://[::1]:9944")
    # Another origin, or a domain name that could rebind to 127.0.0.1, is refused.
    assert not await ws_accepted(on, b"127.0.0.1:9944", b"http://127.0.0.1:8080")
    assert not await ws_accepted(on, b"evil.example:9944", b"http://evil.example:9944")
    # Without the explorer the node's own origin is no exception.
    assert not await ws_accepted(off, b"127.0.0.1:9944", b"http://127.0.0.1:9944")
    # A configured origin is accepted either way.
    wallet = app(cors_origins=("https://wallet.example",))
    assert await ws_accepted(wallet, b"node.example:9944", b"https://wallet.example")


def source_hash(root: Path) -> str:
    files: list[Path] = []
    for name in STAMP_INPUTS:
        path = root / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    digest = hashlib.sha256()
    for rel in sorted(p.relative_to(root).as_posix() for p in files):
        digest.update(rel.encode() + b"\0")
        digest.update((root / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def test_the_committed_build_is_the_build_of_the_current_sources() -> None:
    dist = DEFAULT_EXPLORER_DIR
    assert dist == EXPLORER / "dist"
    recorded = (dist / "source-hash.txt").read_text().strip()
    assert recorded == source_hash(EXPLORER), (
        "explorer/dist is stale: run `make explorer` (npm ci && npm run build in explorer/)"
    )
    index = (dist / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="/explorer/(assets/[^"]+)"', index)
    assert len(assets) == 2 and all((dist / a).is_file() for a in assets)


async def test_the_committed_build_is_what_the_node_serves() -> None:
    application = app(explorer=True)
    status, headers, body = await get(application, "/explorer/")
    assert status == 200 and b'<main id="main"' in body
    script = re.search(rb'src="(/explorer/assets/[^"]+\.js)"', body)
    assert script is not None
    status, headers, body = await get(application, script.group(1).decode())
    assert status == 200 and headers[b"content-type"].startswith(b"text/javascript")
