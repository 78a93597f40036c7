#!/bin/sh
# tests/integration/curl_scripts.sh — every script in clients/curl/ against
# the real daemon (with a token, through MEASURED_TOKEN): each must exit 0,
# its final check printing true. Kinds without a script of their own run
# through clients/curl/example.sh with their /v1/kinds example, so every
# kind's example is executed. The body README.md shows under "One minute
# with curl" must be the one clients/curl/ot.sh runs.
set -eu
. tests/it_lib.sh
it_start 0 --token curl-s3cret
export MEASURED_URL="$URL" MEASURED_TOKEN=curl-s3cret

# README's body is ot.sh's body (compared as JSON).
body() { sed -n "/-d '{/,/}'/p" "$1" | sed "1s/.*-d '//; \$s/}'.*/}/" | jq -c .; }
[ -n "$(body README.md)" ] || fail "no curl body in README.md"
[ "$(body README.md)" = "$(body clients/curl/ot.sh)" ] ||
    fail "README.md's curl body differs from clients/curl/ot.sh's"

curl -sf -H "Authorization: Bearer $MEASURED_TOKEN" "$URL/v1/kinds" | jq -r '.kinds[].name' \
    >"$TMP/kinds"
for s in clients/curl/*.sh; do
    k=$(basename "$s" .sh)
    [ "$k" = example ] && continue
    grep -qx "$k" "$TMP/kinds" || fail "clients/curl/$k.sh: no kind $k"
done
while read -r k; do
    if [ -f "clients/curl/$k.sh" ]; then
        set -- "clients/curl/$k.sh"
    else
        set -- clients/curl/example.sh "$k"
    fi
    sh "$@" >"$TMP/$k.log" 2>&1 || fail "$* exited $?"
    [ "$(tail -1 "$TMP/$k.log")" = true ] || fail "$*: the final check is not true"
    grep -q '"end","succeeded"' "$TMP/$k.log" || fail "$*: no end event shown"
    echo "ok $*"
done <"$TMP/kinds"
echo "curl_scripts: ok"
