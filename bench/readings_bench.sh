#!/usr/bin/env bash
# Benchmark (not a test): readings at national scale against PostgreSQL in the same run.
# A generated network of 3,649 sections (the national network's size) with 6 automatic
# readings a day of 9 indicators for a year (≈72 million values), imported as a station export
# (wide CSV) through `crossriver ingest --layer readings`; then the same data and indexes in
# PostgreSQL (the store's tables copied over, with the same primary keys), and the queries:
#   latest  — the latest class of every section            target < 50 ms
#   year    — one section's year at daily step              target < 10 ms
#   monthly — the monthly classes of all sections, a year   target < 2 s
# and ≥ 5× PostgreSQL on each; ingest ≥ 500,000 values/s; peak memory and store size. Then the
# alarm detector on generated series with injected events (bench/alarm_eval.c).
# Usage: bench/readings_bench.sh [SECTIONS]   (default 3649; output in bench/out/readings/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3649}
OUT=$PWD/bench/out/readings-$N
mkdir -p "$OUT"
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
. bench/pg_lib.sh
pg_install
BIN=build-release/crossriver
STORE=$OUT/store.sqlite

echo "== generate ($N sections × 365 days × 6 a day × 9 indicators)"
if [ ! -f "$OUT/readings.csv" ]; then build-release/gen_readings "$OUT" "$N"; fi
ls -la "$OUT/readings.csv"

echo "== crossriver ingest"
rm -f "$STORE" "$STORE-wal" "$STORE-shm"
$BIN ingest --quiet --store "$STORE" --layer monitoring_sections --crs EPSG:4326 --no-join \
  "$OUT/sections.csv"
/usr/bin/time -v $BIN ingest --store "$STORE" --layer readings --method automatic --no-join \
  --json "$OUT/readings.csv" > "$OUT/ingest.json" 2> "$OUT/ingest.time"
secs=$(python3 -c "import json;print(json.load(open('$OUT/ingest.json'))['seconds'])")
values=$(python3 -c "import json;print(json.load(open('$OUT/ingest.json'))['values'])")
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$OUT/ingest.time")
sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
size=$(stat -c %s "$STORE")
echo "values $values in $secs s; peak RSS $rss kB; store $size bytes"

echo "== crossriver queries"
ours=$(build-release/readings_bench "$STORE" 2025)
echo "$ours"

echo "== PostgreSQL: the same tables, keys and indexes"
pg_start "$OUT"
have=$(run_pg "$PSQL -At -c \"SELECT CASE WHEN to_regclass('public.wq_readings') IS NULL THEN -1
  ELSE (SELECT count(*) FROM wq_readings) END\"")
want=$(sqlite3 "$STORE" "SELECT count(*) FROM wq_readings")
if [ "$have" = "$want" ]; then
  echo "PostgreSQL already holds the same $want readings (the generator is deterministic): kept"
  pg_load_s=$(cat "$OUT/pg_load_s" 2>/dev/null || echo 0)
else
for t in wq_series wq_readings wq_daily wq_monthly wq_latest; do
  sqlite3 -csv "$STORE" "SELECT * FROM $t" > "$OUT/$t.csv"
done
sqlite3 -csv "$STORE" "SELECT source_id, target_class FROM monitoring_sections_current" \
  > "$OUT/sections_pg.csv"
chmod a+r "$OUT"/*.csv
python3 - "$OUT/limits.csv" <<'PY'
import json, sys
std = json.load(open('standards/gb3838-2002.json'))
with open(sys.argv[1], 'w') as f:
    for code, lim in std['limits'].items():
        if lim.get('water_bodies') == ['lake']:
            continue  # the sections here are rivers: TN is not classed
        for k, v in enumerate(lim['classes']):
            lo, hi = (v if lim['kind'] == 'range' else (v, None) if lim['kind'] == 'min'
                      else (None, v))
            f.write(f"{code},{lim['kind']},{k + 1},{'' if lo is None else lo},{'' if hi is None else hi}\n")
PY
t0=$(date +%s.%N)
run_pg "$PSQL" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS wq_series, wq_readings, wq_daily, wq_monthly, wq_latest, sections, limits;
CREATE TABLE wq_series (series_id bigint PRIMARY KEY, section_id text NOT NULL,
  indicator text NOT NULL, party text NOT NULL, method text NOT NULL,
  UNIQUE (section_id, indicator, party, method));
CREATE TABLE wq_readings (series_id bigint NOT NULL, t bigint NOT NULL, value float8 NOT NULL,
  censored int NOT NULL, flag int NOT NULL, raw text, batch_id bigint NOT NULL,
  source_row bigint NOT NULL, version int NOT NULL, PRIMARY KEY (series_id, t));
CREATE TABLE wq_daily (series_id bigint NOT NULL, day bigint NOT NULL, n int, n_valid int,
  n_censored int, sum float8, min float8, max float8, PRIMARY KEY (series_id, day));
CREATE TABLE wq_monthly (series_id bigint NOT NULL, month int NOT NULL, n int, n_valid int,
  n_censored int, sum float8, min float8, max float8, PRIMARY KEY (series_id, month));
CREATE TABLE wq_latest (series_id bigint PRIMARY KEY, t bigint, value float8, censored int);
CREATE TABLE sections (section_id text PRIMARY KEY, target_class text);
CREATE TABLE limits (indicator text, kind text, cls int, lo float8, hi float8);
\copy wq_series FROM '$OUT/wq_series.csv' CSV
\copy wq_readings FROM '$OUT/wq_readings.csv' CSV
\copy wq_daily FROM '$OUT/wq_daily.csv' CSV
\copy wq_monthly FROM '$OUT/wq_monthly.csv' CSV
\copy wq_latest FROM '$OUT/wq_latest.csv' CSV
\copy sections FROM '$OUT/sections_pg.csv' CSV
\copy limits FROM '$OUT/limits.csv' CSV
CREATE INDEX ON wq_series (section_id);
CREATE INDEX ON limits (indicator);
VACUUM ANALYZE;
SQL
t1=$(date +%s.%N)
pg_load_s=$(python3 -c "print(round($t1 - $t0, 1))")
echo "$pg_load_s" > "$OUT/pg_load_s"
rm -f "$OUT"/wq_*.csv
fi
echo "PostgreSQL load (COPY of the store's tables, keys, indexes): $pg_load_s s"

# the class of an indicator's value: the smallest class whose limit it meets, else 6 (劣V)
CLS="COALESCE((SELECT min(l.cls) FROM limits l WHERE l.indicator = x.indicator AND
  ((l.kind = 'max' AND x.v <= l.hi) OR (l.kind = 'min' AND x.v >= l.lo) OR
   (l.kind = 'range' AND x.v BETWEEN l.lo AND l.hi))), 6)"
Q_LATEST="SELECT x.section_id, max($CLS) FROM (SELECT r.section_id, r.indicator,
  CASE WHEN l.censored = 1 THEN l.value / 2 ELSE l.value END AS v FROM wq_series r
  JOIN wq_latest l USING (series_id) WHERE r.indicator IN (SELECT indicator FROM limits)) x
  GROUP BY x.section_id"
Q_MONTHLY="SELECT x.section_id, x.month, max($CLS) FROM (SELECT r.section_id, m.month,
  r.indicator, sum(m.sum) / nullif(sum(m.n_valid), 0) AS v FROM wq_series r JOIN wq_monthly m
  USING (series_id) WHERE m.month BETWEEN 202501 AND 202512 AND r.indicator IN (SELECT indicator
  FROM limits) GROUP BY 1, 2, 3) x WHERE x.v IS NOT NULL GROUP BY 1, 2"
d0=$(python3 -c "import datetime;print((datetime.date(2025,1,1)-datetime.date(1970,1,1)).days)")
year_q() { echo "SELECT r.indicator, d.day, d.sum / nullif(d.n_valid, 0), d.n_valid FROM wq_series r
  JOIN wq_daily d USING (series_id) WHERE r.section_id = '$1' AND d.day BETWEEN $d0 AND
  $((d0 + 364)) ORDER BY r.indicator, d.day;"; }
# psql's \timing per statement, output discarded; prints the times in ms, one per line
pg_times() { run_pg "$PSQL -c '\\timing on' -c '\\o /dev/null' $(for q in "$@"; do printf -- "-c %q " "$q"; done)" \
  | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
lat=$(pg_times "$Q_LATEST" "$Q_LATEST" "$Q_LATEST" "$Q_LATEST" "$Q_LATEST" | sort -n | head -1)
mon=$(pg_times "$Q_MONTHLY" "$Q_MONTHLY" "$Q_MONTHLY" | sort -n | head -1)
yq=()
for i in $(seq 0 49); do yq+=("$(year_q "$(printf 'B%05d' $(( (i * 7919) % N )))")"); done
yr=$(pg_times "${yq[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "PostgreSQL: latest $lat ms (best of 5), one section's year by day $yr ms (median of 50), monthly classes $mon ms (best of 3)"

echo "== the alarm detector on injected events"
ev=$(build-release/alarm_eval "$OUT" 200)
echo "$ev"

python3 - "$ours" "$lat" "$yr" "$mon" "$secs" "$values" "$rss" "$size" "$pg_load_s" "$ev" \
  > "$OUT/summary.json" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
lat, yr, mon = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
secs, values, rss, size = float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
s = {
  "values": values, "ingest_s": secs, "ingest_values_per_s": round(values / secs),
  "ingest_peak_rss_mb": round(rss / 1024), "store_mb": round(size / 2**20),
  "latest_ms": o["latest_ms"]["median"], "latest_pg_ms": lat,
  "latest_ratio": round(lat / o["latest_ms"]["median"], 1),
  "latest_json_ms": o["latest_ms"]["json_median"],
  "year_daily_ms": o["year_daily_ms"]["p50"], "year_daily_pg_ms": yr,
  "year_daily_json_ms": o["year_daily_ms"]["json_p50"],
  "year_daily_ratio": round(yr / o["year_daily_ms"]["p50"], 1),
  "monthly_all_ms": o["monthly_all_ms"]["best"], "monthly_all_pg_ms": mon,
  "monthly_ratio": round(mon / o["monthly_all_ms"]["best"], 1),
  "monthly_all_json_ms": o["monthly_all_ms"]["json"],
  "pg_load_s": float(sys.argv[9]), "alarm_eval": json.loads(sys.argv[10]),
}
print(json.dumps(s, indent=1, ensure_ascii=False))
PY
cat "$OUT/summary.json"
