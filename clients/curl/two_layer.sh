#!/bin/sh
# two_layer.sh — a two-layer network trained as a particle system on a
# teacher task (kind two_layer, the kind's example).
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "two_layer",
  "params": {"task": "teacher", "d": 5, "n": 200, "n_test": 200, "m": 50,
             "lambda": 0.001, "step": 0.5, "max_iter": 200, "seed": 1}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {loss, test_loss, objective, first_loss: .history.loss[0]} |
    ., (.loss < .first_loss and .objective >= .loss)'
