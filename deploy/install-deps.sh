#!/bin/sh
# install-deps.sh — install the Debian 12 packages measured needs, only those
# that are missing. Run as root (or with sudo available). Idempotent and quiet
# when everything is present, so `make test` and `make run` call it every time.
#
#   deploy/install-deps.sh            build, tests and daemon
#   deploy/install-deps.sh --bench    + the references the benchmarks compare to
#   deploy/install-deps.sh --examples + what the example scripts plot with
#   deploy/install-deps.sh --runtime  only what the built daemon needs to run
#   deploy/install-deps.sh --browser  + Chromium for the dashboard's browser test
#                                     (make test and make asan pass it)
#   deploy/install-deps.sh --fuzz     + clang and its libFuzzer runtime (make fuzz)
#   deploy/install-deps.sh --format   + clang-format (make format, make format-check)
#   deploy/install-deps.sh --docker   + a Docker engine and debootstrap (make docker-test)
set -eu

BUILD_PKGS="build-essential pkg-config libmicrohttpd-dev libcjson-dev libuv1-dev \
libcmocka-dev libopenblas-dev liblapacke-dev libsqlite3-dev libcurl4-openssl-dev \
curl jq python3 python3-pip python3-setuptools ca-certificates"
RUNTIME_PKGS="libmicrohttpd12 libcjson1 libuv1 libopenblas0 liblapacke libsqlite3-0 \
libcurl4 libgomp1 curl ca-certificates"
BENCH_PKGS="python3-pot python3-numpy python3-torch wrk hyperfine"
EXAMPLE_PKGS="python3-numpy python3-matplotlib"
FUZZ_PKGS="clang libclang-rt-14-dev"
FORMAT_PKGS="clang-format"
DOCKER_PKGS="docker.io debootstrap iptables"
# The browser test drives Debian's Chromium with playwright-core from npm
# (tests/browser/). Node.js 20 comes with the machine; Debian's nodejs is
# the fallback where there is none.
BROWSER_PKGS="chromium"
command -v npm >/dev/null 2>&1 || BROWSER_PKGS="$BROWSER_PKGS nodejs npm"

want="$BUILD_PKGS"
for arg in "$@"; do
    case "$arg" in
    --bench) want="$want $BENCH_PKGS" ;;
    --examples) want="$want $EXAMPLE_PKGS" ;;
    --browser) want="$want $BROWSER_PKGS" ;;
    --runtime) want="$RUNTIME_PKGS" ;;
    --fuzz) want="$want $FUZZ_PKGS" ;;
    --format) want="$want $FORMAT_PKGS" ;;
    --docker) want="$want $DOCKER_PKGS" ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: missing packages:$missing; run as root or install them" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# A pristine image has no package lists; refresh them once per install.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
