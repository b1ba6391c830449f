#!/usr/bin/env bash
# Read replicas (docs/operations.md, "Scale-out"): two `crossriver serve` on a published
# snapshot behind nginx as a load balancer; during a bounded wrk run a new report is imported
# into the writer's store and published again. Wanted: no socket error and no non-2xx answer
# in the run, and the new report served by both replicas (each asked directly). Everything
# binds 127.0.0.1 on free ports and is stopped by its PID.
# Usage: replicas_test.sh   (CROSSRIVER_BIN, CROSSRIVER_SOURCE from ctest)
set -euo pipefail
BIN=${CROSSRIVER_BIN:?}
SRC=${CROSSRIVER_SOURCE:?}
DIR=$(mktemp -d /tmp/crossriver-replicas-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "replicas_test: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; fail "no answer at $1"; }

# the writer's store: counties, lakes, rivers, outfalls and the reports of the samples
W=$DIR/writer.sqlite
while IFS=$'\t' read -r layer file opts; do
  case "$layer" in admin_units|lakes|reaches|outfalls|hyacinth_reports) ;; *) continue ;; esac
  # shellcheck disable=SC2086 # options are words on purpose
  "$BIN" ingest --quiet --store "$W" --layer "$layer" $opts "$SRC/data-samples/$file" \
    --rejects "$DIR/rejects.csv" >/dev/null || [ $? -eq 3 ]
done < "$SRC/data-samples/manifest.tsv"
"$BIN" publish --quiet --store "$W" --to "$DIR/replica"

PORTS=()
for i in 1 2; do
  P=$(free_port)
  PORTS+=("$P")
  "$BIN" serve --store "$DIR/replica/store.sqlite" --port "$P" --threads 2 --poll-ms 100 \
    --pid-file "$DIR/serve$i.pid" 2> "$DIR/serve$i.log" &
  PIDS+=($!)
done
for P in "${PORTS[@]}"; do wait_http "http://127.0.0.1:$P/health"; done
N=$(free_port)
cat > "$DIR/nginx.conf" <<NGINX
$( [ "$(id -u)" -eq 0 ] && echo "user root;" ) worker_processes 1; pid $DIR/nginx.pid;
error_log $DIR/nginx_error.log;
events { worker_connections 512; }
http {
  access_log off; client_body_temp_path $DIR; proxy_temp_path $DIR; fastcgi_temp_path $DIR;
  uwsgi_temp_path $DIR; scgi_temp_path $DIR;
  upstream replicas { server 127.0.0.1:${PORTS[0]}; server 127.0.0.1:${PORTS[1]}; keepalive 16; }
  server { listen 127.0.0.1:$N;
    location / { proxy_pass http://replicas; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -c "$DIR/nginx.conf" -p "$DIR"
wait_http "http://127.0.0.1:$N/health"
for P in "${PORTS[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api/features/hyacinth_reports/REPL-0001")
  [ "$code" = 404 ] || fail "replica $P has the new report before it was published ($code)"
done

# a replica takes no writes: they would be lost at the next publish
code=$(curl -s -o "$DIR/post.json" -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:${PORTS[0]}/api/findings")
[ "$code" = 403 ] && grep -q "read replica" "$DIR/post.json" || fail "a replica took a write ($code)"

cat > "$DIR/mix.lua" <<'LUA'
local paths = {"/tiles/10/855/418.mvt", "/tiles/12/3421/1675.mvt", "/health", "/tiles.json",
               "/api/search?q=%E5%85%83%E8%8D%A1"}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
wrk -t2 -c32 -d8s -s "$DIR/mix.lua" "http://127.0.0.1:$N" > "$DIR/wrk.txt" &
WRK=$!
sleep 2
printf '上报编号,上报时间,面积,密度,处置状态,上报人,所在河流,所属区县,经度,纬度\nREPL-0001,2025-11-21 10:00,12,零星,已上报,巡河员,太浦河,吴江区,120.801,31.01\n' \
  > "$DIR/new_report.csv"
"$BIN" ingest --quiet --store "$W" --layer hyacinth_reports "$DIR/new_report.csv"
"$BIN" publish --quiet --store "$W" --to "$DIR/replica"
wait "$WRK"
cat "$DIR/wrk.txt"
requests=$(awk '/requests in/ {print $1}' "$DIR/wrk.txt")
[ "${requests:-0}" -gt 100 ] || fail "wrk made ${requests:-no} requests"
! grep -q "Socket errors" "$DIR/wrk.txt" || fail "socket errors during the publish"
! grep -q "Non-2xx" "$DIR/wrk.txt" || fail "non-2xx answers during the publish"
for P in "${PORTS[@]}"; do
  ok=0
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api/features/hyacinth_reports/REPL-0001")
    [ "$code" = 200 ] && { ok=1; break; }
    sleep 0.1
  done
  [ "$ok" = 1 ] || fail "replica $P does not serve the published report"
  grep -q "the store was replaced" "$DIR/serve1.log" || fail "replica 1 did not log the new snapshot"
done
echo "replicas_test: $requests requests through nginx to two replicas, no error while a snapshot was published; both serve the new report"
