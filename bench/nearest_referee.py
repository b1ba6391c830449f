#!/usr/bin/env python3
"""Referee for the join benchmark: where crossriver and PostGIS chose different nearest reaches,
measure both by brute force with PROJ's own `geod` (WGS84 geodesics to 4,000 points per segment)
and count which was really nearer. Usage: nearest_referee.py STORE PG_JOINED CR_JOINED [N]"""
import csv, random, re, sqlite3, subprocess, sys

store, pg_csv, cr_csv = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 30
pg = {r[0]: r[2] for r in csv.reader(open(pg_csv))}
cr = {r[0]: r[2] for r in csv.reader(open(cr_csv))}
disputed = sorted(k for k in pg if k in cr and pg[k] and cr[k] and pg[k] != cr[k])
random.Random(1).shuffle(disputed)
db = sqlite3.connect(store)


def vertices(reach_id):
    # SpatiaLite blob: 0x00, endian, srid, mbr (32), 0x7C, class, n, points
    import struct
    blob = db.execute("SELECT geom FROM reaches WHERE source_id=? AND valid_to IS NULL",
                      (reach_id,)).fetchone()[0]
    npts = struct.unpack_from("<i", blob, 43)[0]
    return [struct.unpack_from("<dd", blob, 47 + 16 * i) for i in range(npts)]


def point(oid):
    blob = db.execute("SELECT geom FROM outfalls WHERE source_id=? AND valid_to IS NULL",
                      (oid,)).fetchone()[0]
    import struct
    return struct.unpack_from("<dd", blob, 43)


def distance(x, y, pts, steps=4000):
    lines = []
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        for i in range(steps + 1):
            t = i / steps
            lines.append(f"{y} {x} {y1 + t * (y2 - y1)} {x1 + t * (x2 - x1)}\n")
    out = subprocess.run(["geod", "+ellps=WGS84", "-I", "-f", "%.4f"], input="".join(lines),
                         capture_output=True, text=True, check=True).stdout
    return min(float(l.split()[2]) for l in out.strip().split("\n"))


ours = theirs = 0
for oid in disputed[:n]:
    x, y = point(oid)
    d_pg = distance(x, y, vertices(pg[oid]))
    d_cr = distance(x, y, vertices(cr[oid]))
    if d_cr <= d_pg + 1e-3:
        ours += 1
    else:
        theirs += 1
        print(f"  {oid}: PostGIS's {pg[oid]} {d_pg:.3f} m < crossriver's {cr[oid]} {d_cr:.3f} m")
print(f"referee (PROJ geod, brute force) on {ours + theirs} of {len(disputed)} disputed outfalls: "
      f"crossriver nearer {ours}, PostGIS nearer {theirs}")
