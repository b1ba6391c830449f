#!/usr/bin/env bash
# The main job: install what is missing, build, ingest everything in data-samples/ into the
# embedded SpatiaLite store (./crossriver.sqlite by default; STORE=path to change), then serve
# it with the web map on http://127.0.0.1:8080/ (PORT=n to change; SERVE=0 to stop after the
# ingest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
npm ci --no-audit --no-fund --loglevel=error # MapLibre GL JS for the web map (served locally)
STORE=${STORE:-crossriver.sqlite}
status=0
while IFS=$'\t' read -r layer file opts; do
  case "$layer" in ''|'#'*) continue ;; esac
  rc=0
  # shellcheck disable=SC2086 # options are words on purpose
  build/crossriver ingest --store "$STORE" --layer "$layer" $opts "data-samples/$file" \
    --rejects "rejects-${file%.*}.csv" || rc=$?
  # 3 = some rows rejected (the samples include bad rows on purpose); anything else fails
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then status=$rc; fi
done < data-samples/manifest.tsv
echo
build/crossriver batches --store "$STORE"
echo
echo "Store ready: $STORE (rejected rows: rejects-*.csv, or: build/crossriver batches --rejects ID)"
if [ "$status" -ne 0 ] || [ "${SERVE:-1}" = 0 ]; then exit $status; fi
PORT=${PORT:-8080}
echo "The web map: http://127.0.0.1:$PORT/ (Ctrl-C stops the server). The API, e.g.:"
echo "  curl 'http://127.0.0.1:$PORT/api/trace?feature=outfalls:WJ-TPH-0007&direction=down&max_km=40'"
echo "  curl -o t.mvt http://127.0.0.1:$PORT/tiles/10/855/419.mvt"
exec build/crossriver serve --store "$STORE" --port "$PORT"
