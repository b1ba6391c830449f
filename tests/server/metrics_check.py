"""Parse crossriver's /metrics with the Prometheus project's own parser (Debian
python3-prometheus-client) and check it is consistent with what the test did.
Usage: metrics_check.py FILE MIN_TILES MIN_NOT_MODIFIED MIN_TRACE_4XX"""
import sys

from prometheus_client.parser import text_string_to_metric_families

path, min_tiles, min_304, min_trace_4xx = sys.argv[1], *map(int, sys.argv[2:5])
fam = {f.name: f for f in text_string_to_metric_families(open(path, encoding="utf-8").read())}
errors = []

req = fam["crossriver_http_requests"]
assert req.type == "counter", req.type
total = sum(s.value for s in req.samples)
by = {(s.labels["route"], s.labels["code"]): s.value for s in req.samples}

hist = fam["crossriver_http_request_duration_seconds"]
assert hist.type == "histogram", hist.type
buckets = [(float(s.labels["le"]), s.value) for s in hist.samples if s.name.endswith("_bucket")]
count = next(s.value for s in hist.samples if s.name.endswith("_count"))
hsum = next(s.value for s in hist.samples if s.name.endswith("_sum"))
if [b for b, _ in buckets] != sorted(b for b, _ in buckets) or buckets[-1][0] != float("inf"):
    errors.append(f"bucket bounds not ascending to +Inf: {buckets}")
if any(v2 < v1 for (_, v1), (_, v2) in zip(buckets, buckets[1:])):
    errors.append(f"buckets not cumulative: {buckets}")
if buckets[-1][1] != count or count != total:
    errors.append(f"+Inf {buckets[-1][1]}, count {count}, requests {total} differ")
if not 0 < hsum < 60 * count:
    errors.append(f"duration sum {hsum} for {count} requests")

def one(name):
    return fam[name].samples[0].value

if one("crossriver_tiles") < min_tiles:
    errors.append(f"tiles {one('crossriver_tiles')} < {min_tiles}")
if one("crossriver_tiles_not_modified") < min_304:
    errors.append(f"304s {one('crossriver_tiles_not_modified')} < {min_304}")
if one("crossriver_tiles_empty") < 1:
    errors.append("no empty tile counted")
if one("crossriver_tile_bytes") < 10000:
    errors.append(f"tile bytes {one('crossriver_tile_bytes')}")
if by.get(("/api/trace", "4xx"), 0) < min_trace_4xx:
    errors.append(f"/api/trace 4xx {by.get(('/api/trace', '4xx'))} < {min_trace_4xx}")
if by.get(("none", "4xx"), 0) < 1:
    errors.append("unknown paths not counted")
if one("crossriver_network_reaches") != 20:
    errors.append("network_reaches")
for e in errors:
    print("metrics_check:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
