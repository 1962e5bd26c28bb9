#!/usr/bin/env bash
# make image-test: build the container image without a container engine and run
# a node from it.
#
# Theory of operation
#   0. promtool (Debian package `prometheus`) checks prometheus.yml and the
#      alert rules and runs their unit tests (deploy/prometheus/alerts_test.yml).
#   1. Base image: Debian bookworm + python3 + python3-venv, made by debootstrap
#      once and cached as a tarball under $CACHE; imported into buildah's store
#      as $BASE (skipped when the store already has it).
#   2. `buildah bud --isolation chroot --build-arg BASE_IMAGE=$BASE` builds the
#      Dockerfile as it is (layers cached: a source change rebuilds only the
#      last layers).
#   3. From the built image: the init flow (/opt/credichain/init_network.py, as
#      compose's init service runs it) makes a 1-validator network, whose home
#      is copied to /data; then the image's own ENTRYPOINT + CMD run in the
#      background with `buildah run` (chroot isolation shares the host
#      network, so ports are picked free and set through CREDICHAIN_*__LISTEN).
#   4. Checks over HTTP on 127.0.0.1: system_health answers, chain_getHeader's
#      number is > 0 and grows, /metrics serves credichain_height, and the
#      image's HEALTHCHECK command exits 0 inside the container.
#   5. Cleanup (also on failure): SIGTERM the node, remove the working
#      container. The images stay as the warm cache; `--clean` removes them
#      and $CACHE.
#
# Needs root (debootstrap, buildah's store) and Debian's buildah, debootstrap
# and prometheus (for promtool) packages: installed with apt-get when missing.
# Environment: CREDICHAIN_IMAGE_CACHE (default .cache/image-test), DEBIAN_MIRROR
# (default http://deb.debian.org/debian). Measured on 2 shared cores: ~4 min
# cold (debootstrap 1-3 min, build ~40 s), ~35-50 s warm.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CACHE="${CREDICHAIN_IMAGE_CACHE:-$ROOT/.cache/image-test}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
BASE="localhost/credichain-base:$SUITE"
IMAGE="localhost/credichain:test"
BLOCK_WAIT_SECONDS=90
export BUILDAH_ISOLATION=chroot
started=$(date +%s)

say() { printf '== [%3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() { printf 'image-test FAILED: %s\n' "$*" >&2; exit 1; }

if [[ "${1:-}" == "--clean" ]]; then
    buildah rmi -f "$IMAGE" "$BASE" >/dev/null 2>&1 || true
    buildah rmi --prune >/dev/null 2>&1 || true  # the untagged build layers left behind
    rm -rf "$CACHE"
    say "removed $IMAGE, $BASE and $CACHE"
    exit 0
fi
[[ $# -eq 0 ]] || fail "unknown argument $1 (only --clean)"
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap and buildah's image store)"
# A fresh machine (CI) lacks the tools: Debian packages them all.
missing=()
for tool in buildah debootstrap promtool; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing buildah debootstrap prometheus with apt-get (missing: ${missing[*]})"
    command -v apt-get >/dev/null || fail "missing ${missing[*]} and no apt-get to install them"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        buildah debootstrap prometheus >/dev/null
fi

# ------------------------------------------------------------------ 0. rules
say "promtool: Prometheus config, alert rules and their unit tests"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
# prometheus.yml names the rules at their path inside the compose container.
promdir=$(mktemp -d)
cp deploy/prometheus/alerts.yml "$promdir/"
sed "s#/etc/prometheus/alerts.yml#$promdir/alerts.yml#" deploy/prometheus/prometheus.yml \
    >"$promdir/prometheus.yml"
promtool check config "$promdir/prometheus.yml" || { rm -rf "$promdir"; fail "prometheus.yml"; }
rm -rf "$promdir"

# ------------------------------------------------------------------ 1. base
if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    say "base image $BASE: cached"
else
    tarball="$CACHE/$SUITE-python3.tar"
    if [[ ! -f "$tarball" ]]; then
        say "debootstrap $SUITE + python3 (first run only)"
        rootfs="$CACHE/rootfs"
        rm -rf "$rootfs" && mkdir -p "$CACHE"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || fail "debootstrap failed, see $CACHE/debootstrap.log"
        # The package cache and lists are not part of an image.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        # Trust the host's local CAs too (a TLS-inspecting egress proxy, as on
        # CI machines), or pip inside the build cannot reach PyPI.
        if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
            cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
            chroot "$rootfs" update-ca-certificates >/dev/null
        fi
        tar -C "$rootfs" --numeric-owner -cf "$tarball.partial" .
        mv "$tarball.partial" "$tarball"
        rm -rf "$rootfs"
    fi
    say "importing $tarball as $BASE"
    ctr=$(buildah from scratch)
    buildah add --quiet "$ctr" "$tarball" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd /bin/bash "$ctr"
    buildah commit --quiet --rm "$ctr" "$BASE" >/dev/null
fi

# ------------------------------------------------------------------ 2. build
say "buildah bud (BASE_IMAGE=$BASE)"
previous=$(buildah images --format '{{.ID}}' "$IMAGE" 2>/dev/null || true)
buildah bud --quiet --isolation chroot --layers --format docker \
    --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE" . >/dev/null
current=$(buildah images --format '{{.ID}}' "$IMAGE")
# The image this build replaced is now untagged: drop it, or every run of a
# changed tree would leave one behind (the cached dependency layers stay).
if [[ -n "$previous" && "$previous" != "$current" ]]; then
    buildah rmi "$previous" >/dev/null 2>&1 || true
fi

# ------------------------------------------------------------------ 3. run
read -r P2P RPC METRICS < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
ctr=$(buildah from --quiet "$IMAGE")
node_pid=""   # the setsid'd `buildah run`: its process group holds the node
log="$CACHE/node.log"
mkdir -p "$CACHE"
: >"$log"
cleanup() {
    if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
        kill -KILL -- "-$node_pid" 2>/dev/null || true
    fi
    buildah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

env_args=(
    --env "CREDICHAIN_P2P__LISTEN=127.0.0.1:$P2P"
    --env "CREDICHAIN_RPC__LISTEN=127.0.0.1:$RPC"
    --env "CREDICHAIN_METRICS__LISTEN=127.0.0.1:$METRICS"
    --env "CREDICHAIN_RPC__EXPLORER=true"
)
say "init flow in the image: a 1-validator network into /data"
buildah run "${env_args[@]}" "$ctr" -- sh -ec '
    python /opt/credichain/init_network.py /tmp/network --validators 1 >/dev/null
    test -f /data/config.toml || cp -a /tmp/network/validator-0/. /data/'

# The image's own entrypoint and command, as docker run would start them.
mapfile -t command < <(buildah inspect --type image \
    --format '{{range .Docker.Config.Entrypoint}}{{println .}}{{end}}{{range .Docker.Config.Cmd}}{{println .}}{{end}}' \
    "$IMAGE" | sed '/^$/d')

start_node() {
    say "starting the node: ${command[*]} (rpc 127.0.0.1:$RPC, metrics :$METRICS)"
    setsid buildah run "${env_args[@]}" "$ctr" -- "${command[@]}" >>"$log" 2>&1 &
    node_pid=$!
}

# SIGTERM to the node process itself (signalling `buildah run` would make it
# SIGKILL its child): the node must stop cleanly, and buildah report exit 0.
stop_node() {
    local node rc=0
    node=$(pgrep -g "$node_pid" -u 10001 -x credichain) || fail "no node process under buildah"
    say "SIGTERM to the node (pid $node)"
    kill -TERM "$node"
    wait "$node_pid" || rc=$?
    node_pid=""
    [[ $rc -eq 0 ]] || fail "the node exited with $rc after SIGTERM (log: $log)"
    tail -n 3 "$log" | grep -q '"node stopped"' || fail "no 'node stopped' after SIGTERM (log: $log)"
}

# Waits until the chain is above $1, then until it grows; prints the height.
check_blocks() {
    python3 - "$RPC" "$METRICS" "$BLOCK_WAIT_SECONDS" "$log" "$1" <<'EOF'
import json, sys, time, urllib.request

rpc, metrics, wait, log = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
above = int(sys.argv[5])

def call(method):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []})
    request = urllib.request.Request(f"http://127.0.0.1:{rpc}/", body.encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        reply = json.load(response)
    if "result" not in reply:
        raise RuntimeError(f"{method}: {reply}")
    return reply["result"]

def height():
    return int(call("chain_getHeader")["number"])  # an integer (spec/rpc.md)

deadline = time.monotonic() + wait
while True:
    try:
        health = call("system_health")
        first = height()
        if first > above:
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"no block above {above} within {wait}s; log tail:\n{open(log).read()[-3000:]}")
    time.sleep(0.5)
print(f"   system_health: {health}; height {first}", file=sys.stderr)
while time.monotonic() < deadline and height() <= first:
    time.sleep(0.5)
later = height()
if later <= first:
    sys.exit(f"height stuck at {first}")
text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read().decode()
line = next((l for l in text.splitlines() if l.startswith("credichain_height ")), None)
if line is None or float(line.split()[1]) < first:
    sys.exit(f"/metrics has no sane credichain_height: {line}")
print(f"   height grew {first} -> {later}; /metrics: {line}", file=sys.stderr)
page = urllib.request.urlopen(f"http://127.0.0.1:{rpc}/explorer/", timeout=5).read().decode()
if "<html" not in page.lower():
    sys.exit("/explorer/ did not serve the explorer's index.html")
print("   /explorer/ serves the explorer", file=sys.stderr)
print(later)
EOF
}

# ------------------------------------------------------------------ 4. checks
start_node
say "waiting for blocks and RPC"
height=$(check_blocks 0) || fail "node checks (log: $log)"

mapfile -t healthcheck < <(buildah inspect --type image \
    --format '{{range .Docker.Config.Healthcheck.Test}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
[[ "${healthcheck[0]:-}" == "CMD" ]] || fail "image has no exec-form HEALTHCHECK: ${healthcheck[*]:-none}"
say "HEALTHCHECK inside the container: ${healthcheck[*]:1}"
buildah run "${env_args[@]}" "$ctr" -- "${healthcheck[@]:1}" || fail "HEALTHCHECK exited non-zero"

user=$(buildah inspect --type image --format '{{.Docker.Config.User}}' "$IMAGE")
[[ "$user" == "10001:10001" ]] || fail "image runs as '$user', not 10001:10001"

stop_node
say "restart on the same /data: the chain continues above height $height"
start_node
check_blocks "$height" >/dev/null || fail "after restart (log: $log)"
stop_node

# ------------------------------------------------------------------ 5. cleanup
cleanup
trap - EXIT
say "image-test passed"
