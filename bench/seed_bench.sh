#!/usr/bin/env bash
# Benchmark (not a test): seeding every tile of a synthetic basin at z5–z14 — crossriver seed
# into MBTiles and into PMTiles, against GDAL's MVT writer (ogr2ogr -f MVT, the same layers,
# zoom ranges and attributes, gzip, into a directory of tiles) on the same store in the same
# run. The peer gets at most SEED_PEER_TIMEOUT seconds (default 900): when it has not finished
# by then, the tiles it has written so far give its rate. Reports seconds, tiles and tiles/s.
# Usage: bench/seed_bench.sh [medium|large]   (default: large; ZOOM=5-14 to change the range)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-large}
ZOOM=${ZOOM:-5-14}
TIMEOUT=${SEED_PEER_TIMEOUT:-900}
OUT=$PWD/bench/out/basin-$SIZE
SB=$OUT/seed
if [ ! -f "$OUT/store.sqlite" ]; then
  bench/join_network_bench.sh "$SIZE"
fi
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
BIN=build-release/crossriver
rm -rf "$SB"
mkdir -p "$SB"
now() { date +%s.%N; }
zmin=${ZOOM%-*}
zmax=${ZOOM#*-}

echo "== crossriver seed z$ZOOM → MBTiles"
t0=$(now)
"$BIN" seed --store "$OUT/store.sqlite" --zoom "$ZOOM" --layers reaches,admin_units,outfalls \
  --out "$SB/basin.mbtiles" > "$SB/cr_mbtiles.log" 2>&1
t1=$(now)
mb_tiles=$(sqlite3 "$SB/basin.mbtiles" "SELECT count(*) FROM tiles")
mb_big=$(sqlite3 "$SB/basin.mbtiles" "SELECT max(length(tile_data)) FROM tiles")

echo "== crossriver seed z$ZOOM → PMTiles"
t2=$(now)
"$BIN" seed --store "$OUT/store.sqlite" --zoom "$ZOOM" --layers reaches,admin_units,outfalls \
  --out "$SB/basin.pmtiles" > "$SB/cr_pmtiles.log" 2>&1
t3=$(now)

echo "== ogr2ogr -f MVT z$ZOOM (at most $TIMEOUT s)"
# the layers' own zoom ranges and attributes, as crossriver's layer definitions give them
lo() { [ "$1" -lt "$zmax" ] && echo "$1" || echo "$zmax"; } # a layer's minzoom within the range
cat > "$SB/ogr_conf.json" <<JSON
{"reaches": {"target_name": "reaches", "minzoom": $(lo 6), "maxzoom": $zmax},
 "admin_units": {"target_name": "admin_units", "minzoom": $zmin, "maxzoom": $zmax},
 "outfalls": {"target_name": "outfalls", "minzoom": $(lo 9), "maxzoom": $zmax}}
JSON
# the current rows and the tiles' attributes of each layer, read by GDAL from the store itself
cat > "$SB/layers.vrt" <<VRT
<OGRVRTDataSource>
  <OGRVRTLayer name="reaches"><SrcDataSource>$OUT/store.sqlite</SrcDataSource>
    <SrcSQL>SELECT reach_id, name, reach_class, flow, geom FROM reaches WHERE valid_to IS NULL</SrcSQL></OGRVRTLayer>
  <OGRVRTLayer name="admin_units"><SrcDataSource>$OUT/store.sqlite</SrcDataSource>
    <SrcSQL>SELECT code, name, level, province_code, geom FROM admin_units WHERE valid_to IS NULL</SrcSQL></OGRVRTLayer>
  <OGRVRTLayer name="outfalls"><SrcDataSource>$OUT/store.sqlite</SrcDataSource>
    <SrcSQL>SELECT outfall_id, name, kind, geom FROM outfalls WHERE valid_to IS NULL</SrcSQL></OGRVRTLayer>
</OGRVRTDataSource>
VRT
t4=$(now)
rc=0
timeout "$TIMEOUT" ogr2ogr -f MVT "$SB/ogr" "$SB/layers.vrt" -dsco MINZOOM="$zmin" \
  -dsco MAXZOOM="$zmax" -dsco CONF="$SB/ogr_conf.json" -dsco COMPRESS=YES \
  -dsco MAX_SIZE=500000 > "$SB/ogr.log" 2>&1 || rc=$?
t5=$(now)
ogr_tiles=$(find "$SB/ogr" -name '*.pbf' 2>/dev/null | wc -l)
finished=yes
[ "$rc" -eq 124 ] && finished="no (stopped after $TIMEOUT s)"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && finished="no (exit $rc, see $SB/ogr.log)"

echo
echo "== results ($SIZE, z$ZOOM; reaches, admin units, outfalls)"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" -v f="$t5" -v n="$mb_tiles" \
    -v big="$mb_big" -v o="$ogr_tiles" -v fin="$finished" 'BEGIN {
  mb = b - a; pm = d - c; og = f - e;
  printf "crossriver MBTiles  %8.1f s  %8d tiles  %8.0f tiles/s  (largest %d bytes gzip)\n",
         mb, n, n / mb, big;
  printf "crossriver PMTiles  %8.1f s  %8d tiles  %8.0f tiles/s\n", pm, n, n / pm;
  printf "ogr2ogr -f MVT      %8.1f s  %8d tiles  %8.0f tiles/s  finished: %s\n", og, o,
         o / og, fin;
  if (o > 0) printf "rate: crossriver MBTiles %.1fx ogr2ogr\n", (n / mb) / (o / og);
}'
