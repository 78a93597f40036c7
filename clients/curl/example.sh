#!/bin/sh
# example.sh KIND — run any kind's own example (GET /v1/kinds/KIND has one)
# through the whole cycle with curl and jq: fetch the example, submit it,
# follow the events, print the result's scalars. For kinds without a script
# of their own here. MEASURED_URL and MEASURED_TOKEN are honoured.
set -eu
KIND=${1:?usage: example.sh KIND}
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

BODY=$(curl "$@" "$URL/v1/kinds/$KIND" | jq -c '{kind: .name, params: .example}')
ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d "$BODY" |
    jq -r '.id // halt_error')
echo "job $ID"
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" |
    jq -e '.result | with_entries(select(.value | type != "array" and type != "object")) |
        ., (has("iterations") and has("converged"))'
