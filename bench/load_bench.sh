#!/usr/bin/env bash
# Benchmark (not a test): the server under a crowd. wrk holds 1,000 concurrent keep-alive
# connections (2 threads) against `crossriver serve` (release build, 4 worker threads):
#  1. mixed traffic for $DURATION (default 60 s): 60 % tiles z9–z14 (gzip), 10 % TileJSON,
#     10 % bounded downstream traces, 10 % searches, 10 % feature lookups;
#  2. cached tiles only for $TILE_DURATION (default 30 s), and the same tile bytes served as
#     static files by nginx (the peer, same run, same connections): req/s and p99 side by side.
# Every URL is fetched once first and must answer 200 (that warms the tile cache). Reported:
# requests/s, p50/p99, socket errors (connect/read/write/timeout), non-2xx answers, and the
# server's peak memory. Targets (issue 15): 0 errors and 0 non-2xx at 1,000 connections; p99 of
# cached tiles on the samples < 100 ms.
# Usage: bench/load_bench.sh [samples|large]   (default: samples; large is the synthetic basin
# of bench/join_network_bench.sh large, built first when missing). Needs apt (wrk, nginx-light).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-samples}
DURATION=${DURATION:-60s}
TILE_DURATION=${TILE_DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-1000}
OUT=$PWD/bench/out/load-$SIZE
mkdir -p "$OUT"
scripts/deps.sh
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk nginx-light >/dev/null
fi
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
BIN=$PWD/build-release/crossriver
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

case "$SIZE" in
samples)
  STORE=$OUT/store.sqlite
  if [ ! -f "$STORE" ]; then # the main job's ingest, into the bench's own store
    while IFS=$'\t' read -r layer file opts; do
      case "$layer" in ''|'#'*) continue ;; esac
      # shellcheck disable=SC2086 # options are words on purpose
      "$BIN" ingest --store "$STORE" --layer "$layer" $opts "data-samples/$file" \
        --rejects "$OUT/rejects.csv" >/dev/null 2>&1 || [ $? -eq 3 ]
    done < data-samples/manifest.tsv
  fi
  ;;
large)
  STORE=$PWD/bench/out/basin-large/store.sqlite
  [ -f "$STORE" ] || bench/join_network_bench.sh large
  ;;
*) echo "usage: bench/load_bench.sh [samples|large]" >&2; exit 2 ;;
esac

echo "== URLs ($SIZE)"
rm -f "$OUT/outfalls.csv"
ogr2ogr -f CSV "$OUT/outfalls.csv" "$STORE" -sql "SELECT source_id, name, \
  ST_X(geom) AS x, ST_Y(geom) AS y FROM outfalls WHERE valid_to IS NULL AND geom IS NOT NULL \
  ORDER BY source_id"
python3 - "$SIZE" "$OUT" <<'PY'
import csv, math, sys, urllib.parse
size, out = sys.argv[1:]
def tile(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
rows = [(r["source_id"], r["name"], float(r["x"]), float(r["y"]))
        for r in csv.DictReader(open(out + "/outfalls.csv", encoding="utf-8"))]
step = max(1, len(rows) // 200)
pick = rows[::step][:200]
tiles = set()
if size == "samples":  # the zone, every tile z9–z14
    for z in range(9, 15):
        x0, y0 = tile(120.80, 31.12, z)
        x1, y1 = tile(121.02, 30.92, z)
        tiles |= {(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
else:  # the basin: at the picked outfalls, z9–z14
    for _, _, lon, lat in pick:
        for z in range(9, 15):
            tiles.add((z, *tile(lon, lat, z)))
with open(out + "/tiles.txt", "w") as f:
    for z, x, y in sorted(tiles):
        f.write(f"/tiles/{z}/{x}/{y}.mvt\n")
q = urllib.parse.quote
with open(out + "/api.txt", "w") as f:
    for sid, name, lon, lat in pick:
        f.write(f"trace /api/trace?feature=outfalls:{q(sid)}&direction=down&max_km=20\n")
        f.write(f"search /api/search?q={q((name or sid)[:4])}&limit=10\n")
        f.write(f"feature /api/features/outfalls/{q(sid)}\n")
print(f"{len(tiles)} tiles, {len(pick)} outfalls (traces, searches, features)")
PY

cat > "$OUT/mixed.lua" <<'LUA'
local tiles, api = {}, {trace = {}, search = {}, feature = {}}
init = function(args)
  for line in io.lines(args[1]) do tiles[#tiles + 1] = line end
  for line in io.lines(args[2]) do
    local kind, path = line:match("(%S+) (%S+)")
    api[kind][#api[kind] + 1] = path
  end
end
local i, gz = 0, {["Accept-Encoding"] = "gzip"}
local function pick(list) return list[(i % #list) + 1] end
request = function()
  i = i + 1
  local r = i % 10
  if r < 6 then return wrk.format("GET", pick(tiles), gz)
  elseif r == 6 then return wrk.format("GET", "/tiles.json", gz)
  elseif r == 7 then return wrk.format("GET", pick(api.trace), gz)
  elseif r == 8 then return wrk.format("GET", pick(api.search), gz)
  else return wrk.format("GET", pick(api.feature), gz) end
end
LUA
cat > "$OUT/tiles.lua" <<'LUA'
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = string.format(args[2], line) end
end
local i, gz = 0, {["Accept-Encoding"] = "gzip"}
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], gz)
end
LUA

. bench/http_lib.sh # free_port, wait_http, peak_kib
report() { # name wrk-output pid
  local rps p50 p99 errs non2xx mib
  rps=$(awk '/Requests\/sec/ {print $2}' "$2")
  p50=$(awk '$1 == "50%" {print $2}' "$2")
  p99=$(awk '$1 == "99%" {print $2}' "$2")
  errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$2")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$2")
  mib=$(awk -v k="$(peak_kib "$3")" 'BEGIN {printf "%.1f", k / 1024}')
  printf "%-26s %9.0f req/s  p50 %8s  p99 %8s  errors %s  non-2xx %s  peak %s MiB\n" "$1" \
    "$rps" "$p50" "$p99" "${errs:-0}" "${non2xx:-0}" "$mib" | tee -a "$OUT/results.txt"
}
: > "$OUT/results.txt"

P=$(free_port)
"$BIN" serve --store "$STORE" --port "$P" --threads 4 --cache-mb 1024 \
  --pid-file "$OUT/cr.pid" 2> "$OUT/cr.log" &
wait_http "http://127.0.0.1:$P/health"
CR=$(cat "$OUT/cr.pid")
echo "== every URL once (200 wanted; warms the tile cache)"
mkdir -p "$OUT/static"
bad=0
while read -r path; do
  f="$OUT/static${path%.mvt}.pbf"
  mkdir -p "$(dirname "$f")"
  code=$(curl -s -o "$f" -w '%{http_code}' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$P$path")
  [ "$code" = 200 ] || [ "$code" = 204 ] || { echo "$path: $code" >&2; bad=1; }
done < "$OUT/tiles.txt"
while read -r _ path; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P$path")
  [ "$code" = 200 ] || { echo "$path: $code" >&2; bad=1; }
done < "$OUT/api.txt"
[ "$bad" = 0 ] || { kill "$CR"; echo "some URLs did not answer 200" >&2; exit 1; }

echo "== mixed traffic: wrk -t2 -c$CONNECTIONS -d$DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/mixed.lua" "http://127.0.0.1:$P" \
  -- "$OUT/tiles.txt" "$OUT/api.txt" > "$OUT/wrk_mixed.txt"
report "crossriver mixed" "$OUT/wrk_mixed.txt" "$CR"
echo "== cached tiles: wrk -t2 -c$CONNECTIONS -d$TILE_DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$TILE_DURATION" --latency -s "$OUT/tiles.lua" "http://127.0.0.1:$P" \
  -- "$OUT/tiles.txt" "%s" > "$OUT/wrk_tiles_cr.txt"
report "crossriver cached tiles" "$OUT/wrk_tiles_cr.txt" "$CR"
curl -s "http://127.0.0.1:$P/metrics" | grep -E '^crossriver_(tile_cache_(hits|misses)|http_requests)_total' | head -4 | tr '\n' ' '; echo
kill "$CR"

P=$(free_port)
cat > "$OUT/nginx.conf" <<NGINX
worker_processes 2;
worker_rlimit_nofile 8192;
pid $OUT/nginx.pid;
error_log $OUT/nginx_error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  server {
    listen 127.0.0.1:$P backlog=1024;
    root $OUT/static;
    location /tiles/ { types { } default_type application/vnd.mapbox-vector-tile;
                       add_header Content-Encoding gzip; }
  }
}
NGINX
nginx -c "$OUT/nginx.conf" -p "$OUT"
wait_http "http://127.0.0.1:$P$(head -1 "$OUT/tiles.txt" | sed 's/\.mvt$/.pbf/')"
sed 's/\.mvt$/.pbf/' "$OUT/tiles.txt" > "$OUT/tiles_static.txt"
wrk -t2 -c"$CONNECTIONS" -d"$TILE_DURATION" --latency -s "$OUT/tiles.lua" "http://127.0.0.1:$P" \
  -- "$OUT/tiles_static.txt" "%s" > "$OUT/wrk_tiles_nginx.txt"
report "nginx static tiles (peer)" "$OUT/wrk_tiles_nginx.txt" "$(cat "$OUT/nginx.pid")"
kill "$(cat "$OUT/nginx.pid")"

echo
echo "== results ($SIZE, $CONNECTIONS connections)"
python3 - "$OUT" "$SIZE" <<'PY'
import re, sys
out, size = sys.argv[1:]
def parse(name):
    t = open(f"{out}/wrk_{name}.txt").read()
    def ms(p):
        m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), "p99": ms(99),
            "errors": sum(map(int, errs.groups())) if errs else 0, "non2xx": int(non.group(1)) if non else 0}
m, c, n = parse("mixed"), parse("tiles_cr"), parse("tiles_nginx")
ok = m["errors"] == 0 and m["non2xx"] == 0 and c["errors"] == 0 and c["non2xx"] == 0
print(f"mixed: {m['rps']:.0f} req/s, p99 {m['p99']:.1f} ms, {m['errors']} socket errors, "
      f"{m['non2xx']} non-2xx (target 0 and 0)")
print(f"cached tiles: {c['rps']:.0f} req/s, p99 {c['p99']:.1f} ms"
      + (" (target < 100 ms)" if size == "samples" else "")
      + f"; nginx {n['rps']:.0f} req/s, p99 {n['p99']:.1f} ms -> {c['rps'] / n['rps']:.2f}x nginx's req/s")
print("errors: none" if ok else "errors: SOME (see wrk_*.txt)")
PY
