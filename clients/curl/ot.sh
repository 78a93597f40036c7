#!/bin/sh
# ot.sh — entropic optimal transport between two point clouds (kind ot).
# The body is the one in README.md ("One minute with curl"): each point
# moves straight up by 1, so the transport cost is 1.
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "ot",
  "params": {"source": {"points": [[0,0],[1,0]]},
             "target": {"points": [[0,1],[1,1]]},
             "epsilon": 0.01}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {objective, transport_cost, iterations, converged} |
    ., (.converged and (.transport_cost - 1 | fabs) < 1e-3 and .objective >= .transport_cost)'
