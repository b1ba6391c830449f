#!/usr/bin/env bash
# Benchmark (not a test): tracing on the large synthetic basin, against NetworkX (Debian
# python3-networkx) and a PostgreSQL recursive CTE on the same network in the same run.
#  - whole basin: upstream of every branch from the outlet, no bound
#  - 1,000 downstream traces bounded at 20 km from random reaches (same seed for all), p50/p99
# Targets: whole basin < 100 ms; a bounded trace < 1 ms; >= 10x NetworkX; >= 50x the CTE.
# Usage: bench/trace_bench.sh [small|medium|large]  (runs join_network_bench.sh first if the
# basin's store is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-large}
OUT=$PWD/bench/out/basin-$SIZE
if [ ! -f "$OUT/store.sqlite" ]; then
  bench/join_network_bench.sh "$SIZE"
fi
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCR_BUILD_TESTS=OFF >/dev/null
if ! /usr/bin/python3 -c "import networkx" 2>/dev/null; then
  echo "installing python3-networkx (Debian)..." >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-networkx >/dev/null
fi

echo "== crossriver"
ours=$(build-release/trace_bench "$OUT/store.sqlite")
echo "$ours"
outlet=$(echo "$ours" | sed 's/.*"outlet": "\([^"]*\)".*/\1/')

echo "== edges for the peers"
sqlite3 -csv "$OUT/store.sqlite" "SELECT r.source_id, d.from_node, d.to_node, d.length_m
  FROM reaches r JOIN reaches_derived d ON d.fid = r.fid WHERE r.valid_to IS NULL
  ORDER BY r.source_id" > "$OUT/edges.csv"

echo "== NetworkX"
theirs=$(/usr/bin/python3 - "$OUT/edges.csv" "$outlet" <<'PY'
import csv, json, sys, time
import networkx as nx
edges = list(csv.reader(open(sys.argv[1])))
g = nx.DiGraph()
for rid, a, b, length in edges:
    g.add_edge(int(a), int(b), length=float(length), reach=rid)
by_id = {rid: (int(a), int(b)) for rid, a, b, _ in edges}
outlet_from = by_id[sys.argv[2]][0]
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    up = nx.ancestors(g, outlet_from)
    best = min(best, time.perf_counter() - t0)
# the same 1,000 start reaches as trace_bench.c (same LCG over the reach-ID order)
x = 42
starts = []
for _ in range(1000):
    x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    starts.append(edges[(x >> 33) % len(edges)])
ms = []
for rid, a, b, length in starts:
    t0 = time.perf_counter()
    nx.single_source_dijkstra_path_length(g, int(a), cutoff=20000.0, weight="length")
    ms.append((time.perf_counter() - t0) * 1000)
ms.sort()
print(json.dumps({"whole_basin_up_ms": best * 1000, "whole_basin_nodes": len(up) + 1,
                  "bounded_p50_ms": ms[500], "bounded_p99_ms": ms[990]}))
PY
)
echo "$theirs"

echo "== PostgreSQL recursive CTE"
PGDATA=$OUT/pg
SOCK=$OUT/pgsock
PGBIN=/usr/lib/postgresql/15/bin
run_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$OUT"; fi
run_pg "$PGBIN/pg_ctl -D '$PGDATA' -l '$OUT/pg.log' -w -o \"-k '$SOCK' -c listen_addresses='' \
  -p 55432 -c shared_buffers=2GB -c work_mem=256MB -c jit=off\" start" >/dev/null
trap 'run_pg "$PGBIN/pg_ctl -D \"$PGDATA\" -m fast stop" >/dev/null 2>&1 || true' EXIT
PSQL="$PGBIN/psql -h $SOCK -p 55432 -U bench -d postgres -v ON_ERROR_STOP=1 -q"
run_pg "$PSQL" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS edges;
CREATE TABLE edges (reach_id text, from_node int, to_node int, length_m float8);
\copy edges FROM '$OUT/edges.csv' CSV
CREATE INDEX ON edges (to_node);
VACUUM ANALYZE edges;
SQL
t0=$(date +%s.%N)
cte_nodes=$(run_pg "$PSQL -At -c \"WITH RECURSIVE up(node) AS (
  SELECT from_node FROM edges WHERE reach_id = '$outlet'
  UNION SELECT e.from_node FROM edges e JOIN up ON e.to_node = up.node)
  SELECT count(*) FROM up\"")
t1=$(date +%s.%N)
cte_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')
echo "{\"whole_basin_up_ms\": $cte_ms, \"whole_basin_nodes\": $cte_nodes}"

echo
echo "== results ($SIZE)"
/usr/bin/python3 - "$ours" "$theirs" "$cte_ms" <<'PY'
import json, sys
ours, nx, cte = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
print(f"whole basin upstream: crossriver {ours['whole_basin_up_ms']:.1f} ms "
      f"({ours['whole_basin_reaches']} reaches, with distance and time each) | NetworkX "
      f"ancestors {nx['whole_basin_up_ms']:.1f} ms | recursive CTE {cte:.1f} ms")
print(f"  -> {nx['whole_basin_up_ms'] / ours['whole_basin_up_ms']:.1f}x NetworkX (target >= 40x), "
      f"{cte / ours['whole_basin_up_ms']:.1f}x the CTE (target >= 80x), target < 40 ms")
print(f"bounded 20 km downstream: crossriver p50 {ours['bounded_p50_ms']:.4f} ms p99 "
      f"{ours['bounded_p99_ms']:.4f} ms | NetworkX p50 {nx['bounded_p50_ms']:.4f} ms "
      f"p99 {nx['bounded_p99_ms']:.4f} ms -> "
      f"{nx['bounded_p50_ms'] / ours['bounded_p50_ms']:.1f}x at p50 (target < 0.01 ms)")
print(f"graph load: {ours['graph_load_s']:.2f} s for {ours['reaches']} reaches")
PY
