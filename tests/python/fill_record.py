#!/usr/bin/env python3
"""Fills the assessor columns of assessment-record.xlsx as an assessor would, with openpyxl.

    python fill_record.py IN.xlsx OUT.xlsx good
    python fill_record.py IN.xlsx OUT.xlsx bad ITEM_WITHOUT_PARTIAL

good: every open row (符合情况 marked 待判定) gets a verdict — alternately `符合` (the guide's word) and
`non_compliant` (dengbao's) — an assessor, notes, and a date: a real date cell on the first row, text on
the others. bad: one row's item id becomes unknown, one verdict is not a verdict, and ITEM_WITHOUT_PARTIAL
gets `部分符合`, which its criteria do not define.
"""
import datetime
import sys

import openpyxl


def main():
    src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    wb = openpyxl.load_workbook(src)
    ws = wb["测评记录表"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in
           ["测评项编号", "符合情况", "assessor_verdict", "测评人员", "测评日期", "测评说明"]}
    open_rows = [r for r in range(2, ws.max_row + 1) if "待判定" in (ws.cell(r, col["符合情况"]).value or "")]
    if mode == "good":
        for n, r in enumerate(open_rows):
            ws.cell(r, col["assessor_verdict"]).value = "符合" if n % 2 == 0 else "non_compliant"
            ws.cell(r, col["测评人员"]).value = "王敏 (XX测评中心)"
            ws.cell(r, col["测评日期"]).value = datetime.datetime(2026, 12, 1) if n == 0 else "2026-12-02"
            ws.cell(r, col["测评说明"]).value = f"访谈记录 {n + 1}"
    else:
        target = sys.argv[4]
        first, second = open_rows[0], open_rows[1]
        ws.cell(first, col["测评项编号"]).value = "L3-NOPE-01"
        ws.cell(second, col["assessor_verdict"]).value = "maybe"
        for r in (first, second):
            if ws.cell(r, col["assessor_verdict"]).value is None:
                ws.cell(r, col["assessor_verdict"]).value = "compliant"
        for r in range(2, ws.max_row + 1):
            if ws.cell(r, col["测评项编号"]).value == target:
                ws.cell(r, col["assessor_verdict"]).value = "部分符合"
        for r in range(2, ws.max_row + 1):
            if ws.cell(r, col["assessor_verdict"]).value:
                ws.cell(r, col["测评人员"]).value = "王敏"
                ws.cell(r, col["测评日期"]).value = "2026-12-01"
    wb.save(dst)
    print(f"{mode}: {len(open_rows)} open row(s)")


if __name__ == "__main__":
    main()
