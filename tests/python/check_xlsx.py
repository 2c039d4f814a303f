#!/usr/bin/env python3
"""Reads assessment-record.xlsx back with openpyxl and checks it against results.json.

    python check_xlsx.py assessment-record.xlsx results.json

Checks the sheets (测评记录表, 证据索引, 扫描信息), the header row of each (bold, frozen, with an
autofilter), wrapped text and sensible column widths, one row per test item in results order with the
verdict in Chinese and its fill colour, the result record naming failing resources and evidence
digests, and the evidence index covering every resource result. Exits 1 on any problem.
"""
import json
import re
import sys

import openpyxl

SHEETS = ["测评记录表", "证据索引", "扫描信息"]
HEADERS = ["测评项编号", "层面", "控制点", "测评指标", "测评方法", "结果记录", "符合情况", "verdict", "verdict_with_exceptions",
           "结论来源", "assessor_verdict", "测评人员", "测评日期", "测评说明", "采纳理由", "附件"]
ZH = {"compliant": "符合", "partially_compliant": "部分符合", "non_compliant": "不符合",
      "not_applicable": "不适用", "manual": "需人工核查", "error": "无法判定"}
FILL = {"compliant": "C6EFCE", "partially_compliant": "FFEB9C", "non_compliant": "FFC7CE",
        "not_applicable": "E7E6E6", "manual": "DDEBF7", "error": "F8CBAD"}
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def main():
    wb = openpyxl.load_workbook(sys.argv[1])
    results = json.load(open(sys.argv[2], encoding="utf-8"))
    problems = []

    def check(cond, msg):
        if not cond:
            problems.append(msg)

    check(wb.sheetnames == SHEETS, f"sheets are {wb.sheetnames}")
    for name in SHEETS:
        ws = wb[name]
        check(ws.freeze_panes == "A2", f"{name}: header not frozen ({ws.freeze_panes})")
        check(bool(ws.auto_filter.ref), f"{name}: no autofilter")
        check(all(c.font.bold for c in ws[1] if c.value), f"{name}: header not bold")
        for col, dim in ws.column_dimensions.items():
            check(dim.width is None or 8 <= dim.width <= 100, f"{name}: column {col} width {dim.width}")

    ws = wb["测评记录表"]
    rows = list(ws.iter_rows(values_only=True))
    check(list(rows[0]) == HEADERS, f"headers are {rows[0]}")
    check(len(rows) - 1 == len(results["controls"]), f"{len(rows) - 1} rows for {len(results['controls'])} items")
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    check(widths.get("D", 0) >= 30 and widths.get("F", 0) >= 50, f"prose columns too narrow: {widths}")
    for i, c in enumerate(results["controls"], start=2):
        row = [cell for cell in ws[i]]
        vals = [cell.value for cell in row]
        check(vals[0] == c["id"], f"row {i}: {vals[0]} instead of {c['id']}")
        check(vals[1] == c["layer"] and vals[2] == c["control_point"], f"row {i}: layer/control point")
        check(c["requirement"] in (vals[3] or ""), f"row {i}: requirement")
        check(bool(vals[4]), f"row {i}: no test method")
        # 符合情况: the assessor's verdict where there is one, else the machine's; an item nobody
        # decided (manual, no assessor) is marked open, in red.
        judged = c.get("assessor")
        final = judged["verdict"] if judged else c["verdict"]
        is_open = not judged and c["verdict"] == "manual"
        shown = ZH[final] + ("（待判定）" if is_open else "")
        check(vals[6] == shown and vals[7] == c["verdict"], f"row {i}: verdict {vals[6]}/{vals[7]}")
        check(vals[8] == c.get("verdict_with_exceptions"), f"row {i}: verdict with exceptions {vals[8]}")
        fill = (row[6].fill.fgColor.rgb or "")[-6:].upper()
        check(fill == ("FF0000" if is_open else FILL[final]), f"row {i}: fill {fill} for {final}")
        origin = "测评人员" if judged else ("待判定" if is_open else "自动检测")
        check(vals[9] == origin, f"row {i}: origin {vals[9]}")
        check((vals[10] or None) == (judged["verdict"] if judged else None), f"row {i}: assessor verdict {vals[10]}")
        for a in c.get("attachments", []):
            check(a["sha256"] in (vals[15] or "") and a["name"] in (vals[15] or ""), f"row {i}: attachment {a['name']} missing")
        check(all(cell.alignment.wrap_text for cell in row[:6]), f"row {i}: text not wrapped")
        record = vals[5] or ""
        for rule in c["rules"]:
            for r in rule["resources"]:
                if r["status"] != "pass":
                    check(r["id"] in record, f"row {i}: failing resource {r['id']} not in 结果记录")
                for d in r["evidence"]:
                    check(d in record, f"row {i}: digest {d} not in 结果记录")
        if c["verdict"] == "manual":
            check(all(item["zh"] in record for item in c["checklist"]), f"row {i}: checklist missing")

    ws = wb["证据索引"]
    rows = list(ws.iter_rows(values_only=True))
    expected = [(c["id"], rule["id"], r["id"], r["region"], r["status"], d)
                for c in results["controls"] for rule in c["rules"] for r in rule["resources"]
                for d in (r["evidence"] or [""])]
    got = [tuple(v or "" for v in row[:6]) for row in rows[1:]]
    check(got == expected, f"evidence index has {len(got)} rows, expected {len(expected)} (or rows differ)")
    check(all(DIGEST.fullmatch(row[5]) for row in got if row[5]), "malformed digest in the evidence index")

    ws = wb["扫描信息"]
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    check(values.get("证据包摘要 Pack digest") == results["scan"]["pack_digest"], "pack digest")
    for v, zh in ZH.items():
        check(values.get(f"{zh} {v}") == str(results["summary"][v]), f"count of {v}")

    for p in problems:
        print(f"xlsx: {p}", file=sys.stderr)
    print(f"xlsx: {len(results['controls'])} items, {len(expected)} evidence rows, {len(problems)} problem(s) "
          f"— read with openpyxl {openpyxl.__version__}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
