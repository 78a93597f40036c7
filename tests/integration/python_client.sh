#!/bin/sh
# tests/integration/python_client.sh — the Python client (clients/python)
# with Debian's /usr/bin/python3: its unittest suite against the real daemon
# (tests/python/test_client.py starts and restarts build/measured itself),
# then `pip install` from the folder into a scratch target, offline, and an
# import from there.
set -eu
. tests/it_lib.sh
PY=/usr/bin/python3
BUILD="$BUILD" PYTHONPATH=clients/python "$PY" tests/python/test_client.py 2>&1 ||
    fail "python client suite"
# pip builds the wheel in place (--no-build-isolation: setuptools from Debian,
# no index); the copy must import and report its version.
"$PY" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --no-build-isolation --target "$TMP/site" \
    ./clients/python >"$TMP/pip.log" 2>&1 || fail "pip install ./clients/python"
rm -rf clients/python/build clients/python/*.egg-info
V=$(cd "$TMP" && PYTHONPATH="$TMP/site" "$PY" -c 'import measured; print(measured.__version__)')
[ "$V" = 1.0.0 ] || fail "installed client reports version '$V'"
echo "python_client: ok"
