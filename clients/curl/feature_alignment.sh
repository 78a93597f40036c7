#!/bin/sh
# feature_alignment.sh — feature speed and backward-feature alignment of
# a deep ReLU ResNet (kind feature_alignment, the kind's example).
# The whole cycle with curl and jq: submit, follow the events, fetch the
# result, check it. MEASURED_URL (default http://127.0.0.1:8080) and
# MEASURED_TOKEN are honoured. Run by tests/integration/curl_scripts.sh.
set -eu
URL=${MEASURED_URL:-http://127.0.0.1:8080}
set -- -sS --fail-with-body ${MEASURED_TOKEN:+-H "Authorization: Bearer $MEASURED_TOKEN"}

ID=$(curl "$@" "$URL/v1/jobs" -H 'Content-Type: application/json' -d '{
  "kind": "feature_alignment",
  "params": {"arch": "resnet", "depth": 8, "width": 64, "d": 16, "batch": 4,
             "max_iter": 5, "seed": 1}}' | jq -r '.id // halt_error')
echo "job $ID"
# Progress as it happens (NDJSON: one event a line; the stream closes after
# the end event).
curl "$@" -N -H 'Accept: application/x-ndjson' "$URL/v1/jobs/$ID/events" |
    jq -c --unbuffered '[.id, .event, (.data.status // .data.iteration)]'
curl "$@" "$URL/v1/jobs/$ID/result" | jq -e '.result | {loss, loss_initial, cos_theta_out: .final.cos_theta[-1]} |
    ., (.loss < .loss_initial)'
