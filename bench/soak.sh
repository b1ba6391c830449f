#!/usr/bin/env bash
# Benchmark (not a test): a bounded soak. `crossriver serve` (release build) on a copy of the
# samples store takes mixed traffic from wrk (the load bench's mix: tiles, TileJSON, traces,
# searches, features; $CONNECTIONS keep-alive connections, default 256) for $MINUTES (default
# 30), while a new hyacinth report is imported into the served store every minute (each a new
# batch: the server drops the tiles it touched and serves the report). The server's resident
# memory is sampled every 10 s. Reported: requests, socket errors, non-2xx answers, imports
# that failed, and memory growth from the 5th minute (warm: caches full) to the end.
# Targets (issue 15): no error of any kind; memory growth within 5 %.
# Usage: bench/soak.sh   (MINUTES=n, CONNECTIONS=n). Needs apt (wrk); builds what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-30}
CONNECTIONS=${CONNECTIONS:-256}
OUT=$PWD/bench/out/soak
LOAD=$PWD/bench/out/load-samples
mkdir -p "$OUT"
if [ ! -f "$LOAD/store.sqlite" ] || [ ! -f "$LOAD/mixed.lua" ]; then # the URLs and the store
  DURATION=5s TILE_DURATION=2s bench/load_bench.sh samples >/dev/null
fi
BIN=$PWD/build-release/crossriver
rm -f "$OUT"/store.sqlite*
sqlite3_copy() { python3 -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' "$1" "$2"; }
sqlite3_copy "$LOAD/store.sqlite" "$OUT/store.sqlite"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

. bench/http_lib.sh # free_port, wait_http, peak_kib
P=$(free_port)
"$BIN" serve --store "$OUT/store.sqlite" --port "$P" --threads 4 --pid-file "$OUT/cr.pid" \
  2> "$OUT/cr.log" &
wait_http "http://127.0.0.1:$P/health"
CR=$(cat "$OUT/cr.pid")
while read -r path; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$P$path"; done < "$LOAD/tiles.txt"

echo "== soak: $MINUTES min, wrk -t2 -c$CONNECTIONS, an import a minute"
wrk -t2 -c"$CONNECTIONS" -d"${MINUTES}m" --timeout 10s --latency -s "$LOAD/mixed.lua" \
  "http://127.0.0.1:$P" -- "$LOAD/tiles.txt" "$LOAD/api.txt" > "$OUT/wrk.txt" &
WRK=$!
printf 'second\trss_kib\n' > "$OUT/rss.tsv"
: > "$OUT/imports.txt"
start=$(date +%s)
next_import=$((start + 60))
failed=0
while kill -0 "$WRK" 2>/dev/null; do
  now=$(date +%s)
  printf '%s\t%s\n' $((now - start)) "$(awk '/VmRSS/ {print $2}' "/proc/$CR/status")" >> "$OUT/rss.tsv"
  if [ "$now" -ge "$next_import" ]; then
    n=$(( (now - start) / 60 ))
    f=$OUT/report_$n.csv
    printf '上报编号,上报时间,面积,密度,处置状态,上报人,所在河流,所属区县,经度,纬度\n' > "$f"
    printf 'SOAK-%04d,2025-11-20 09:%02d,%d,零星,已上报,巡河员,太浦河,吴江区,%.6f,%.6f\n' \
      "$n" $((n % 60)) $((10 + n)) "$(awk -v n="$n" 'BEGIN {printf "%.6f", 120.80 + 0.001 * n}')" 31.01 >> "$f"
    if "$BIN" ingest --quiet --store "$OUT/store.sqlite" --layer hyacinth_reports "$f" \
      >> "$OUT/imports.txt" 2>&1; then
      echo "minute $n: imported" >> "$OUT/imports.txt"
    else
      echo "minute $n: FAILED" >> "$OUT/imports.txt"; failed=$((failed + 1))
    fi
    next_import=$((next_import + 60))
  fi
  sleep 10
done
served=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api/features/hyacinth_reports/SOAK-0001")
kill "$CR"
imports=$(grep -c ': imported' "$OUT/imports.txt" || true)
echo
echo "== results"
python3 - "$OUT" "$MINUTES" "$imports" "$failed" "$served" <<'PY'
import re, sys
out, minutes, imports, failed, served = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
t = open(out + "/wrk.txt").read()
reqs = int(re.search(r"(\d+) requests in", t).group(1))
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
errors = sum(map(int, errs.groups())) if errs else 0
non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
non2xx = int(non.group(1)) if non else 0
rss = [tuple(map(int, l.split())) for l in open(out + "/rss.tsv").readlines()[1:] if l.strip()]
warm = [k for s, k in rss if 240 <= s <= 360] or [rss[len(rss) // 5][1]]
end = [k for s, k in rss if s >= rss[-1][0] - 60]
w, e = sorted(warm)[len(warm) // 2], sorted(end)[len(end) // 2]
growth = 100.0 * (e - w) / w
print(f"{minutes} min: {reqs} requests ({reqs / (minutes * 60):.0f}/s), {errors} socket errors, "
      f"{non2xx} non-2xx; {imports} imports, {failed} failed; the first soak report served: {served}")
print(f"memory: {w / 1024:.1f} MiB at minutes 4-6, {e / 1024:.1f} MiB in the last minute "
      f"-> {growth:+.1f} % (target within 5 %)")
ok = errors == 0 and non2xx == 0 and failed == 0 and served == "200" and growth <= 5
print("result: " + ("no error, memory flat" if ok else "NOT MET"))
PY
