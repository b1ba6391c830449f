#!/usr/bin/env bash
# Benchmark (not a test): two imports, each against ogr2ogr loading the same file into
# SpatiaLite (-f SQLite -dsco SPATIALITE=YES, with its spatial index) in the same run:
#  1. a generated 200,000-row outfall CSV (Chinese headers, decimal degrees);
#  2. the large synthetic basin's 1,001,000 reaches (WKT lines; bench/gen_basin), where
#     crossriver's time includes what its import does beyond loading: validation, a content
#     hash per row, history columns, provenance, the packed spatial index and the low-zoom
#     generalisation of the lines.
# Target: crossriver no slower than 1.5x ogr2ogr on each. The joins that normally follow an
# import are a separate stage (--no-join; see bench/join_network_bench.sh).
# Usage: bench/ingest_bench.sh [ROWS] (outfall rows, default 200000; REACHES=0 skips part 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-200000}
OUT=bench/out
mkdir -p "$OUT"
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
CSV="$OUT/outfalls_${ROWS}.csv"
if [ ! -f "$CSV" ]; then
  # deterministic: positions on a grid over the demonstration zone, kinds and statuses cycled
  awk -v n="$ROWS" 'BEGIN {
    srand(42);
    split("工业排污口,城镇污水处理厂排污口,农业排口,其他排口", kind, ",");
    split("正常,整治中,已封堵,规范化完成", status, ",");
    print "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度,日排放量,整治状态,排查日期";
    for (i = 1; i <= n; i++) {
      lon = 120.40 + (i % 997) * 0.0009; lat = 30.80 + int(i / 997) % 450 * 0.001;
      printf "BENCH-%07d,排口%d,%s,太浦河,%.6f,%.6f,%.1f,%s,2025-06-%02d\n",
             i, i, kind[i % 4 + 1], lon, lat, (i * 7919) % 5000 / 10.0, status[i % 4 + 1], i % 28 + 1;
    }
  }' > "$CSV"
fi
now() { date +%s.%N; }
peak_kb() { awk '/Maximum resident/ {print $6}' "$1"; }

rm -f "$OUT/cr.sqlite"* "$OUT/ogr.sqlite"*
t0=$(now)
/usr/bin/time -v build-release/crossriver ingest --quiet --no-join --store "$OUT/cr.sqlite" \
  --layer outfalls "$CSV" 2> "$OUT/cr.time" || true
t1=$(now)
/usr/bin/time -v ogr2ogr -f SQLite -dsco SPATIALITE=YES -oo X_POSSIBLE_NAMES=经度 \
  -oo Y_POSSIBLE_NAMES=纬度 -a_srs EPSG:4326 -nln outfalls "$OUT/ogr.sqlite" "$CSV" \
  2> "$OUT/ogr.time"
t2=$(now)
stored=$(sqlite3 "$OUT/cr.sqlite" "select count(*) from outfalls")
loaded=$(sqlite3 "$OUT/ogr.sqlite" "select count(*) from outfalls")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$ROWS" -v s="$stored" -v l="$loaded" \
    -v m1="$(peak_kb "$OUT/cr.time")" -v m2="$(peak_kb "$OUT/ogr.time")" 'BEGIN {
  cr = b - a; og = c - b;
  printf "rows            %d (crossriver stored %d, ogr2ogr loaded %d)\n", n, s, l;
  printf "crossriver      %6.2f s  %8.0f rows/s  peak %6.1f MiB\n", cr, n / cr, m1 / 1024;
  printf "ogr2ogr         %6.2f s  %8.0f rows/s  peak %6.1f MiB\n", og, n / og, m2 / 1024;
  printf "ratio           %.2fx ogr2ogr time (target <= 1.5x)\n", cr / og;
}'
[ "${REACHES:-1}" = 0 ] && exit 0

echo "== reaches of the large basin"
BASIN=bench/out/basin-large
if [ ! -f "$BASIN/reaches.csv" ]; then
  mkdir -p "$BASIN"
  build-release/gen_basin large "$BASIN" >/dev/null
fi
REGION=109.900,24.900,120.110,35.100 # gen_basin large's region
rm -f "$OUT/cr_reaches.sqlite"* "$OUT/ogr_reaches.sqlite"*
t0=$(now)
/usr/bin/time -v build-release/crossriver ingest --quiet --no-join --region "$REGION" \
  --store "$OUT/cr_reaches.sqlite" --layer reaches "$BASIN/reaches.csv" 2> "$OUT/cr_r.time" || true
t1=$(now)
/usr/bin/time -v ogr2ogr -f SQLite -dsco SPATIALITE=YES -a_srs EPSG:4326 -nln reaches \
  "$OUT/ogr_reaches.sqlite" "$BASIN/reaches.csv" 2> "$OUT/ogr_r.time"
t2=$(now)
stored=$(sqlite3 "$OUT/cr_reaches.sqlite" "select count(*) from reaches")
indexed=$(sqlite3 "$OUT/cr_reaches.sqlite" "select rtreecheck('idx_reaches_geom')")
loaded=$(sqlite3 "$OUT/ogr_reaches.sqlite" "select count(*) from reaches")
n=$(($(wc -l < "$BASIN/reaches.csv") - 1))
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" -v s="$stored" -v l="$loaded" -v ix="$indexed" \
    -v m1="$(peak_kb "$OUT/cr_r.time")" -v m2="$(peak_kb "$OUT/ogr_r.time")" 'BEGIN {
  cr = b - a; og = c - b;
  printf "reaches         %d (crossriver stored %d, spatial index check: %s; ogr2ogr loaded %d)\n",
         n, s, ix, l;
  printf "crossriver      %6.2f s  %8.0f rows/s  peak %6.1f MiB\n", cr, n / cr, m1 / 1024;
  printf "ogr2ogr         %6.2f s  %8.0f rows/s  peak %6.1f MiB\n", og, n / og, m2 / 1024;
  printf "ratio           %.2fx ogr2ogr time (target <= 1.5x)\n", cr / og;
}'
