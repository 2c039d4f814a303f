#!/usr/bin/env python3
"""Validates every event of a findings.ocsf.jsonl against OCSF 1.7.0 with third-party validators.

    python check_ocsf.py findings.ocsf.jsonl [results.json]

* pydantic-ocsf builds its models from the official OCSF schema export it bundles (no network):
  types, required attributes, enums, id/label siblings (severity_id/severity, ...), category_uid,
  class_uid and type_uid = class_uid * 100 + activity_id. Its models accept unknown attributes, so this
  script also rejects any attribute the schema does not define (the cloud profile's `cloud` is allowed
  when metadata.profiles names it, and is validated as the Cloud object) and checks the schema's
  object constraints (at_least_one / just_one, e.g. on evidences).

(py-ocsf-models was considered as a second validator and rejected: its hand-written 1.5.0 models
require attributes the schema makes optional, e.g. api.service.uid and version.)

Every event must also have class_uid 2003, category_uid 2, activity_id 1, type_uid 200301 and
metadata.version 1.7.0, and finding_info.uid values must be unique. With results.json, it checks the
events against the results: exactly one `dengbao.control` event per control, whose compliance.status_code
is the control's verdict, and one `dengbao.resource` event per (control, resource, region) that failed or
erred. Exits 1 on any problem.
"""
import json
import re
import sys
from importlib import metadata
from pathlib import Path

import ocsf
from ocsf.v1_7_0.events import ComplianceFinding
from ocsf.v1_7_0.objects import Cloud
from pydantic import BaseModel

SCHEMA = json.loads((Path(ocsf.__file__).parent / "schemas" / "v1_7_0.json").read_text())
PROFILE_ATTRS = {"cloud": {"cloud": Cloud}}


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def walk(model, path, problems):
    """Rejects unknown attributes and checks object constraints, recursively."""
    if isinstance(model, list):
        for i, m in enumerate(model):
            walk(m, f"{path}[{i}]", problems)
        return
    if not isinstance(model, BaseModel):
        return
    # `Object` is OCSF's generic object ("used to log objects that are not otherwise defined by the
    # schema", e.g. `unmapped`): any attribute is allowed in it.
    extras = {} if type(model).__name__ == "Object" else (model.model_extra or {})
    for key in extras:
        problems.append(f"{path}.{key}: not an attribute of {type(model).__name__} in OCSF 1.7.0")
    spec = SCHEMA["objects"].get(snake(type(model).__name__), {})
    for kind, names in (spec.get("constraints") or {}).items():
        present = [n for n in names if getattr(model, n, None) is not None]
        if kind == "at_least_one" and not present:
            problems.append(f"{path}: needs at least one of {names}")
        if kind == "just_one" and len(present) != 1:
            problems.append(f"{path}: needs exactly one of {names}, has {present}")
    for name in type(model).model_fields:
        walk(getattr(model, name), f"{path}.{name}", problems)


def check_event(line_no, event, problems):
    where = f"line {line_no}"
    event = dict(event)
    profiles = (event.get("metadata") or {}).get("profiles") or []
    profile_values = {}
    for profile in profiles:
        for attr, model in PROFILE_ATTRS.get(profile, {}).items():
            if attr in event:
                profile_values[attr] = (model, event.pop(attr))
    try:
        finding = ComplianceFinding.model_validate(event)
    except Exception as e:  # pydantic.ValidationError
        problems.append(f"{where}: pydantic-ocsf: {e}")
        return
    walk(finding, where, problems)
    for attr, (model, value) in profile_values.items():
        try:
            walk(model.model_validate(value), f"{where}.{attr}", problems)
        except Exception as e:
            problems.append(f"{where}.{attr}: pydantic-ocsf: {e}")
    if "cloud" in profiles and "cloud" not in profile_values:
        problems.append(f"{where}: the cloud profile requires `cloud`")
    for key, want in (("class_uid", 2003), ("category_uid", 2), ("type_uid", 200301), ("activity_id", 1)):
        if event.get(key) != want:
            problems.append(f"{where}: {key} is {event.get(key)!r}, expected {want}")
    if event.get("metadata", {}).get("version") != "1.7.0":
        problems.append(f"{where}: metadata.version is not 1.7.0")


def main():
    path = Path(sys.argv[1])
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    events = []
    for i, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {i}: not JSON: {e}")
            continue
        events.append(event)
        check_event(i, event, problems)
    uids = [e["finding_info"]["uid"] for e in events if "finding_info" in e]
    if len(set(uids)) != len(uids):
        problems.append("finding_info.uid values are not unique")
    if len(sys.argv) > 2:
        results = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
        verdicts = {c["id"]: c["verdict"] for c in results["controls"]}
        per_control, per_resource = {}, set()
        for e in events:
            c, code = e["compliance"], e["metadata"].get("event_code")
            if code == "dengbao.control":
                per_control.setdefault(c["control"], []).append(c.get("status_code"))
            elif code == "dengbao.resource":
                r = e["resources"][0]
                per_resource.add((c["control"], r["uid"], r["region"]))
            else:
                problems.append(f"{c.get('control')}: unknown metadata.event_code {code!r}")
        for cid, verdict in verdicts.items():
            if per_control.get(cid) != [verdict]:
                problems.append(f"{cid}: expected one control event with status_code {verdict}, got {per_control.get(cid)}")
        expected = {
            (c["id"], r["id"], r["region"])
            for c in results["controls"] for rule in c["rules"] for r in rule["resources"] if r["status"] != "pass"
        }
        if per_resource != expected:
            problems.append(f"resource events {sorted(per_resource ^ expected)} differ from the results")
    if not events:
        problems.append("no events")
    for p in problems:
        print(f"ocsf: {p}", file=sys.stderr)
    versions = ", ".join(f"{d} {metadata.version(d)}" for d in ("pydantic-ocsf", "pydantic"))
    print(f"ocsf: {len(events)} event(s), {len(problems)} problem(s) — validated with {versions} against OCSF 1.7.0")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
