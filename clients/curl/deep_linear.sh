#!/bin/sh
# deep_linear.sh — gradient descent on a deep linear network: sharpness
# and the implicit bias toward the minimiser (kind deep_linear, the example).
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "deep_linear",
  "params": {"depth": 4, "scale": 0.3, "lr": 0.05, "max_iter": 200,
             "sharpness_every": 20, "seed": 1}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {loss, dist2_wstar, sharpness, stability_threshold, first_loss: .history.loss[0]} |
    ., (.loss < .first_loss and .dist2_wstar < 1e-6 and .sharpness < .stability_threshold)'
