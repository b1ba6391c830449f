#!/usr/bin/env bash
# The main job: install what is missing, build, ingest everything in data-samples/ into the
# embedded SpatiaLite store (./crossriver.sqlite by default; STORE=path to change).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
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
echo "The tile server and web map come with the server issue; until then, open $STORE in QGIS"
echo "(SpatiaLite) or query it: sqlite3 $STORE 'select * from outfalls_current limit 5'"
exit $status
