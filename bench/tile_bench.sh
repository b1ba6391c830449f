#!/usr/bin/env bash
# Benchmark (not a test): vector tiles on a synthetic basin, against peers measured in the same
# run on the same machine.
#  1. Cold generation of a fixed tile list (30 tiles per zoom, z8–z14, at outfalls): crossriver
#     (the MVT, in process; gzip reported apart) vs PostGIS ST_AsMVT on the same data and tiles
#     (psql \timing). Both have the data in memory (one untimed pass first); neither has the
#     tile; each tile's time is the fastest of three passes, for both.
#  2. Warm throughput with wrk (64 connections, 2 threads, cycling through the same tiles, gzip):
#     crossriver serve with its tile cache warmed, tileserver-gl-light (npm) serving an MBTiles
#     of the same tiles, and nginx serving the same bytes as static files (the practical ceiling).
# Targets (issue 16): cold ≥ 3× faster than PostGIS at every zoom and ≥ 5× at the median of the list; warm ≥ 10× tileserver-gl-light's requests/s
# and ≥ ½ of nginx's, p99 < 10 ms at 64 connections, zero errors; server peak memory reported.
# Usage: bench/tile_bench.sh [medium|large]   (default: medium; COLD_ONLY=1 stops after part 1). Needs apt (wrk, nginx-light,
# PostgreSQL/PostGIS) and the npm registry (tileserver-gl-light, in bench/out/tileserver).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-medium}
OUT=$PWD/bench/out/basin-$SIZE
TB=$OUT/tiles
DURATION=${DURATION:-20s}
scripts/deps.sh
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk nginx-light >/dev/null
fi
. bench/pg_lib.sh
pg_install
if [ ! -f "$OUT/store.sqlite" ]; then # the basin: generated, ingested, joined (and PostGIS loaded)
  bench/join_network_bench.sh "$SIZE"
fi
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
BIN=build-release/crossriver
mkdir -p "$TB"

# tileserver-gl-light from npm, kept out of the project's own dependencies
TS=$PWD/bench/out/tileserver
if [ ! -f "$TS/node_modules/tileserver-gl-light/src/main.js" ]; then
  echo "installing tileserver-gl-light (npm)..." >&2
  mkdir -p "$TS"
  # a package of its own: without one, npm walks up and installs into the project's tree
  [ -f "$TS/package.json" ] || echo '{"name": "bench-tileserver", "private": true}' > "$TS/package.json"
  (cd "$TS" && npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error \
    tileserver-gl-light@5.6.0 >/dev/null)
  test -f "$TS/node_modules/tileserver-gl-light/src/main.js" # fail here, not at its first request
fi

echo "== tile list: z5–z7 over the whole $SIZE basin, then 30 per zoom, z8–z14, at outfalls"
python3 - "$OUT/outfalls.csv" > "$TB/tiles.txt" <<'PY'
import csv, math, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
def tile(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
lons = [float(r[3]) for r in rows]
lats = [float(r[4]) for r in rows]
for z in range(5, 8): # overviews: every tile over the basin (at most 30, from the middle out)
    x0, y1 = tile(min(lons), min(lats), z)
    x1, y0 = tile(max(lons), max(lats), z)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    all_t = sorted(((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)),
                   key=lambda t: ((t[0] - cx) ** 2 + (t[1] - cy) ** 2, t))
    for x, y in all_t[:30]:
        print(z, x, y)
for z in range(8, 15):
    seen, step = [], max(1, len(rows) // 97)
    i = (z * 7919) % step
    while len(seen) < 30 and i < len(rows):
        t = tile(float(rows[i][3]), float(rows[i][4]), z)
        if t not in seen:
            seen.append(t)
        i += step
    for x, y in seen:
        print(z, x, y)
PY
wc -l < "$TB/tiles.txt" | xargs echo "   tiles:"

echo "== generalise (what ingest does after each import of these layers)"
"$BIN" generalise --store "$OUT/store.sqlite"
sync # its writes reach the disk now, not under the timed passes (PostGIS's load is synced too)
echo "== cold: crossriver"
build-release/tile_bench "$OUT/store.sqlite" layers "$TB/tiles.txt" "$TB" | tee "$TB/cr_cold.txt"

echo "== cold: PostGIS ST_AsMVT (same layers, attributes, extent 4096, buffer 64, zoom ranges)"
pg_start "$OUT"
pg_load "$OUT" if-missing
sync
{
  echo '\o /dev/null'
  echo '\timing on'
  while read -r z x y; do
    outfalls="" reaches="" # the layers' own zoom ranges: reaches from z6, outfalls from z9
    if [ "$z" -ge 6 ]; then
      reaches="|| (SELECT coalesce(ST_AsMVT(q, 'reaches', 4096, 'geom'), '') FROM (SELECT reach_id, name, reach_class, flow, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($z, $x, $y), 4096, 64, true) AS geom FROM reaches WHERE geom && ST_Transform(ST_TileEnvelope($z, $x, $y, margin => 64.0 / 4096), 4326)) q WHERE geom IS NOT NULL)"
    fi
    if [ "$z" -ge 9 ]; then
      outfalls="|| (SELECT coalesce(ST_AsMVT(q, 'outfalls', 4096, 'geom'), '') FROM (SELECT outfall_id, name, kind, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($z, $x, $y), 4096, 64, true) AS geom FROM outfalls WHERE geom && ST_Transform(ST_TileEnvelope($z, $x, $y, margin => 64.0 / 4096), 4326)) q WHERE geom IS NOT NULL)"
    fi
    echo "SELECT (SELECT coalesce(ST_AsMVT(q, 'admin_units', 4096, 'geom'), '') FROM (SELECT code, name, level, province_code, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($z, $x, $y), 4096, 64, true) AS geom FROM admin WHERE geom && ST_Transform(ST_TileEnvelope($z, $x, $y, margin => 64.0 / 4096), 4326)) q WHERE geom IS NOT NULL) $reaches $outfalls;"
  done < "$TB/tiles.txt"
} > "$TB/pg_tiles.sql"
chmod a+r "$TB/pg_tiles.sql"
run_pg "$PSQL -f '$TB/pg_tiles.sql'" > /dev/null # untimed: data into memory
for pass in 1 2 3; do # each tile's time: the fastest of three passes, as for crossriver
  run_pg "$PSQL -f '$TB/pg_tiles.sql'" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' > "$TB/pg_ms$pass.txt"
done
paste -d' ' "$TB/pg_ms1.txt" "$TB/pg_ms2.txt" "$TB/pg_ms3.txt" |
  awk '{m = $1; if ($2 < m) m = $2; if ($3 < m) m = $3; print m}' > "$TB/pg_ms.txt"
paste -d' ' "$TB/tiles.txt" "$TB/pg_ms.txt" | python3 -c '
import sys, collections
by = collections.defaultdict(list)
for line in sys.stdin:
    z, x, y, ms = line.split()
    by["z" + z].append(float(ms)); by["all"].append(float(ms))
for k in sorted(by, key=lambda k: (k == "all", int(k[1:]) if k != "all" else 0)):
    v = sorted(by[k]); n = len(v)
    print("postgis    cold %-6s tiles %4d  median %8.3f ms  p95 %8.3f ms  mean %8.3f ms"
          % (k, n, v[n // 2], v[int((n - 1) * 0.95)], sum(v) / n))
' | tee "$TB/pg_cold.txt"

echo "== cold, zoom by zoom"
python3 - "$TB" <<'PY' | tee "$TB/cold_ratio.txt"
import re, sys
tb = sys.argv[1]
def table(path, who):
    out = {}
    for line in open(path):
        m = re.match(who + r"\s+cold (\S+)\s+tiles\s+\d+\s+median\s+([\d.]+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out
cr, pg = table(tb + "/cr_cold.txt", "crossriver"), table(tb + "/pg_cold.txt", "postgis")
worst = None
for k in [k for k in pg if k.startswith("z")] + ["all"]:
    r = pg[k] / cr[k] if cr.get(k) else float("inf")
    if k != "all":
        worst = r if worst is None else min(worst, r)
    target = ">= 5x (median of the list)" if k == "all" else ">= 3x"
    print(f"{k:>4}: crossriver {cr[k]:8.3f} ms  PostGIS {pg[k]:8.3f} ms  {r:6.1f}x  (target {target})")
print(f"slowest zoom against PostGIS: {worst:.1f}x")
PY
if [ "${COLD_ONLY:-0}" = 1 ]; then
  exit 0
fi

echo "== warm: wrk -t2 -c64 -d$DURATION, gzip, cycling through the same tiles"
cat > "$TB/paths.lua" <<'LUA'
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do
    local z, x, y = line:match("(%d+) (%d+) (%d+)")
    paths[#paths + 1] = string.format(args[2], z, x, y)
  end
end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
LUA
. bench/http_lib.sh # free_port, wait_http, peak_kib
run_wrk() { # name port path-format pid
  wrk -t2 -c64 -d"$DURATION" --latency -s "$TB/paths.lua" "http://127.0.0.1:$2" -- "$TB/tiles.txt" "$3" > "$TB/wrk_$1.txt"
  local rps p99 errs non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$TB/wrk_$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$TB/wrk_$1.txt")
  errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$TB/wrk_$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$TB/wrk_$1.txt")
  local mib
  mib=$(awk -v k="$(peak_kib "$4")" 'BEGIN {printf "%.1f", k / 1024}')
  printf "%-20s %10.0f req/s  p99 %8s  errors %s  non-2xx %s  server peak %s MiB\n" "$1" \
    "$rps" "$p99" "${errs:-0}" "${non2xx:-0}" "$mib" | tee -a "$TB/warm.txt"
}
: > "$TB/warm.txt"

# crossriver: the cache warmed by one pass over the tiles
P=$(free_port)
"$BIN" serve --store "$OUT/store.sqlite" --port "$P" --threads 4 --cache-mb 1024 \
  --pid-file "$TB/cr.pid" 2> "$TB/cr.log" &
wait_http "http://127.0.0.1:$P/health"
while read -r z x y; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$P/tiles/$z/$x/$y.mvt"; done < "$TB/tiles.txt"
run_wrk crossriver "$P" "/tiles/%s/%s/%s.mvt" "$(cat "$TB/cr.pid")"
curl -s "http://127.0.0.1:$P/metrics" | grep -E '^crossriver_tile_cache_(hits|misses)_total' | tr '\n' ' '; echo
kill "$(cat "$TB/cr.pid")"

# nginx: the same gzip bytes as static files
P=$(free_port)
cat > "$TB/nginx.conf" <<NGINX
worker_processes 2;
pid $TB/nginx.pid;
error_log $TB/nginx_error.log;
events { worker_connections 1024; }
http {
  access_log $TB/nginx_access.log;
  sendfile on;
  server {
    listen 127.0.0.1:$P;
    root $TB/static;
    location / { types { } default_type application/vnd.mapbox-vector-tile;
                 add_header Content-Encoding gzip; }
  }
}
NGINX
nginx -c "$TB/nginx.conf" -p "$TB"
wait_http "http://127.0.0.1:$P/$(head -1 "$TB/tiles.txt" | tr ' ' '/').pbf"
run_wrk nginx "$P" "/%s/%s/%s.pbf" "$(cat "$TB/nginx.pid")"
kill "$(cat "$TB/nginx.pid")"

# tileserver-gl-light: the same tiles from MBTiles
P=$(free_port)
cat > "$TB/tsgl.json" <<JSON
{"options": {"paths": {"root": "$TS/node_modules/tileserver-gl-styles", "mbtiles": "$TB"}},
 "data": {"tiles": {"mbtiles": "tiles.mbtiles"}}}
JSON
(cd "$TB" && exec node "$TS/node_modules/tileserver-gl-light/src/main.js" --config tsgl.json \
  --port "$P" --bind 127.0.0.1 --silent > "$TB/tsgl.log" 2>&1) &
TSPID=$!
wait_http "http://127.0.0.1:$P/data/tiles/$(head -1 "$TB/tiles.txt" | tr ' ' '/').pbf"
run_wrk tileserver-gl-light "$P" "/data/tiles/%s/%s/%s.pbf" "$TSPID"
kill "$TSPID"

echo
echo "== results ($SIZE)"
python3 - "$TB" <<'PY'
import re, sys
tb = sys.argv[1]
def med(path):
    for line in open(path):
        if " all " in line:
            return float(re.search(r"median\s+([\d.]+)", line).group(1))
cr, pg = med(tb + "/cr_cold.txt"), med(tb + "/pg_cold.txt")
print(f"cold median: crossriver {cr:.2f} ms, PostGIS {pg:.2f} ms -> {pg / cr:.1f}x (target >= 5x; >= 3x at every zoom, above)")
warm = {}
for line in open(tb + "/warm.txt"):
    name, rps = line.split()[0], float(line.split()[1])
    p99 = line.split("p99")[1].split()[0]
    warm[name] = (rps, p99, line)
c, n, t = warm["crossriver"][0], warm["nginx"][0], warm["tileserver-gl-light"][0]
print(f"warm: crossriver {c:.0f} req/s = {c / t:.1f}x tileserver-gl-light (target >= 10x), "
      f"{c / n:.2f} of nginx (target >= 0.5); crossriver p99 {warm['crossriver'][1]} (target < 10ms)")
PY
