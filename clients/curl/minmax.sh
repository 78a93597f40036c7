#!/bin/sh
# minmax.sh — extragradient on the bilinear-plus-quadratic game
# f = x1*y1 + 0.1*x1^2 (kind minmax, the kind's example); its equilibrium is 0.
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "minmax",
  "params": {"payoff": "x1*y1 + 0.1*x1^2", "x0": [1], "y0": [0.5],
             "method": "extragradient", "eta": 0.2, "max_iter": 500}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {x, y, f, grad_norm, diverged} |
    ., (.diverged == false and (.x[0] | fabs) < 1e-6 and (.y[0] | fabs) < 1e-6)'
