#!/bin/sh
# nash.sh — a mixed Nash equilibrium of a continuous game on the torus
# (kind nash, the kind's example: the built-in trig_2x2 game, value 1/7).
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "nash",
  "params": {"game": {"family": "trig_2x2", "x_space": {"type": "torus", "dim": 1},
                      "y_space": {"type": "torus", "dim": 1}},
             "particles_x": 4, "particles_y": 4, "eta_w": 0.1, "eta_pos": 0.002,
             "max_iter": 200}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {value, nash_gap, x: .x_aggregated, y: .y_aggregated} |
    ., (.nash_gap >= 0 and .nash_gap < 0.01 and (.value - 1/7 | fabs) < 0.01 and
        (.x.weights | add - 1 | fabs) < 1e-9)'
