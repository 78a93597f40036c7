#!/bin/sh
# deconvolution.sh — sparse spike deconvolution on the torus by conic
# particle descent (kind deconvolution, the kind's example).
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "deconvolution",
  "params": {"K": 10, "m0": 3, "separation": 1.3, "m": 50, "lambda": 0.01,
             "max_iter": 300, "seed": 1}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {objective, spike_pos_err, spike_w_err, spikes: (.spikes.points | length),
          first_objective: .history.objective[0]} |
    ., (.objective < .first_objective and .spikes == 3 and .spike_pos_err < 0.05)'
