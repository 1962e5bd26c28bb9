"""Container health check: exit 0 when the node's JSON-RPC answers ``system_health``.

Theory of operation: the image's HEALTHCHECK runs this with the image's
Python (slim images have no curl). It posts one ``system_health`` request to
127.0.0.1 on the port of ``CREDICHAIN_RPC__LISTEN`` (the image sets
``0.0.0.0:9944``; an operator who moves the port moves the check with it) and
exits 0 only on a JSON-RPC ``result``; any refusal, timeout, HTTP error or
JSON-RPC error exits 1 with the reason on stderr, which Docker keeps in
``docker inspect``'s health log. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_LISTEN = "0.0.0.0:9944"
TIMEOUT_SECONDS = 4


def rpc_port(listen: str) -> int:
    """The port of a ``host:port`` listen address; ValueError naming it when malformed."""
    _, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"CREDICHAIN_RPC__LISTEN={listen!r} is not host:port")
    return int(port)


def check(port: int) -> str | None:
    """None when healthy, else what is wrong."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "system_health", "params": []}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            reply = json.load(response)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return f"system_health on port {port}: {exc}"
    if not isinstance(reply, dict) or "result" not in reply:
        return f"system_health on port {port}: no result in {str(reply)[:200]}"
    return None


def main() -> int:
    try:
        port = rpc_port(os.environ.get("CREDICHAIN_RPC__LISTEN", DEFAULT_LISTEN))
    except ValueError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    problem = check(port)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
