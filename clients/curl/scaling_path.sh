#!/bin/sh
# scaling_path.sh — lazy versus rich training of a two-layer ReLU network
# along the scale alpha (kind scaling_path, the kind's example): the larger
# alpha, the less the weights move.
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "scaling_path",
  "params": {"n": 6, "m": 100, "alphas": [0.1, 1, 10], "max_iter": 2000, "grid": 51,
             "seed": 1}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {alphas, loss, rel_displacement, curves: (.f | map(length))} |
    ., (.curves == [51, 51, 51] and .rel_displacement[0] > .rel_displacement[1] and
        .rel_displacement[1] > .rel_displacement[2])'
