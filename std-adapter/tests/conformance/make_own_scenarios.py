#!/usr/bin/env python3
"""Writes the project's own conformance scenarios (own_*.json).

    python3 make_own_scenarios.py OUT_DIR

Each scenario pins down one rule of Prefect 3.9.1's trigger evaluation that the shared
set does not; its `description` says which.  Expected outputs come from running the
conformance kit's oracle on the written files:

    ORACLE_VENV=... python3 prefect_oracle.py --out-dir ../expected own_*.json

(use `--trace` on one file to see the bucket table per step).  The three
`own_random_*.json` are not made here: they are copies of the kit's `gen_random.py
--seeds N --runs 6 --events 100` output with a description and options added
(101: defaults; 102: events_clock live; 103: proactive scheduled, periodic before).
"""

import json
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
SCENARIOS = {}

FR = "prefect.flow-run."


def ev(id, name, occurred, rid=FR + "A", now=None, received=None, follows=None,
       related=None, labels=None):
    body = {"id": id, "event": name, "occurred": occurred,
            "resource": {"prefect.resource.id": rid, **(labels or {})}}
    if related is not None:
        body["related"] = related
    if received is not None:
        body["received"] = received
    if follows is not None:
        body["follows"] = follows
    step = {"event": body}
    if now is not None:
        step["now"] = now
    return step


def tick(t, now=None):
    return {"tick": t} if now is None else {"tick": t, "now": now}


def ticks(start, stop, every):
    return [tick(t) for t in range(start, stop + 1, every)]


def timeline(pairs):
    """Steps from (time, step) pairs, in time order (stable)."""
    return [step for _, step in sorted(pairs, key=lambda p: p[0])]


def scenario(name, description, triggers, steps, options=None):
    assert name not in SCENARIOS, name
    assert len(steps) < 60 or name.startswith("own_random"), (name, len(steps))
    doc = {"description": description}
    if options:
        doc["options"] = options
    doc["triggers"] = triggers
    doc["steps"] = steps
    SCENARIOS[name] = doc


def reactive(expect, threshold=1, within=0, after=None, for_each=None, match=None, **kw):
    t = {"type": "event", "match": match if match is not None else {"prefect.resource.id": FR + "*"},
         "expect": expect, "posture": "Reactive", "threshold": threshold, "within": within}
    if after is not None:
        t["after"] = after
    if for_each is not None:
        t["for_each"] = for_each
    t.update(kw)
    return t


def proactive(expect, threshold=1, within=90, after=None, for_each=None, match=None, **kw):
    t = reactive(expect, threshold, within, after, for_each, match, **kw)
    t["posture"] = "Proactive"
    return t


HB = FR + "heartbeat"
ZOMBIE = proactive([FR + "*"], 1, 90, after=[HB], for_each=["prefect.resource.id"])
BY_RUN = ["prefect.resource.id"]

# --------------------------------------------------------------------------------------
# several triggers, several labels
# --------------------------------------------------------------------------------------

scenario(
    "own_many_triggers_one_event",
    "one event is evaluated by every interested trigger: five triggers (declared out of "
    "alphabetical order, so firings within a step follow declaration order) of different "
    "kinds react to the same Running event; a second run shows per-key ordering by labels",
    {
        "zeta": reactive([FR + "Running"]),
        "alpha": reactive([FR + "Running"], for_each=BY_RUN),
        "mid": reactive([], threshold=0, after=[FR + "Running"], within=30, for_each=BY_RUN),
        "beta": proactive([FR + "Completed"], 1, 60, after=[FR + "Running"], for_each=BY_RUN),
        "omega": reactive([FR + "*"], threshold=2, within=120),
    },
    [
        ev("b-run", FR + "Running", 0, FR + "B"),
        ev("a-run", FR + "Running", 1, FR + "A"),
        tick(5),
        ev("a-done", FR + "Completed", 10, FR + "A"),
        tick(61),
        ev("c-run", FR + "Running", 62, FR + "C"),
        ev("a-run2", FR + "Running", 62, FR + "A"),
        tick(125),
    ],
)

scenario(
    "own_for_each_several_labels",
    "for_each over four labels at once (declared unsorted; firing labels come sorted): "
    "a primary label, related:<role>:<label> for two roles, and labels missing on some "
    "events, which read as \"\" and share a bucket with other missing ones",
    {
        "burst": reactive([FR + "Failed"], threshold=2, within=60, for_each=[
            "related:deployment:prefect.resource.id", "prefect.resource.id", "env",
            "related:flow:prefect.resource.name"]),
    },
    [
        ev("a1", FR + "Failed", 0, FR + "A", labels={"env": "prod"}, related=[
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"},
            {"prefect.resource.id": "prefect.flow.f1", "prefect.resource.role": "flow",
             "prefect.resource.name": "etl"}]),
        ev("b1", FR + "Failed", 1, FR + "A", labels={"env": "dev"}, related=[
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"},
            {"prefect.resource.id": "prefect.flow.f1", "prefect.resource.role": "flow",
             "prefect.resource.name": "etl"}]),
        ev("a2", FR + "Failed", 2, FR + "A", labels={"env": "prod"}, related=[
            {"prefect.resource.id": "prefect.flow.f1", "prefect.resource.role": "flow",
             "prefect.resource.name": "etl"},
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"}]),
        # no env, no flow role, no deployment role: ("", "prefect.flow-run.B", "", "")
        ev("c1", FR + "Failed", 3, FR + "B"),
        # a flow without a name and an empty env: the same key as c1
        ev("c2", FR + "Failed", 4, FR + "B", labels={"env": ""}, related=[
            {"prefect.resource.id": "prefect.flow.f2", "prefect.resource.role": "flow"}]),
        ev("b2", FR + "Failed", 5, FR + "A", labels={"env": "dev"}, related=[
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"},
            {"prefect.resource.id": "prefect.flow.f1", "prefect.resource.role": "flow",
             "prefect.resource.name": "etl"}]),
    ],
)

scenario(
    "own_for_each_related_first_role_wins",
    "related:<role>:<label> reads only the first related resource with that role (a "
    "missing label there is \"\" even if a later one of the same role has it); with no "
    "such role it falls back to a primary label literally named related:<role>:<label>",
    {
        "by_deployment_name": reactive([FR + "Failed"], threshold=2, within=60,
                                       for_each=["related:deployment:prefect.resource.name"]),
        "by_ghost": reactive([FR + "Failed"], threshold=2, within=60,
                             for_each=["related:ghost:owner"]),
    },
    [
        ev("e1", FR + "Failed", 0, FR + "A", related=[
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"},
            {"prefect.resource.id": "prefect.deployment.d2", "prefect.resource.role": "deployment",
             "prefect.resource.name": "nightly"}]),
        ev("e2", FR + "Failed", 1, FR + "B", labels={"related:ghost:owner": "ops"}, related=[
            {"prefect.resource.id": "prefect.deployment.d2", "prefect.resource.role": "deployment",
             "prefect.resource.name": "nightly"}]),
        ev("e3", FR + "Failed", 2, FR + "C", labels={"related:ghost:owner": "ops"}),
        ev("e4", FR + "Failed", 3, FR + "D", related=[
            {"prefect.resource.id": "prefect.deployment.d2", "prefect.resource.role": "deployment",
             "prefect.resource.name": "nightly"},
            {"prefect.resource.id": "prefect.deployment.d1", "prefect.resource.role": "deployment"}]),
        ev("e5", FR + "Failed", 4, FR + "E", related=[
            {"prefect.resource.id": "ghost-1", "prefect.resource.role": "ghost", "owner": "sre"}],
           labels={"related:ghost:owner": "not-read"}),
        ev("e6", FR + "Failed", 5, FR + "F", related=[
            {"prefect.resource.id": "ghost-2", "prefect.resource.role": "ghost", "owner": "sre"}]),
    ],
)

# --------------------------------------------------------------------------------------
# thresholds
# --------------------------------------------------------------------------------------

scenario(
    "own_proactive_threshold3_after_for_each",
    "Proactive threshold 3 with after and for_each: a run with 3 heartbeats in the 60 s "
    "after Running is fine, one with 2 fires at the first tick past the window end, one "
    "with none fires too; the satisfied bucket is deleted at the next tick",
    {
        "three_beats": proactive([HB], 3, 60, after=[FR + "Running"], for_each=BY_RUN),
    },
    [
        ev("a-run", FR + "Running", 0, FR + "A"),
        ev("b-run", FR + "Running", 0, FR + "B"),
        ev("c-run", FR + "Running", 5, FR + "C"),
        ev("a-hb1", HB, 10, FR + "A"),
        ev("b-hb1", HB, 10, FR + "B"),
        ev("a-hb2", HB, 20, FR + "A"),
        ev("b-hb2", HB, 20, FR + "B"),
        tick(25),
        ev("a-hb3", HB, 30, FR + "A"),
        tick(35),
        tick(60),
        ev("b-hb3", HB, 61, FR + "B"),
        tick(64), tick(65), tick(70),
    ],
)

scenario(
    "own_proactive_threshold2_global_and_for_each_without_after",
    "Proactive threshold 2 without after: a global trigger gets a window opened by a tick "
    "and renewed at the next tick after it fires; with for_each a key's bucket exists only "
    "once the key was seen, fires when short and then fires every `within` forever",
    {
        "global_two": proactive([FR + "Completed"], 2, 30),
        "per_run_two": proactive([FR + "Completed"], 2, 30, for_each=BY_RUN),
    },
    [tick(0), ev("a1", FR + "Completed", 3, FR + "A"), ev("b1", FR + "Completed", 4, FR + "B"),
     ev("b2", FR + "Completed", 12, FR + "B"), tick(10), tick(20), tick(30), tick(33),
     ev("a2", FR + "Completed", 34, FR + "A"), tick(40), tick(50), tick(60), tick(63),
     tick(70), tick(90), tick(93), tick(100), tick(123), tick(130)],
)

scenario(
    "own_threshold_zero_and_negative",
    "threshold 0 and negative thresholds: Proactive never fires (count < 0 is never "
    "true), with or without after; Reactive fires on every evaluated event (count >= 0 "
    "or >= -1), an after-only event is not evaluated unless expect is empty",
    {
        "p_zero_after": proactive([FR + "Completed"], 0, 30, after=[FR + "Running"], for_each=BY_RUN),
        "p_zero_global": proactive([FR + "Completed"], 0, 30),
        "p_negative": proactive([FR + "Completed"], -1, 30, after=[FR + "Running"], for_each=BY_RUN),
        "r_zero_expect": reactive([FR + "Completed"], 0, 60, after=[FR + "Running"], for_each=BY_RUN),
        "r_zero_any": reactive([], 0, 60, after=[FR + "Running"], for_each=BY_RUN),
        "r_negative": reactive([FR + "Completed"], -1, 60, for_each=BY_RUN),
    },
    [tick(0), ev("a-run", FR + "Running", 1, FR + "A"), ev("a-done", FR + "Completed", 2, FR + "A"),
     ev("a-done2", FR + "Completed", 3, FR + "A"), tick(10), tick(35), tick(40),
     ev("b-done", FR + "Completed", 41, FR + "B"), ev("b-run", FR + "Running", 42, FR + "B"),
     ev("b-pend", FR + "Pending", 43, FR + "B"), tick(80), tick(120)],
)

scenario(
    "own_reactive_threshold0",
    "Reactive threshold 0: within 60 s it fires on a key's first event, drops events in "
    "the cool-down before the old end, and an event past the end of the current window "
    "fires twice (the expired window's count 0 meets the threshold, then the new window "
    "the event is counted into fires again); with within 0 every event fires once",
    {
        "zero_60": reactive([FR + "Failed"], 0, 60, for_each=BY_RUN),
        "zero_immediate": reactive([FR + "Failed"], 0, 0, for_each=BY_RUN),
    },
    [ev("f1", FR + "Failed", 0), ev("f2", FR + "Failed", 10), ev("f3", FR + "Failed", 59.999),
     ev("f4", FR + "Failed", 60), ev("f5", FR + "Failed", 200), ev("f0", FR + "Failed", 100, now=201)],
)

scenario(
    "own_reactive_within0_threshold1_and_3",
    "Reactive within 0 (immediate): threshold 1 fires on every event, even old and out of "
    "order ones; threshold 3 counts every event into a bucket [first-15min, first) that "
    "never expires by itself, drops events older than its start, fires on the third and "
    "starts over with a fresh look-back bucket",
    {
        "every": reactive([FR + "Failed"], 1, 0, for_each=BY_RUN),
        "third": reactive([FR + "Failed"], 3, 0, for_each=BY_RUN),
    },
    [ev("f1", FR + "Failed", 1000), ev("f2", FR + "Failed", 1500),
     ev("f-old", FR + "Failed", 99, now=1501), ev("f-lookback", FR + "Failed", 101, now=1502),
     ev("f3", FR + "Failed", 1503), ev("f4", FR + "Failed", 1504), ev("f5", FR + "Failed", 1505),
     ev("f6", FR + "Failed", 700, now=1506), ev("f7", FR + "Failed", 1507)],
    options={"periodic": "never"},
)


def sweep_steps():
    return [
        # reactive, no after: first bucket [-900, 60)
        ev("r1", FR + "Failed", 0, FR + "R"),
        # reactive with after: window [0, 30) for S
        ev("s-pend1", FR + "Pending", 0, FR + "S"),
        # proactive: window [0, 90) for P, never ticked before it ends
        ev("p-hb", HB, 0, FR + "P"),
        # the first tick: sweeps buckets that ended by 160 - 60 = 100 (all three)
        tick(160),
        # S: a new Pending opens [170, 200) if [0, 30) was swept, else reuses it
        ev("s-pend2", FR + "Pending", 170, FR + "S"),
        ev("s-run", FR + "Running", 180, FR + "S"),
        # R: a late pair; after the sweep the first gets a fresh look-back bucket
        ev("r2", FR + "Failed", 150, FR + "R", now=181),
        ev("r3", FR + "Failed", 100, FR + "R", now=182),
        tick(300),
        tick(305),
    ]


SWEEP_TRIGGERS = {
    "reactive_pair": reactive([FR + "Failed"], 2, 60, for_each=BY_RUN),
    "after_pending": reactive([FR + "Running"], 1, 30, after=[FR + "Pending"], for_each=BY_RUN),
    "zombie": ZOMBIE,
}
PERIODIC_WORDS = {
    "after": "after proactive evaluation",
    "before": "before proactive evaluation",
    "never": "never (nothing is swept: compare with the after/before variants)",
}
for order in ("after", "before", "never"):
    scenario(
        f"own_sweep_periodic_{order}",
        f"periodic evaluation in ticks: {PERIODIC_WORDS[order]}; its sweep of buckets ended "
        "by as_of - 60 s deletes a reactive bucket (a late event then gets a fresh "
        "15-minute look-back bucket and fires), an expired `after` bucket (so a new after "
        "event opens a window instead of reusing the stale one), and an expired proactive "
        "bucket that no tick evaluated yet (lost if the sweep runs first)",
        SWEEP_TRIGGERS,
        sweep_steps(),
        options={"periodic": order, "entry": "direct"},
    )

# --------------------------------------------------------------------------------------
# events clock, scheduling
# --------------------------------------------------------------------------------------

backlog = []
for t in range(0, 301, 30):
    backlog.append(ev(f"a-hb{t}", HB, t, FR + "A", now=600 + t / 30))
for t in range(0, 121, 30):
    backlog.append(ev(f"b-hb{t}", HB, t, FR + "B", now=600 + t / 30 + 0.5))
backlog.sort(key=lambda s: s["now"])
scenario(
    "own_events_clock_live_backlog",
    "events_clock live: a backlog of heartbeats (occurred 0..300) delivered at wall clock "
    "600..610 makes the offset (latest occurred - wall clock it was seen) about -310 s, "
    "so proactive evaluation runs as of tick+offset and does not report the backlog's "
    "old windows as zombies; run B really stopped at 120 and fires at the first tick "
    "after the backlog; run A fires once as_of passes its last window",
    {"zombie": ZOMBIE},
    [tick(595)] + backlog + [tick(t) for t in range(610, 651, 5)] + [
        ev("a-hb330", HB, 330, FR + "A", now=652), tick(700), tick(720), tick(760), tick(800)],
    options={"events_clock": "live"},
)

scenario(
    "own_events_clock_live_late_event",
    "events_clock live: events arrive on time (offset 0) until one very late event "
    "(occurred 200 s before its delivery) moves the clock's update time but not its "
    "value, making the offset more negative and delaying every proactive firing",
    {"zombie": ZOMBIE},
    [ev("a-hb0", HB, 0, FR + "A"), ev("b-hb0", HB, 10, FR + "B"), ev("a-hb30", HB, 30, FR + "A"),
     tick(40), ev("c-late", FR + "Pending", -150, FR + "C", now=50), tick(100), tick(115),
     tick(120), tick(125), tick(150), tick(200), tick(250), tick(300), tick(320),
     ev("d-hb", HB, 330, FR + "D"), tick(335), tick(400), tick(425), tick(430)],
    options={"events_clock": "live"},
)

scenario(
    "own_scheduled_late_event_window_in_past",
    "proactive scheduled: a trigger is skipped until its next_proactive_runs time; a late "
    "heartbeat opens a window that ends before that time (placed in the past), so it fires "
    "only at the scheduled run, later than its end; a run whose window ends between "
    "ticks fires at the first tick at or after the end",
    {"zombie": proactive([FR + "*"], 1, 60, after=[HB], for_each=BY_RUN)},
    [tick(0), ev("a-hb", HB, 1, FR + "A"), tick(5), tick(10),
     ev("b-late", HB, -40, FR + "B", now=12), tick(15), tick(20), tick(25), tick(30),
     tick(55), tick(60), tick(61), tick(65), tick(66), tick(120), tick(125), tick(130)],
    options={"proactive": "scheduled"},
)

scenario(
    "own_scheduled_proactive_runs",
    "proactive scheduled with ticks every 30 s, then every 20 and 5: a window is judged "
    "only at the trigger's next scheduled run (the earliest bucket end after the last "
    "run), so run B's window ending at 97 fires at 125 and the one ending at 277 at the "
    "280 tick; a run whose heartbeats keep coming never fires",
    {"zombie": ZOMBIE},
    timeline(
        [(0, ev("a0", HB, 0, FR + "A")), (7, ev("b0", HB, 7, FR + "B")),
         (187, ev("b187", HB, 187, FR + "B"))]
        + [(t, ev(f"c{t}", HB, t, FR + "C")) for t in range(12, 283, 30)]
        + [(t, tick(t)) for t in [*range(5, 186, 30), 200, 220, 240, 260, 275, 280, 285, 300]]),
    options={"proactive": "scheduled"},
)

# --------------------------------------------------------------------------------------
# consumer entry
# --------------------------------------------------------------------------------------

scenario(
    "own_consumer_dedup_30_minutes",
    "consumer entry: an event id seen within the last 30 minutes of wall clock is "
    "dropped, however its occurred changed; after 30 minutes (measured from when it was "
    "processed, not from the dropped re-deliveries) the same id is evaluated again",
    {"every_failure": reactive([FR + "Failed"], 1, 0)},
    [ev("f1", FR + "Failed", 0, now=0), ev("f2", FR + "Failed", 100, now=100),
     ev("f1", FR + "Failed", 5, now=600), ev("f1", FR + "Failed", 1799, now=1799),
     ev("f1", FR + "Failed", 1799.999, now=1799.999), ev("f1", FR + "Failed", 1800, now=1800),
     ev("f2", FR + "Failed", 1899, now=1899), ev("f2", FR + "Failed", 1900, now=1900),
     ev("f2", FR + "Failed", 1901, now=1901), ev("f1", FR + "Failed", 3000, now=3000),
     ev("f1", FR + "Failed", 3601, now=3601)],
)

for entry in ("consumer", "direct"):
    scenario(
        f"own_log_write_{entry}",
        "prefect.log.write events are dropped by the consumer before evaluation (so a "
        "trigger expecting them, or expecting *, never sees them) but evaluated when "
        f"reactive_evaluation is called directly; this is the {entry} variant",
        {
            "logs": reactive(["prefect.log.write"], 2, 60, match={}),
            "anything": reactive([], 3, 60, match={}),
        },
        [ev("l1", "prefect.log.write", 0, "prefect.flow-run.A"),
         ev("l2", "prefect.log.write", 1, "prefect.flow-run.A"),
         ev("x1", "prefect.flow-run.Running", 2, "prefect.flow-run.A"),
         ev("l3", "prefect.log.write", 3, "prefect.flow-run.A")],
        options={"entry": entry},
    )

# --------------------------------------------------------------------------------------
# follows
# --------------------------------------------------------------------------------------

RUN_THEN_DONE = reactive([FR + "Completed"], 1, 300, after=[FR + "Running"], for_each=BY_RUN)
EVERY = reactive([FR + "*"], 1, 0, for_each=BY_RUN)

scenario(
    "own_follows_leader_arrives_later",
    "causal ordering: Completed (follows Running) arrives first and waits; when Running "
    "arrives, Running is evaluated and then its follower, so the after/expect trigger "
    "fires in the leader's step; an event following itself does not wait",
    {"run_then_done": RUN_THEN_DONE, "every": EVERY},
    [ev("done", FR + "Completed", 20, now=21, follows="run"),
     tick(25),
     ev("run", FR + "Running", 10, now=30),
     ev("self", FR + "Pending", 31, FR + "B", follows="self")],
)

scenario(
    "own_follows_lost_follower_released_by_tick",
    "a follower whose leader never comes is released by the first periodic evaluation "
    "with now - received >= 15 min (not one earlier), in occurred order with other lost "
    "followers, and evaluated as a reactive event",
    {"run_then_done": RUN_THEN_DONE, "every": EVERY},
    [ev("run", FR + "Running", 0, now=0),
     ev("done", FR + "Completed", 50, now=100, follows="ghost"),
     ev("crash", FR + "Crashed", 40, FR + "A", now=100, follows="ghost2"),
     tick(999), tick(1000, now=999.999), tick(1000), tick(1001), tick(1005)],
)

scenario(
    "own_follows_chain_of_followers",
    "follower of a follower: Completed follows Running follows Pending, delivered in "
    "reverse; nothing is evaluated until Pending arrives, then the chain runs in order "
    "(so the after=Running/expect=Completed trigger fires), all in Pending's step",
    {"run_then_done": RUN_THEN_DONE, "every": EVERY},
    [ev("done", FR + "Completed", 30, now=31, follows="run"),
     ev("run", FR + "Running", 20, now=32, follows="pend"),
     tick(35),
     ev("pend", FR + "Pending", 10, now=40)],
)

scenario(
    "own_duplicate_trigger_id_last_automation_wins",
    "two automations whose triggers carry the same explicit id: Prefect's trigger cache "
    "is keyed by trigger id, so the automation loaded later replaces the earlier one's "
    "trigger, which never fires",
    {"first": dict(reactive([FR + "Failed"]), id="00000000-0000-0000-0000-000000000001"),
     "second": dict(reactive([FR + "*"]), id="00000000-0000-0000-0000-000000000001")},
    [ev("e1", FR + "Failed", 0), ev("e2", FR + "Running", 1)],
    options={"entry": "direct"},
)

scenario(
    "own_follows_redelivered_follower_ends_the_leaders_loop",
    "a waiting follower re-delivered with a different `follows` stays in its first "
    "leader's follower set; when that leader arrives the follower (now following an "
    "unseen event) raises EventArrivedEarly inside the leader's follower loop, which only "
    "catches MaxDepthExceeded: the loop ends, and the other follower f2 is released only "
    "as a lost follower 15 minutes later",
    {"every": reactive([])},
    [ev("f1", FR + "Completed", 10, now=100, follows="L1"),
     ev("f2", FR + "Failed", 11, now=101, follows="L1"),
     ev("f1", FR + "Completed", 10, now=102, follows="L2"),
     ev("L1", FR + "Running", 5, now=103),
     tick(1002)],
    options={"entry": "direct"},
)

scenario(
    "own_follows_redelivered_follower_keeps_its_leader_waiting",
    "chain L0 <- M <- f1, f1 re-delivered following an unseen X: when L0 arrives M is "
    "evaluated, then f1 raises EventArrivedEarly out of M's follower loop before M is "
    "forgotten as a follower, so M stays on the waitlist and is evaluated a second time "
    "(de-duplication does not apply to lost followers) at the tick 15 minutes later",
    {"every": reactive([])},
    [ev("M", FR + "Running", 10, now=100, follows="L0"),
     ev("f1", FR + "Completed", 20, now=101, follows="M"),
     ev("f1", FR + "Completed", 20, now=102, follows="X"),
     ev("L0", FR + "Pending", 5, now=103),
     tick(1003)],
)

# Followers of one leader with equal `occurred` are released in the iteration order of
# a copy of Prefect's set of follower UUIDs (CPython slot order), not in arrival order.
TIED = ["g26", "follower-42", "f49", "117", "77"]
scenario(
    "own_follows_equal_occurred_set_order",
    "five followers of one leader share `occurred`: get_followers iterates a copy of the "
    "follower-id set (re-hashed into a 16-slot table, the original has 32), then sorts "
    "stably by occurred, so they fire as 77, g26, f49, follower-42, 117: neither arrival "
    "order nor the original set's order",
    {"every": reactive([FR + "Completed"])},
    [ev(i, FR + "Completed", 100, now=101 + n, follows="L1") for n, i in enumerate(TIED)]
    + [ev("L1", FR + "Running", 90, now=110)],
    options={"entry": "direct"},
)

scenario(
    "own_follows_equal_occurred_after_a_lost_follower",
    "six followers of one leader share `occurred`; the first one is released as lost by "
    "the periodic evaluation 15 min after it was received (its slot in the follower-id "
    "set becomes a deleted entry), then the leader arrives and the other five follow in "
    "the order of a copy of the set",
    {"every": reactive([FR + "Completed"])},
    [ev("early", FR + "Completed", 100, now=1, follows="L1")]
    + [ev(i, FR + "Completed", 100, now=800 + n, follows="L1") for n, i in enumerate(TIED)]
    + [tick(900), tick(901), ev("L1", FR + "Running", 90, now=950)],
    options={"entry": "direct"},
)

chain = [ev(f"c{i:02d}", FR + "Running" if i % 2 else FR + "Pending", i, now=100 + (25 - i),
            follows=f"c{i - 1:02d}") for i in range(25, 0, -1)]
scenario(
    "own_follows_chain_deeper_than_max_depth",
    "a follows chain of 25 events delivered newest first: when the root arrives, followers "
    "are processed recursively up to depth 20 (MAX_DEPTH_OF_PRECEDING_EVENT); the rest "
    "stay on the wait list and are released as lost followers 15 minutes after they were "
    "received",
    {"every": reactive([FR + "*"], 1, 0)},
    chain + [ev("c00", FR + "Pending", 0, now=130), tick(1000), tick(1020), tick(1030), tick(1040)],
)

scenario(
    "own_follows_old_follower_and_twice_delivered",
    "a follower received 15+ minutes before now is evaluated at once, even though its "
    "leader was never seen; one received just under 15 minutes ago waits; a waiting "
    "follower delivered twice is evaluated once when its leader arrives (a waiting "
    "event is not 'seen'), and a third delivery after that is a duplicate",
    {"every": EVERY},
    [ev("old", FR + "Failed", 0, FR + "A", received=0, now=900, follows="never"),
     ev("young", FR + "Failed", 1, FR + "B", received=1, now=900.5, follows="never"),
     ev("f", FR + "Completed", 910, FR + "C", now=910, follows="lead"),
     ev("f", FR + "Completed", 910, FR + "C", now=915, follows="lead"),
     ev("lead", FR + "Running", 905, FR + "C", now=920),
     ev("f", FR + "Completed", 910, FR + "C", now=925, follows="lead"),
     tick(1800), tick(1801)],
)

# --------------------------------------------------------------------------------------
# held expect events (3.9)
# --------------------------------------------------------------------------------------

race = []
for t in (0, 30, 60):
    race += [ev(f"{r}-hb{t}", HB, t, FR + r.upper()) for r in "abcd"]
scenario(
    "own_held_terminal_before_heartbeat",
    "3.9 held expect events: heartbeats renew a 90 s window; run A's terminal state "
    "(occurred 91) is processed before the heartbeat of 90 that rolls the window, and is "
    "held and counted into the new window [90, 180), so A is not a zombie; run B's "
    "terminal state occurred at 85, before that heartbeat, so B's new window is empty and "
    "fires; C never ends and fires; D's terminal state arrives after the heartbeat",
    {"zombie": ZOMBIE},
    race + [tick(50),
            ev("a-done", FR + "Completed", 91, FR + "A", now=92),
            ev("b-done", FR + "Completed", 85, FR + "B", now=92)]
    + [ev(f"{r}-hb90", HB, 90, FR + r.upper(), now=93) for r in "abcd"]
    + [ev("d-done", FR + "Completed", 91, FR + "D", now=94),
       tick(100), tick(150), tick(180), tick(185)],
)

held_a = [ev(f"a{i}", FR + "Completed", i, FR + "A", now=10 + i) for i in range(1, 6)]
held_b = [ev(f"b{i}", FR + "Completed", i, FR + "B", now=10 + i) for i in range(1, 5)]
scenario(
    "own_held_slot_trimming",
    "held events are trimmed per epoch-aligned slot of width `within` to the first and "
    "last `threshold` (2) events: run A holds 5 events in slot [0,60) so a3 is dropped, "
    "and a3 re-sent with a new occurred is counted again in A's next window (A does not "
    "fire); run B holds only 4, b3 stays held, its re-send is skipped and B fires",
    {"two_done": proactive([FR + "Completed"], 2, 60, after=[HB], for_each=BY_RUN)},
    [ev("a-hb0", HB, 0, FR + "A", now=10), ev("b-hb0", HB, 0, FR + "B", now=10)] + held_a + held_b
    + [tick(61), ev("a-hb70", HB, 70, FR + "A"), ev("b-hb70", HB, 70, FR + "B"),
       ev("a3", FR + "Completed", 75, FR + "A"), ev("b3", FR + "Completed", 75, FR + "B"),
       ev("a6", FR + "Completed", 80, FR + "A"), ev("b6", FR + "Completed", 80, FR + "B"),
       tick(130), tick(135)],
    options={"entry": "direct"},
)

scenario(
    "own_held_events_swept_after_30_minutes",
    "held expect events are swept by periodic evaluation once held more than 30 minutes "
    "(wall clock) before the tick, unless the key has a bucket that has not ended: A's "
    "and B's terminal states were held at 10; A's late heartbeat at 1810.5 still counts "
    "it (no firing) and A's open bucket protects it from the 1811 sweep; B's is swept at "
    "1811, so B's late heartbeat opens an empty window that fires; C's was held at 1000 "
    "and still counts",
    {"zombie": proactive([FR + "*"], 1, 4000, after=[HB], for_each=BY_RUN)},
    [ev("a-done", FR + "Completed", 10, FR + "A", now=10),
     ev("b-done", FR + "Completed", 10, FR + "B", now=10),
     ev("c-done", FR + "Completed", 1000, FR + "C", now=1000),
     tick(1805), tick(1810),
     ev("a-hb", HB, 5, FR + "A", now=1810.5),
     tick(1811),
     ev("b-hb", HB, 5, FR + "B", now=1812),
     ev("c-hb", HB, 995, FR + "C", now=1901),
     tick(4000), tick(4010), tick(5000), tick(5010)],
)

# --------------------------------------------------------------------------------------
# clocks and time formats
# --------------------------------------------------------------------------------------

scenario(
    "own_tick_now_differs_from_tick_time",
    "a tick {tick: T, now: W} evaluates proactive triggers and sweeps as of T but runs on "
    "wall clock W: firings carry at=W, lost followers are released by W - received, and "
    "the sweep uses T - 60 s",
    {"zombie": ZOMBIE, "every": EVERY, "pair": reactive([FR + "Failed"], 2, 30, for_each=BY_RUN)},
    [ev("a-hb", HB, 0, FR + "A"), ev("f1", FR + "Failed", 1, FR + "B"),
     ev("lost", FR + "Completed", 2, FR + "C", follows="nobody"),
     tick(50, now=1000), tick(100, now=1001), tick(89, now=1002),
     ev("f2", FR + "Failed", 20, FR + "B", now=1003),
     tick(200, now=1004), ev("f3", FR + "Failed", 25, FR + "B", now=1005)],
)

scenario(
    "own_now_goes_backwards",
    "an explicit step `now` may move the wall clock backwards: firings carry the step's "
    "clock, the de-duplication TTL and follower ages use it as given, and a default "
    "`now` is max(clock, occurred) from the moved-back clock",
    {"zombie": ZOMBIE, "every": EVERY},
    [ev("a-hb", HB, 0, FR + "A", now=2000),
     tick(100, now=100),
     ev("a-hb2", HB, 150, FR + "A", now=50),
     ev("a-hb", HB, 160, FR + "A", now=60),
     ev("x", FR + "Failed", 70, FR + "B"),
     ev("lost", FR + "Completed", 75, FR + "C", follows="nobody"),
     tick(300, now=40), tick(301, now=975), tick(302, now=974),
     ev("a-hb", HB, 400, FR + "A", now=3801), tick(500)],
)

scenario(
    "own_iso_times_and_fractions",
    "times as ISO-8601 strings (Z, +hh:mm and -hhmm offsets, naive = UTC, a week date) and "
    "fractional seconds down to the microsecond: windows are exact to the microsecond and "
    "`at` prints like the oracle (int when whole, else the shortest repr)",
    {
        "pair": reactive([FR + "Failed"], 2, 0.5, for_each=BY_RUN),
        "zombie": proactive([FR + "*"], 1, 10.25, after=[HB], for_each=BY_RUN),
    },
    [ev("f1", FR + "Failed", "2026-01-01T00:00:00.000001Z", FR + "A"),
     ev("f2", FR + "Failed", "2026-01-01T01:00:00.500000+01:00", FR + "A"),
     ev("f3", FR + "Failed", 0.500002, FR + "A"),
     ev("f4", FR + "Failed", "2026-01-01T00:00:01", FR + "A"),
     ev("f5", FR + "Failed", "2025-12-31T23:30:01.4-0030", FR + "A"),
     ev("hb", HB, 2.000001, FR + "B"),
     tick("2026-W01-4T00:00:12.250000Z"),
     tick(12.250001),
     ev("hb2", HB, 20, FR + "B", now=20.000001),
     tick(30.250001, now="2026-01-01T00:00:31.5"),
     ev("hb-c", HB, 100, FR + "C"), ev("hb-d", HB, 225, FR + "D"), ev("hb-e", HB, 240, FR + "E"),
     tick(111, now=1e-06), tick(239.306), tick(251, now=-0.25)],
)

scenario(
    "own_received_given",
    "an event's `received` sets the default wall clock (max(clock, received)) and is "
    "what causal ordering ages a follower by; received earlier than occurred is allowed",
    {"every": EVERY, "zombie": ZOMBIE},
    [ev("hb", HB, 0, FR + "A", received=5),
     ev("x", FR + "Failed", 10, FR + "B", received=8),
     ev("old-follower", FR + "Completed", 20, FR + "C", received=-900, follows="missing"),
     ev("young-follower", FR + "Completed", 21, FR + "D", received=-890, follows="missing"),
     tick(11), tick(96), tick(100)],
)

# --------------------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------------------

scenario(
    "own_same_event_after_and_expect_threshold2",
    "the same event in after and expect with threshold 2: Reactive starts each window at "
    "count -1, so it fires on the third heartbeat of a window; Proactive renews the window "
    "on the heartbeat that reaches 2 and fires when a renewed window gets fewer than 2",
    {
        "reactive": reactive([HB], 2, 60, after=[HB], for_each=BY_RUN),
        "proactive": proactive([HB], 2, 60, after=[HB], for_each=BY_RUN),
    },
    [ev("h0", HB, 0), ev("h10", HB, 10), tick(15), ev("h20", HB, 20), tick(25), ev("h30", HB, 30),
     tick(35), ev("h40", HB, 40), tick(45), tick(80), tick(85), tick(100), tick(105), tick(160),
     tick(165)],
)

scenario(
    "own_reactive_lookback_first_bucket",
    "the first bucket of a key for a Reactive trigger without after starts 15 minutes "
    "before its event: a late event up to 15 minutes older still counts (and fires), one "
    "older than that is dropped, and after the first window rolls a late event is dropped",
    {"pair": reactive([FR + "Failed"], 2, 60, for_each=BY_RUN)},
    [ev("a1", FR + "Failed", 1000, FR + "A"), ev("a0", FR + "Failed", 100, FR + "A", now=1001),
     ev("b1", FR + "Failed", 1000, FR + "B", now=1002),
     ev("b0", FR + "Failed", 99.999, FR + "B", now=1003),
     ev("c1", FR + "Failed", 1000, FR + "C", now=1004),
     ev("c2", FR + "Failed", 1070, FR + "C", now=1070),
     ev("c0", FR + "Failed", 1050, FR + "C", now=1071),
     ev("c3", FR + "Failed", 1075, FR + "C", now=1075)],
)

scenario(
    "own_cooldown_per_key",
    "Reactive cool-down per key: after firing, the next window starts at max(old end, "
    "event), so events before it are dropped silently; each key has its own windows",
    {"pair": reactive([FR + "Failed"], 2, 60, for_each=BY_RUN)},
    [ev("a1", FR + "Failed", 0, FR + "A"), ev("a2", FR + "Failed", 10, FR + "A"),
     ev("b1", FR + "Failed", 11, FR + "B"), ev("a3", FR + "Failed", 20, FR + "A"),
     ev("a4", FR + "Failed", 59, FR + "A"), ev("b2", FR + "Failed", 30, FR + "B"),
     ev("a5", FR + "Failed", 60, FR + "A"), ev("a6", FR + "Failed", 61, FR + "A"),
     ev("a7", FR + "Failed", 300, FR + "A"), ev("a8", FR + "Failed", 301, FR + "A"),
     ev("b3", FR + "Failed", 40, FR + "B", now=302)],
    options={"periodic": "never"},
)

scenario(
    "own_expired_unswept_bucket_reused",
    "with periodic evaluation never run, an expired bucket is reused by ensure_bucket: "
    "a Reactive threshold-2 key rolls its old window at the next event (so a late event "
    "before the roll point is dropped); a proactive window that no tick saw end fires "
    "reactively on the next heartbeat, which then opens no new window",
    {"pair": reactive([FR + "Failed"], 2, 60, for_each=BY_RUN), "zombie": ZOMBIE},
    [ev("r1", FR + "Failed", 0, FR + "R"), ev("z-hb0", HB, 0, FR + "Z"),
     ev("r2", FR + "Failed", 500, FR + "R"), ev("r3", FR + "Failed", 450, FR + "R", now=501),
     ev("z-hb1", HB, 502, FR + "Z"), tick(600), tick(700),
     ev("z-hb2", HB, 701, FR + "Z"), tick(800)],
    options={"periodic": "never"},
)

scenario(
    "own_late_heartbeat_after_firing_refires",
    "a zombie window fires at the tick past its end; a late heartbeat (occurred inside "
    "the fired window, delivered after) opens a window in the past, which fires again at "
    "the next tick",
    {"zombie": ZOMBIE},
    [ev("hb0", HB, 0), ev("hb30", HB, 30), tick(60), tick(120), tick(125),
     ev("hb40", HB, 40, now=130), tick(135), tick(140), ev("hb200", HB, 200), tick(300)],
)

# --------------------------------------------------------------------------------------
# composite triggers
# --------------------------------------------------------------------------------------

X = "prefect.thing."


def on(name, threshold=1, within=0, for_each=None, posture="Reactive", **kw):
    t = {"type": "event", "expect": [name], "match": {"prefect.resource.id": X + "*"},
         "posture": posture, "threshold": threshold, "within": within}
    if for_each is not None:
        t["for_each"] = for_each
    t.update(kw)
    return t


def compound(require, children, within=None):
    return {"type": "compound", "require": require, "within": within, "triggers": children}


def sequence(children, within=None):
    return {"type": "sequence", "within": within, "triggers": children}


def x(id, name, occurred, thing="one", now=None, **kw):
    return ev(id, name, occurred, X + thing, now=now, **kw)


scenario(
    "own_compound_any_two_children_same_event",
    "require any: every child firing fires the parent at once (the shortcut), so one event "
    "that fires two children fires the parent twice in that step, each with the event",
    {"c": compound("any", [on("x.failed"), on("x.*")], within=60)},
    [x("e1", "x.failed", 0), x("e2", "x.other", 5), x("e3", "x.failed", 10)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_all_two_children_same_event",
    "require all: two children fired by the same event fire the parent once, at the second "
    "child firing; the used child firings are then deleted",
    {"c": compound("all", [on("x.failed"), on("x.*")], within=60),
     "other": on("x.failed")},
    [x("e1", "x.failed", 0), x("e2", "x.other", 5), x("e3", "x.failed", 10),
     x("e4", "x.other", 11)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_all_within_wall_clock",
    "require all within 60 s: child firings older than `within` are deleted by wall clock "
    "(Firing.triggered), not by event time: events 10 s apart in event time but delivered "
    "100 s apart do not fire the parent, events 1000 s apart in event time but delivered "
    "close together do; a firing exactly `within` old still counts (deleted only if "
    "older)",
    {"c": compound("all", [on("x.a"), on("x.b")], within=60)},
    [x("a1", "x.a", 0, now=0), x("b1", "x.b", 10, now=100), x("a2", "x.a", 20, now=120),
     x("b2", "x.b", 1000, now=200), x("a3", "x.a", 0, now=201),
     x("a4", "x.a", 300, now=300), x("b3", "x.b", 301, now=360), x("b4", "x.b", 302, now=361),
     x("a5", "x.a", 303, now=421)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_require_2_of_3",
    "require 2 of 3 children: a child firing twice counts once (its newer firing replaces "
    "the stored one), two different children fire the parent, and the used firings are "
    "deleted so the next firing starts from scratch",
    {"c": compound(2, [on("x.a"), on("x.b"), on("x.c")], within=300)},
    [x("a1", "x.a", 0), x("a2", "x.a", 1), x("c1", "x.c", 2), x("b1", "x.b", 3),
     x("b2", "x.b", 4), x("a3", "x.a", 5), x("c2", "x.c", 6), x("c3", "x.c", 7),
     x("b3", "x.b", 8)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_same_child_fires_repeatedly",
    "require all: the same child firing again and again keeps one stored firing (the "
    "newest); the parent fires once the other child fires, then needs both again",
    {"c": compound("all", [on("x.a"), on("x.b")], within=None)},
    [x("a1", "x.a", 0), x("a2", "x.a", 10), x("a3", "x.a", 20), x("b1", "x.b", 30),
     x("b2", "x.b", 40), x("b3", "x.b", 50), x("a4", "x.a", 60), x("a5", "x.a", 70)],
    options={"entry": "direct"},
)

scenario(
    "own_sequence_three_steps_and_reordering",
    "sequence of three children without within: fires when the stored child firings, "
    "sorted by wall-clock firing time, are in declared order; a child firing again moves "
    "to the end, so c, b, a does not fire but a following b, c does",
    {"s": sequence([on("x.a"), on("x.b"), on("x.c")])},
    [x("a1", "x.a", 0), x("b1", "x.b", 1), x("c1", "x.c", 2),
     x("c2", "x.c", 3), x("b2", "x.b", 4), x("a2", "x.a", 5),
     x("b3", "x.b", 6), x("c3", "x.c", 7)],
    options={"entry": "direct"},
)

scenario(
    "own_sequence_repeated_first_child",
    "sequence [a, b]: b then a then b fires (the newer b replaces the older one and now "
    "follows a); a, a, b fires (a's newer firing replaces the older one); b alone after "
    "a firing does nothing",
    {"s": sequence([on("x.a"), on("x.b")], within=30)},
    [x("b1", "x.b", 0), x("a1", "x.a", 1), x("b2", "x.b", 2),
     x("b3", "x.b", 3), x("a2", "x.a", 4), x("a3", "x.a", 5), x("b4", "x.b", 6)],
    options={"entry": "direct"},
)

scenario(
    "own_sequence_within_expires_on_wall_clock",
    "sequence [a, b] within 10 s: a delivered 11 s (wall clock) before b is deleted before "
    "b is stored, although their event times are 1 s apart; a and b delivered within 10 s "
    "of each other fire although their event times are 500 s apart; exactly 10 s still "
    "fires, 10.000001 s does not",
    {"s": sequence([on("x.a"), on("x.b")], within=10)},
    [x("a1", "x.a", 0, now=0), x("b1", "x.b", 1, now=11), x("a2", "x.a", 20, now=20),
     x("b2", "x.b", 520, now=29), x("a3", "x.a", 600, now=600), x("b3", "x.b", 601, now=610),
     x("a4", "x.a", 620, now=620), x("b4", "x.b", 621, now=630.000001)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_nested_three_deep",
    "composite triggers nested three deep: all[ any[ sequence[a, b], c ], d ]: the inner "
    "sequence fires the `any` at once, which counts as one child of the outer `all`; the "
    "outer parent fires with labels {} and the innermost triggering event",
    {"nested": compound("all", [
        compound("any", [sequence([on("x.a"), on("x.b")], within=100), on("x.c")], within=100),
        on("x.d")], within=300)},
    [x("d1", "x.d", 0), x("c1", "x.c", 10), x("a1", "x.a", 20), x("b1", "x.b", 30),
     x("d2", "x.d", 40), x("b2", "x.b", 50), x("a2", "x.a", 60), x("b3", "x.b", 70),
     x("d3", "x.d", 400), x("c2", "x.c", 401)],
    options={"entry": "direct"},
)

scenario(
    "own_compound_proactive_child",
    "a Proactive child inside a compound: the child fires at a tick (kind proactive) and is "
    "stored; a Reactive child's event then fires the parent (kind reactive); later the "
    "Proactive child completes the parent during a tick, so that parent firing is "
    "proactive, carrying the proactive bucket's last event",
    {"c": compound("all", [
        {"type": "event", "match": {"prefect.resource.id": X + "*"}, "after": ["x.heartbeat"],
         "expect": ["x.*"], "for_each": ["prefect.resource.id"], "posture": "Proactive",
         "threshold": 1, "within": 30},
        on("x.failed")], within=120)},
    [x("hb1", "x.heartbeat", 0), tick(20), tick(30), x("f1", "x.failed", 50, thing="two"),
     x("f2", "x.failed", 60, thing="two"), x("hb2", "x.heartbeat", 61), tick(80), tick(91),
     tick(95), x("f3", "x.failed", 300, thing="two"), tick(400)],
)

scenario(
    "own_compound_two_children_same_tick",
    "two Proactive children fire in the same tick: with require all the parent fires once "
    "in that tick; with require any it fires for each child firing",
    {
        "both": compound("all", [on("x.a", 1, 30, posture="Proactive"),
                                 on("x.b", 1, 30, posture="Proactive")], within=60),
        "either": compound("any", [on("x.a", 1, 30, posture="Proactive"),
                                   on("x.b", 1, 30, posture="Proactive")], within=60),
    },
    [tick(0), tick(29), tick(30), tick(31), tick(60), tick(61)],
)

scenario(
    "own_compound_children_keep_their_own_buckets",
    "children of a composite keep their own buckets, thresholds, for_each keys and "
    "cool-downs: a threshold-2 per-thing child fires only on a thing's second event "
    "within 60 s and then cools down; the parent's labels stay {}",
    {"c": compound("all", [on("x.failed", 2, 60, for_each=["prefect.resource.id"]),
                           on("x.crashed")], within=None)},
    [x("f1", "x.failed", 0, thing="one"), x("f2", "x.failed", 1, thing="two"),
     x("c1", "x.crashed", 2), x("f3", "x.failed", 3, thing="one"),
     x("c2", "x.crashed", 4), x("f4", "x.failed", 5, thing="one"),
     x("f5", "x.failed", 6, thing="two"), x("f6", "x.failed", 61, thing="one"),
     x("f7", "x.failed", 62, thing="one"), x("c3", "x.crashed", 5000)],
    options={"entry": "direct"},
)

ONE = "00000000-0000-0000-0000-000000000001"
scenario(
    "own_duplicate_child_ids_in_one_compound",
    "a compound whose two children carry the same explicit id: Prefect's trigger cache "
    "keeps only the later child (the Running one), so require=all is never met",
    {"c": compound("all", [reactive([FR + "Failed"], id=ONE), reactive([FR + "Running"], id=ONE)])},
    [ev("e1", FR + "Failed", 0), ev("e2", FR + "Running", 1), ev("e3", FR + "Failed", 2)],
    options={"entry": "direct"},
)

scenario(
    "own_duplicate_child_ids_across_automations",
    "children of two composite automations carry the same explicit id: the later "
    "automation's child replaces the earlier one in Prefect's trigger cache, so the first "
    "automation never fires; the second fires on its children as usual",
    {"first": compound("any", [reactive([FR + "Failed"], id=ONE)]),
     "second": compound("any", [reactive([FR + "Running"], id=ONE), reactive([FR + "Completed"])])},
    [ev("e1", FR + "Failed", 0), ev("e2", FR + "Running", 1), ev("e3", FR + "Completed", 2)],
    options={"entry": "direct"},
)

json.dump(sorted(SCENARIOS), sys.stdout)
for name, doc in SCENARIOS.items():
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
print(f"\n{len(SCENARIOS)} scenarios written to {OUT}", file=sys.stderr)
