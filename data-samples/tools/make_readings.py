#!/usr/bin/env python3
"""Generate a year (2025) of plausible water-quality readings for the sample sections.

Every value is GENERATED (fixed seed): monthly manual results for every section (both sides
sampling the same sample at the cross-boundary sections), 4-hourly automatic-station data for
the four Taipu River stations, and one documented incident: on 2025-08-12 the outfall
WJ-TPH-0007 (太浦河工矿企业7号排口) releases ammonia from 06:00 to 14:00; the plume reaches
the 康家村 station (SEC-TPH-KJ, ~2 h downstream) and the 金泽 station (SEC-TPH-JZ, ~5 h) and
never the 黎里东 station upstream (SEC-TPH-LLD). The emergency lab results of that day come as
a long-format file with total phosphorus in µg/L. Python 3 standard library only.
"""
import csv
import math
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
R = random.Random(20250812)

# section: (kind, target, baseline per indicator)
BASE = {
    # river sections: CODMn, COD, BOD5, NH3-N, TP, TN, oil
    "SEC-TPH-LLD": ("跨界", dict(codmn=3.4, cod=12, bod5=2.2, nh3n=0.28, tp=0.075, tn=1.55)),
    "SEC-TPH-JZ": ("国控", dict(codmn=3.3, cod=12, bod5=2.1, nh3n=0.25, tp=0.07, tn=1.5)),
    "SEC-TPH-KJ": ("跨界", dict(codmn=3.4, cod=12, bod5=2.2, nh3n=0.27, tp=0.073, tn=1.52)),
    "SEC-FH-DQ": ("跨界", dict(codmn=4.6, cod=16, bod5=3.0, nh3n=0.55, tp=0.15, tn=2.1)),
    "SEC-HQT-DS": ("跨界", dict(codmn=4.9, cod=17, bod5=3.2, nh3n=0.62, tp=0.17, tn=2.4)),
    "SEC-JSG-ZZ": ("跨界", dict(codmn=4.7, cod=16, bod5=3.1, nh3n=0.45, tp=0.18, tn=2.0)),
    "SEC-DSH-C": ("联合监测", dict(codmn=4.2, cod=15, bod5=2.6, nh3n=0.22, tp=0.075, tn=1.6, chla=18)),
    "SEC-LLG-01": ("市控", dict(codmn=4.4, cod=15, bod5=2.8, nh3n=0.42, tp=0.14, tn=1.9)),
    "SEC-DCH-WJJ": ("跨界", dict(codmn=5.2, cod=19, bod5=3.6, nh3n=0.75, tp=0.2, tn=2.8)),
    "SEC-LXT-01": ("跨界", dict(codmn=4.5, cod=16, bod5=3.0, nh3n=0.5, tp=0.16, tn=2.2)),
    "SEC-YD-01": ("联合监测", dict(codmn=4.0, cod=14, bod5=2.5, nh3n=0.2, tp=0.065, tn=1.45, chla=15)),
    "SEC-TPH-PW": ("省控", dict(codmn=3.2, cod=11, bod5=2.0, nh3n=0.24, tp=0.068, tn=1.5)),
}
NAMES = {
    "SEC-TPH-LLD": "太浦河黎里东", "SEC-TPH-JZ": "太浦河金泽", "SEC-TPH-KJ": "太浦河康家村",
    "SEC-FH-DQ": "汾湖大桥", "SEC-HQT-DS": "红旗塘大舜枢纽", "SEC-JSG-ZZ": "急水港周庄大桥",
    "SEC-DSH-C": "淀山湖中心", "SEC-LLG-01": "拦路港泖甸", "SEC-DCH-WJJ": "京杭运河王江泾",
    "SEC-LXT-01": "澜溪塘乌镇北", "SEC-YD-01": "元荡湖心", "SEC-TPH-PW": "太浦河平望",
}
AUTO = ["SEC-TPH-PW", "SEC-TPH-LLD", "SEC-TPH-KJ", "SEC-TPH-JZ"]
DAYS_IN = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def season(day_of_year):
    """0 in late January, 1 in late July."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * (day_of_year - 25) / 365)


def temp(doy, hour=10):
    return 5.5 + 24 * season(doy) + 0.8 * math.sin(2 * math.pi * (hour - 9) / 24)


def do_sat(t):
    return 14.6 - 0.39 * t + 0.007 * t * t


def noisy(v, rel):
    return v * math.exp(R.gauss(0, rel))


def fmt(v, digits):
    return f"{v:.{digits}f}"


def manual():
    head = ["断面编码", "断面名称", "监测时间", "采样方", "水温(℃)", "pH", "溶解氧(mg/L)",
            "高锰酸盐指数(mg/L)", "化学需氧量(mg/L)", "五日生化需氧量(mg/L)", "氨氮(mg/L)",
            "总磷(mg/L)", "总氮(mg/L)", "石油类(mg/L)", "叶绿素a(μg/L)", "数据标识", "备注"]
    rows = []
    doy0 = 0
    for m in range(1, 13):
        for sid, (kind, b) in BASE.items():
            d = 6 + R.randint(0, 8)
            doy = doy0 + d
            hh, mm = 9 + R.randint(0, 3), R.choice([0, 15, 30, 45])
            when = f"2025-{m:02d}-{d:02d} {hh:02d}:{mm:02d}"
            s = season(doy)
            t = temp(doy, hh)
            # summer: more phosphorus and ammonia in the canals, algae in the lakes
            vals = dict(
                codmn=noisy(b["codmn"] * (0.9 + 0.25 * s), 0.08),
                cod=noisy(b["cod"] * (0.9 + 0.25 * s), 0.08),
                bod5=noisy(b["bod5"] * (0.9 + 0.2 * s), 0.1),
                nh3n=noisy(b["nh3n"] * (1.25 - 0.45 * s), 0.12),
                tp=noisy(b["tp"] * (0.85 + 0.4 * s), 0.1),
                tn=noisy(b["tn"] * (1.2 - 0.35 * s), 0.08),
            )
            do = noisy(do_sat(t) * (0.78 - 0.05 * s), 0.05)
            ph = 7.4 + 0.5 * s + R.gauss(0, 0.12)
            oil = "0.01L" if R.random() < 0.8 else fmt(R.uniform(0.01, 0.03), 2)
            chla = fmt(noisy(b["chla"] * (0.5 + 1.6 * s), 0.2), 1) if "chla" in b else ""
            parties = ["上游", "下游"] if kind == "跨界" else (["联合"] if kind == "联合监测" else [""])
            for i, party in enumerate(parties):
                # the other side's split of the same sample: within a few per cent
                k = 1.0 if i == 0 else 1.0 + R.gauss(0, 0.03)
                v = {key: x * k for key, x in vals.items()}
                if sid == "SEC-JSG-ZZ" and m == 7 and i == 1:
                    v["tp"] *= 1.45  # a difference the reconciliation flags
                bod = fmt(v["bod5"], 1) if v["bod5"] >= 0.5 else "未检出"
                tp = fmt(v["tp"], 3) if v["tp"] >= 0.01 else "<0.01"
                rows.append([sid, NAMES[sid], when, party, fmt(t, 1), fmt(ph, 2), fmt(do, 2),
                             fmt(v["codmn"], 1), fmt(v["cod"], 0), bod, fmt(v["nh3n"], 3), tp,
                             fmt(v["tn"], 2), oil, chla, "有效", ""])
        doy0 += DAYS_IN[m - 1]
    # rows that are wrong on purpose (their reasons are in the rejects)
    rows.append(["SEC-XXX-99", "不存在断面", "2025-03-10 10:00", "", "12.1", "7.6", "8.9", "3.1", "11",
                 "2.0", "0.31", "0.081", "1.6", "0.01L", "", "有效", "编码错误"])
    rows.append(["SEC-LLG-01", "拦路港泖甸", "2025-04-11 10:00", "", "17.0", "7.7", "8.1", "4.2", "14",
                 "2.6", "0,4a", "0.13", "1.9", "0.01L", "", "有效", "录入错误"])
    rows.append(["SEC-LLG-01", "拦路港泖甸", "2027-05-12 10:00", "", "20.0", "7.7", "7.6", "4.3", "15",
                 "2.7", "0.39", "0.14", "1.8", "0.01L", "", "有效", "日期写错"])
    rows.append(["SEC-LXT-01", "澜溪塘乌镇北", "2025-06-09 10:30", "下游", "24.0", "15.2", "6.3", "4.6",
                 "16", "3.0", "0.42", "0.17", "2.1", "0.01L", "", "有效", "pH写错"])
    dup = next(r for r in rows if r[0] == "SEC-FH-DQ" and r[2].startswith("2025-05"))
    rows.append(list(dup[:-1]) + ["重复录入"])
    with open(os.path.join(OUT, "readings_manual_2025.csv"), "w", encoding="utf-8-sig",
              newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["2025年 示范区跨界断面水质手工监测结果"])
        w.writerow(head)
        w.writerows(rows)
    return len(rows)


def spike(sid, day, hour):
    """The 2025-08-12 ammonia release seen at a station (mg/L added)."""
    arrival = {"SEC-TPH-KJ": 2.1, "SEC-TPH-JZ": 5.1}.get(sid)
    if arrival is None or day != 223:  # 2025-08-12 is day 223 (0-based day of year)
        return 0.0
    t = hour - 6.0 - arrival  # hours since the release front arrived
    peak = 2.6 if sid == "SEC-TPH-KJ" else 1.9
    if t < 0 or t > 11:
        return 0.0
    return peak * (1 - math.exp(-t / 1.5)) * (1 if t < 8 else math.exp(-(t - 8) / 1.2))


def automatic():
    head = ["站点编码", "站点名称", "数据时间", "水温(℃)", "pH(无量纲)", "溶解氧(mg/L)",
            "电导率(μS/cm)", "浊度(NTU)", "高锰酸盐指数(mg/L)", "氨氮(mg/L)", "总磷(mg/L)",
            "总氮(mg/L)", "数据标识"]
    rows = []
    for sid in AUTO:
        b = BASE[sid][1]
        doy = 0
        for m in range(1, 13):
            for d in range(1, DAYS_IN[m - 1] + 1):
                for hh in range(0, 24, 4):
                    # the 平望 station is silent 2025-10-20 … 10-23 (a transmission fault)
                    if sid == "SEC-TPH-PW" and m == 10 and 20 <= d <= 23:
                        continue
                    s = season(doy)
                    t = temp(doy, hh)
                    flag = "N"
                    if sid == "SEC-TPH-LLD" and m == 3 and d in (18, 19):
                        flag = "M"  # maintenance
                    nh = noisy(b["nh3n"] * (1.25 - 0.45 * s), 0.06) + spike(sid, doy, hh)
                    rows.append([
                        sid, NAMES[sid], f"2025-{m:02d}-{d:02d} {hh:02d}:00:00", fmt(t, 1),
                        fmt(7.5 + 0.4 * s + 0.15 * math.sin(2 * math.pi * (hh - 10) / 24)
                            + R.gauss(0, 0.04), 2),
                        fmt(noisy(do_sat(t) * (0.8 - 0.05 * s + 0.06 * math.sin(
                            2 * math.pi * (hh - 9) / 24)), 0.03), 2),
                        fmt(noisy(420 + 60 * s, 0.03), 0),
                        fmt(noisy(18 + 10 * s, 0.15), 1),
                        fmt(noisy(b["codmn"] * (0.9 + 0.25 * s), 0.04), 2),
                        fmt(nh, 3),
                        fmt(noisy(b["tp"] * (0.85 + 0.4 * s), 0.05), 3),
                        fmt(noisy(b["tn"] * (1.2 - 0.35 * s), 0.04), 2),
                        flag])
                doy += 1
    with open(os.path.join(OUT, "readings_taipu_auto_2025.csv"), "w", encoding="utf-8",
              newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(head)
        w.writerows(rows)
    return len(rows)


def emergency():
    head = ["断面编码", "采样时间", "监测项目", "监测值", "单位", "数据标识", "采样方", "监测类型", "备注"]
    rows = []
    for sid in ("SEC-TPH-KJ", "SEC-TPH-JZ"):
        b = BASE[sid][1]
        for hh in range(9, 19):
            nh = b["nh3n"] * 0.95 + spike(sid, 223, hh + 0.25)
            rows.append([sid, f"2025-08-12 {hh:02d}:15", "氨氮", fmt(noisy(nh, 0.03), 3), "mg/L",
                         "有效", "联合", "应急监测", "事件编号 2025-0812"])
            rows.append([sid, f"2025-08-12 {hh:02d}:15", "总磷",
                         fmt(noisy(b["tp"] * 1.2 * 1000, 0.05), 0), "μg/L", "有效", "联合",
                         "应急监测", "事件编号 2025-0812"])
    with open(os.path.join(OUT, "readings_emergency_2025-08-12_long.csv"), "w",
              encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(head)
        w.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    print("manual rows", manual())
    print("automatic rows", automatic())
    print("emergency rows", emergency())
