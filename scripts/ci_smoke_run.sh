#!/usr/bin/env bash
# Smoke test of the README's first command: `make run` starts a 4-validator
# localnet; wait until every node's RPC reports height >= 5, then stop it with
# SIGINT (what Ctrl-C sends) and expect a clean exit. Bounded to 180 s.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
setsid make run RUN_ARGS="--dir $dir/net" >"$dir/run.log" 2>&1 &
pid=$!
ok=0
for _ in $(seq 1 180); do
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if .venv/bin/python scripts/localnet_heights.py --min-height 5 --nodes 4 2>/dev/null; then ok=1; break; fi
done
kill -INT -- -"$pid" 2>/dev/null || true
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "make run did not stop within 30 s of SIGINT"; kill -KILL -- -"$pid" || true; ok=0
fi
if [ "$ok" != 1 ]; then
  echo "localnet did not reach height 5 on all nodes; its output:"; tail -n 80 "$dir/run.log"
  exit 1
fi
.venv/bin/python - "$dir/run.log" <<'PY'
import sys
text = open(sys.argv[1]).read()
print("\n".join(text.splitlines()[:30]))
PY
echo "smoke: make run produced blocks on all 4 validators and stopped cleanly"
