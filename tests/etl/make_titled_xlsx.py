#!/usr/bin/env python3
"""Write tests/etl/data/outfalls_titled.xlsx: an outfall inventory as counties send it, with a
title row, a blank row, a two-row header whose 坐标 group is merged over 经度/纬度, a blank row
in the data and a notes row at the end. Spreadsheet row numbers are what source_row must keep."""
import sys, zipfile
from xml.sax.saxutils import escape

rows = {
    1: ["嘉善县入河排污口排查清单（2025年第三季度）"],
    3: ["排污口编码", "排污口名称", "排污口类型", "坐标", None, "所属区县"],
    4: [None, None, None, "经度", "纬度", None],
    5: ["XL-1", "一号排口", "工业", "120.70", "30.90", "嘉善县"],
    6: ["XL-2", "二号排口", "雨洪排口", "120.71", "30.91", "嘉善县"],
    8: ["XL-3", "三号排口", "工业", "120.72", "30.92", "嘉善县"],
}
merges = ["A1:F1", "D3:E3", "A3:A4", "B3:B4", "C3:C4", "F3:F4"]

def col(i):
    return "ABCDEFGHIJ"[i]

cells = []
for r in sorted(rows):
    cs = "".join(
        f'<c r="{col(i)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
        for i, v in enumerate(rows[r]) if v is not None)
    cells.append(f'<row r="{r}">{cs}</row>')
sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         f'<sheetData>{"".join(cells)}</sheetData>'
         f'<mergeCells count="{len(merges)}">'
         + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + '</mergeCells></worksheet>')
files = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="排查清单" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>',
    "xl/worksheets/sheet1.xml": sheet,
}
out = sys.argv[1] if len(sys.argv) > 1 else "outfalls_titled.xlsx"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        info = zipfile.ZipInfo(name, date_time=(2025, 10, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, text)
