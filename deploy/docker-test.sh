#!/bin/sh
# deploy/docker-test.sh — the Dockerfile, really built and run, with no
# registry: a private Docker engine (Debian's docker.io) started here and
# stopped at the end; the base image made with debootstrap (minbase,
# bookworm) and `docker import`ed under the Dockerfile's base tag. Then the
# image is built, run with a volume and a token, checked (non-root, health
# check healthy, 401 without the token, a job submitted with curl and its
# result, the store surviving a restart, exit 0 on `docker stop`), and
# everything is removed: container, volume, images, the engine's state.
#
# Usage: BUILD=build deploy/docker-test.sh [--base-only]
#   (as root; `make docker-test`). --base-only makes the cached base root
#   and stops: .ci/run starts it early, in the background, since it waits
#   mostly on the network.
#   BUILD/docker/bookworm-minbase.tar caches the debootstrap root between
#   runs (delete it to rebuild); MIRROR overrides the Debian mirror.
# Skips (exit 0, "docker-test: SKIP ...") when not root or when the engine
# cannot start in this sandbox, printing the engine's own error.
#
# Networking: the engine runs without its bridge (no iptables, no private
# addresses); the build and the container use the host's network, and the
# daemon listens on a free loopback port given by MEASURED_LISTEN.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE="$BUILD/docker"
TAR="$CACHE/bookworm-minbase.tar"
BASE=$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' Dockerfile)
IMAGE=measured:docker-test
NAME=measured-docker-test-$$
VOL=measured-docker-test-$$
TOKEN=docker-test-$$-token
DOCKER=/usr/bin/docker # Debian's client, the engine's own version

say() { echo "docker-test: $*"; }
skip() {
    say "SKIP: $*"
    exit 0
}
[ -n "$BASE" ] || { say "no 'FROM IMAGE AS build' line in Dockerfile"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (a Docker engine and debootstrap)"
deploy/install-deps.sh --docker
BASE_ONLY=0
[ "${1:-}" = --base-only ] && BASE_ONLY=1

W=$(mktemp -d /tmp/measured-docker-XXXXXX)
SOCK="unix://$W/docker.sock"
DPID=""
d() { "$DOCKER" -H "$SOCK" "$@"; }
cleanup() {
    rc=$?
    set +e
    if [ -n "$DPID" ]; then
        d rm -f "$NAME" >/dev/null 2>&1
        d volume rm -f "$VOL" >/dev/null 2>&1
        d rmi -f "$IMAGE" "$BASE" >/dev/null 2>&1
        d image prune -af >/dev/null 2>&1
        kill "$DPID" 2>/dev/null
        i=0
        while kill -0 "$DPID" 2>/dev/null && [ $i -lt 200 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$DPID" 2>/dev/null
    fi
    # Whatever the engine left mounted under its state directory.
    grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$W"
    [ $rc = 0 ] || say "FAILED (engine log: last lines below)"
    [ $rc = 0 ] || tail -n 15 "$W.log" 2>/dev/null
    rm -f "$W.log"
    exit $rc
}
trap cleanup EXIT INT TERM
fail() {
    say "FAIL: $*"
    if [ -n "$DPID" ] && d inspect "$NAME" >/dev/null 2>&1; then
        d logs --tail 20 "$NAME" 2>&1 | sed 's/^/    /'
    fi
    exit 1
}
t0=$(date +%s)
lap() { say "$1 ($(($(date +%s) - t0)) s)"; }

# ---- the base image: debootstrap once, cached --------------------------------
if [ ! -s "$TAR" ]; then
    mkdir -p "$CACHE"
    R="$W/rootfs"
    n=0
    # The mirror is the one network dependency: retry once, each attempt
    # bounded (a cold run takes 4-7 minutes on this 2-core machine).
    until timeout 720 debootstrap --variant=minbase bookworm "$R" "$MIRROR" \
        >"$W/debootstrap.log" 2>&1; do
        n=$((n + 1))
        [ $n -lt 2 ] || { tail -n 20 "$W/debootstrap.log"; fail "debootstrap failed twice"; }
        say "debootstrap failed (attempt $n), retrying"
        rm -rf "$R"
        sleep 5
    done
    # What debian:bookworm-slim does on top of a minbase root: the same
    # suites, no docs or locales installed later, apt caches cleaned.
    cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
    cat >"$R/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$R/etc/apt/apt.conf.d/docker" <<'EOF'
Acquire::Retries "3";
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
    rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
        "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/var/log/*.log
    find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    tar --numeric-owner -C "$R" -cf "$TAR.tmp" .
    mv "$TAR.tmp" "$TAR"
    rm -rf "$R"
    lap "base root made with debootstrap, cached in $TAR ($(du -m "$TAR" | cut -f1) MiB)"
else
    say "base root from the cache $TAR"
fi
[ $BASE_ONLY = 1 ] && exit 0

# ---- the engine --------------------------------------------------------------
dockerd --data-root "$W/root" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" -H "$SOCK" \
    --bridge=none --iptables=false --ip-masq=false >"$W.log" 2>&1 &
DPID=$!
i=0
until d version >/dev/null 2>&1; do
    if ! kill -0 "$DPID" 2>/dev/null; then
        DPID=""
        skip "dockerd cannot run here: $(grep -m1 -i 'level=fatal\|failed to start\|error' "$W.log" ||
            tail -n1 "$W.log")"
    fi
    i=$((i + 1))
    [ $i -le 300 ] || skip "dockerd did not answer in 30 s: $(tail -n1 "$W.log")"
    sleep 0.1
done
lap "engine up: $(d version --format '{{.Server.Version}}')"

d import -c 'CMD ["/bin/bash"]' "$TAR" "$BASE" >/dev/null
lap "imported as $BASE"

# ---- the image ---------------------------------------------------------------
# Bounded too: apt in both stages, then the build (9-10 minutes when cold).
if ! timeout 1500 "$DOCKER" -H "$SOCK" build --network host -t "$IMAGE" . >"$W/build.log" 2>&1; then
    tail -n 30 "$W/build.log"
    fail "docker build"
fi
lap "image built: $(d image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"
d image inspect "$IMAGE" >"$W/image.json"
jq -e '.[0].Config | (.User | startswith("measured")) and (.ExposedPorts | has("8080/tcp"))
    and (.Env | index("MEASURED_LISTEN=0.0.0.0:8080") != null) and (.Healthcheck.Test | length > 0)
    and (.Volumes | has("/var/lib/measured"))' "$W/image.json" >/dev/null ||
    fail "image config (user, port, listen, healthcheck, volume): $(jq -c '.[0].Config' "$W/image.json")"

# ---- run it ------------------------------------------------------------------
free_port() {
    p=$((20000 + $$ % 20000))
    while curl -s -o /dev/null -m 1 "http://127.0.0.1:$p/"; [ $? != 7 ]; do p=$((p + 1)); done
    echo $p
}
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
run() {
    d run -d --name "$NAME" --network host -v "$VOL:/var/lib/measured" \
        -e MEASURED_TOKEN="$TOKEN" -e MEASURED_LISTEN="127.0.0.1:$PORT" -e MEASURED_WORKERS=2 \
        --health-interval 1s --health-start-period 1s "$IMAGE" >/dev/null
}
healthy() {
    i=0
    while [ "$(d inspect -f '{{.State.Health.Status}}' "$NAME")" != healthy ]; do
        i=$((i + 1))
        [ $i -le 150 ] || fail "not healthy after 15 s: $(d inspect -f '{{json .State.Health}}' "$NAME")"
        sleep 0.1
    done
}
run
healthy
lap "container healthy on $U"
[ "$(d exec "$NAME" id -u)" != 0 ] || fail "the daemon runs as root"
# The process is named measured (not "exe") and is not root.
d top "$NAME" -o pid,user,comm >"$W/top"
U0=$(awk '$3 == "measured" {print $2}' "$W/top")
[ -n "$U0" ] && [ "$U0" != root ] && [ "$U0" != 0 ] || fail "no non-root measured process: $(cat "$W/top")"
AUTH="Authorization: Bearer $TOKEN"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/jobs")" = 401 ] || fail "no 401 without the token"
curl -sf "$U/readyz" | jq -e '.status == "ready"' >/dev/null || fail "readyz"

JOB='{"kind":"ot","params":{"source":{"points":[[0,0],[1,0],[0,1]]},
      "target":{"points":[[0,1],[1,1],[2,2]]},"epsilon":0.1}}'
ID=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$U/v1/jobs" -d "$JOB" | jq -r .id)
[ -n "$ID" ] && [ "$ID" != null ] || fail "submit"
ST=$(curl -sf -H "$AUTH" "$U/v1/jobs/$ID?wait=30" | jq -r .status)
[ "$ST" = succeeded ] || fail "job $ID is $ST"
curl -sf -H "$AUTH" "$U/v1/jobs/$ID/result" >"$W/res.json" || fail "result"
jq -e '.result.converged == true and (.result.f | length) == 3 and (.result.objective | type) == "number"' \
    "$W/res.json" >/dev/null || fail "result: $(head -c 300 "$W/res.json")"
lap "job $ID succeeded"

# The store is on the volume: a new container finds the job and its result.
d stop -t 20 "$NAME" >/dev/null
[ "$(d inspect -f '{{.State.ExitCode}}' "$NAME")" = 0 ] || fail "exit code after docker stop"
d rm "$NAME" >/dev/null
run
healthy
curl -sf -H "$AUTH" "$U/v1/jobs/$ID/result" | jq -c .result >"$W/res2.json" || fail "result after restart"
[ "$(jq -c .result "$W/res.json")" = "$(cat "$W/res2.json")" ] || fail "result changed after restart"
d stop -t 20 "$NAME" >/dev/null
lap "store kept on the volume across containers; clean stop"
say "ok"
