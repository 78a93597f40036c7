#!/bin/sh
# tests/integration/dashboard.sh — the dashboard served by the real daemon
# (with a token), in Debian's headless Chromium driven by playwright-core
# (tests/browser/dashboard.cjs). playwright-core comes from npm at the
# version locked in tests/browser/package-lock.json, installed with `npm ci`
# into $BUILD/browser (again only when the lock changes). Screenshots are
# kept in $BUILD/screenshots/. Chromium is installed by
# deploy/install-deps.sh --browser (make test does it).
set -eu
. tests/it_lib.sh
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium: run deploy/install-deps.sh --browser"
command -v npm >/dev/null || fail "no npm: run deploy/install-deps.sh --browser"

# npm (Node) trusts only its own CA bundle unless told otherwise; on a
# machine whose administrator added CAs (a TLS-inspecting proxy, say), use
# the system's trust store as curl and apt do.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
D="$BUILD/browser"
mkdir -p "$D"
if ! cmp -s tests/browser/package-lock.json "$D/installed-lock.json" ||
    [ ! -d "$D/node_modules/playwright-core" ]; then
    cp tests/browser/package.json tests/browser/package-lock.json "$D/"
    (cd "$D" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        fail "npm ci in $D"
    cp tests/browser/package-lock.json "$D/installed-lock.json"
fi

it_start 0 --token web-s3cret
# The page and its files are served without the token, with a CSP that keeps
# the page to this origin.
curl -sf -D "$TMP/h" -o "$TMP/index.html" "$URL/" || fail "GET /"
grep -qi '^content-type: text/html' "$TMP/h" || fail "GET / content type"
grep -qi "^content-security-policy: default-src 'self'" "$TMP/h" || fail "no CSP"
grep -q '/ui/app.js' "$TMP/index.html" || fail "index.html has no app.js"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \(.*\)\r$/\1/p' "$TMP/h")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL/")" = 304 ] ||
    fail "If-None-Match is not 304"
for f in app.js chart.js views.js style.css; do
    curl -sf "$URL/ui/$f" | cmp -s - "web/$f" || fail "/ui/$f differs from web/$f"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ui/nope.js")" = 404 ] || fail "unknown asset"

mkdir -p "$BUILD/screenshots"
URL="$URL" TOKEN=web-s3cret OUT="$BUILD/screenshots" NODE_PATH="$D/node_modules" \
    timeout 120 node tests/browser/dashboard.cjs >"$TMP/browser.log" 2>&1 ||
    fail "dashboard in chromium: $(tail -5 "$TMP/browser.log")"
cat "$TMP/browser.log"
it_stop
echo "dashboard: ok"
