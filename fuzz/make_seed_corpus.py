#!/usr/bin/env python3
"""Writes the JSON seed corpora of the fuzz targets from the conformance scenarios.

    python3 fuzz/make_seed_corpus.py

fuzz/corpus/event_json/: one Prefect event per file, the scenario events of distinct
shapes (name, labels, related resources, follows) in Prefect's JSON, plus spellings
the parser accepts (numeric timestamps, braced UUIDs, offsets, payload).
fuzz/corpus/trigger_json/: every distinct trigger of the scenarios, plus spellings
(ISO 8601 durations, lax integers, untyped composites).
The engine_ops seeds are written by `cargo test -p overdue-core --features harness
--test fuzz_corpus -- --ignored write_engine_ops_seeds`.
"""
import datetime
import glob
import json
import os
import uuid

ROOT = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(ROOT, "..", "std-adapter", "tests", "conformance", "scenarios")
BASE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL


def event_id(name):
    return str(uuid.uuid5(NAMESPACE, "overdue-fuzz:" + str(name)))


def timestamp(seconds):
    t = BASE + datetime.timedelta(seconds=seconds)
    return t.isoformat().replace("+00:00", "Z")


def prefect_event(ev):
    out = {
        "id": event_id(ev["id"]),
        "event": ev["event"],
        "occurred": timestamp(ev["occurred"]),
        "resource": ev["resource"],
    }
    if "received" in ev:
        out["received"] = timestamp(ev["received"])
    if ev.get("related"):
        out["related"] = ev["related"]
    if ev.get("follows") is not None:
        out["follows"] = event_id(ev["follows"])
    return out


def shape(ev):
    return (
        ev["event"],
        tuple(sorted(ev["resource"])),
        tuple(tuple(sorted(r)) for r in ev.get("related", [])),
        "follows" in ev,
        "received" in ev,
    )


def write(directory, name, text):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        f.write(text)


def main():
    events, triggers = {}, {}
    for path in sorted(glob.glob(os.path.join(SCENARIOS, "*.json"))):
        stem = os.path.basename(path)[: -len(".json")]
        with open(path, encoding="utf-8") as f:
            scenario = json.load(f)
        for name, trigger in scenario["triggers"].items():
            key = json.dumps(trigger, sort_keys=True)
            triggers.setdefault(key, (f"{stem}--{name}", trigger))
        for i, step in enumerate(scenario["steps"]):
            if "event" in step:
                events.setdefault(shape(step["event"]), (f"{stem}--step{i}", step["event"]))

    event_dir = os.path.join(ROOT, "corpus", "event_json")
    for name, ev in sorted(events.values())[:90]:
        write(event_dir, f"{name}.json", json.dumps(prefect_event(ev)))
    hb = {
        "id": "{" + event_id("hb") + "}",
        "event": "prefect.flow-run.heartbeat",
        "occurred": 1767225600.123456,
        "received": "1767225600123",
        "resource": {"prefect.resource.id": "prefect.flow-run.a", "x": "1", "x": "2"},
        "related": [{"prefect.resource.id": "prefect.flow.f", "prefect.resource.role": "flow"}],
        "follows": None,
        "payload": {"k": [1, 2.5, None]},
    }
    write(event_dir, "spelling--numeric-times-braced-id.json", json.dumps(hb))
    hb2 = dict(hb, id="urn:uuid:" + event_id("hb2"), occurred="2026-01-01T01:00:00.1234567+05:30",
               received="2026-01-01 00:00:00", follows=event_id("hb"))
    write(event_dir, "spelling--offsets-urn-id.json", json.dumps(hb2))
    write(event_dir, "spelling--extreme-times.json", json.dumps(dict(
        hb, id=event_id("x"), occurred="0001-01-01T00:00:00Z", received="9999-12-31T23:59:59.999999Z")))

    trigger_dir = os.path.join(ROOT, "corpus", "trigger_json")
    for name, trigger in sorted(triggers.values(), key=lambda t: t[0]):
        write(trigger_dir, f"{name}.json", json.dumps(trigger))
    zombie = {"match": {"prefect.resource.id": "prefect.flow-run.*"},
              "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
              "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1}
    spellings = {
        "iso-duration": dict(zombie, within="PT1M30S"),
        "day-duration": dict(zombie, within="1 day, 00:01:30.5"),
        "lax-threshold": dict(zombie, threshold=" 1_0 ", within=90.0000005),
        "bool-within": dict(zombie, posture="Reactive", within=True),
        "untyped-compound": {"require": "any", "within": None, "triggers": [zombie | {"within": 90}]},
        "untyped-sequence": {"within": "P1W", "triggers": [dict(zombie, within=90, id=event_id("t"))]},
        "nested": {"type": "compound", "require": 2, "within": 3600, "triggers": [
            {"type": "sequence", "within": 60, "triggers": [dict(zombie, within=90)] * 2},
            dict(zombie, within=120, match_related=[{"prefect.resource.role": "flow"}]),
        ]},
    }
    for name, trigger in spellings.items():
        write(trigger_dir, f"spelling--{name}.json", json.dumps(trigger))


if __name__ == "__main__":
    main()
