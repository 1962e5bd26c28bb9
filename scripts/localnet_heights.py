"""Print the best height of each localnet node; exit 0 when all reach --min-height.

.venv/bin/python scripts/localnet_heights.py --nodes 4 --min-height 5
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request


def best_height(port: int, timeout: float = 2.0) -> int | None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, json.JSONDecodeError):
        return None
    header = reply.get("result")
    return int(header["number"]) if isinstance(header, dict) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--base-port", type=int, default=9944)
    parser.add_argument("--min-height", type=int, default=1)
    args = parser.parse_args()
    heights = [best_height(args.base_port + i) for i in range(args.nodes)]
    print(" ".join(f"node{i}={h}" for i, h in enumerate(heights)))
    return 0 if all(h is not None and h >= args.min_height for h in heights) else 1


if __name__ == "__main__":
    sys.exit(main())
