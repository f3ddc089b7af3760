#!/usr/bin/env python3
"""Random small scenarios of kinds gen_random.py does not cover.

    python3 gen_own.py OUTDIR FAMILY SEED [SEED...]

families: comp, react, proact, follows, chaos, mixed
"""
import json
import random
import sys

FR = "prefect.flow-run."
X = "prefect.thing."

STATE_NAMES = ["Pending", "Running", "Completed", "Failed", "Crashed", "Cancelled"]
FR_NAMES = [FR + n for n in STATE_NAMES] + [FR + "heartbeat"] * 3
OTHER_NAMES = ["prefect.task-run.Running", "prefect.log.write", "prefect.flow-run.", "prefect.work-pool.ready",
               "prefect.flow-run.Failed.extra", "prefect.flow-run.Late"]

EXPECT_POOL = [FR + "*", FR + "Failed", FR + "F*", FR + "C*", FR + "heartbeat", FR + "?ailed",
               FR + "[CF]*", FR + "", "*", "prefect.*.Running", FR + "Completed", FR + "Crashed",
               "!" + FR + "heartbeat", FR + "Fail*"]
AFTER_POOL = [FR + "heartbeat", FR + "Running", FR + "Pending", FR + "*", FR + "R*"]
FOR_EACH_POOL = ["prefect.resource.id", "env", "related:deployment:prefect.resource.id",
                 "related:flow:prefect.resource.name", "related:tag:prefect.resource.id",
                 "prefect.resource.name", "related:ghost:owner"]
MATCH_POOL = [
    {}, {"prefect.resource.id": FR + "*"}, {"prefect.resource.id": FR + "*"},
    {"prefect.resource.id": ["!" + FR + "B", "!" + FR + "C"]},
    {"prefect.resource.id": "!" + FR + "B*"},
    {"env": "!dev"}, {"env": ["prod", "staging"]}, {"env": "pr?d"},
    {"prefect.resource.id": [FR + "A", FR + "[BC]"]},
    {"prefect.resource.id": FR + "*", "env": "*"},
]
MATCH_RELATED_POOL = [
    {"prefect.resource.role": "deployment"},
    {"prefect.resource.role": "deployment", "prefect.resource.id": "prefect.deployment.d1"},
    [{"prefect.resource.role": "flow"}, {"prefect.resource.role": "deployment"}],
    {"prefect.resource.role": "tag", "prefect.resource.id": "!prefect.tag.slow"},
    {"prefect.resource.role": ["flow", "tag"]},
]


def rand_event_trigger(rng, posture=None, names=None, allow_after=True):
    posture = posture or rng.choice(["Reactive", "Reactive", "Proactive"])
    t = {"type": "event"}
    if names is None:
        k = rng.choice([0, 1, 1, 1, 2, 2, 3])
        expect = rng.sample(EXPECT_POOL, k)
    else:
        expect = rng.sample(names, rng.choice([1, 1, 2]))
    t["expect"] = expect
    if allow_after and rng.random() < (0.6 if posture == "Proactive" else 0.3):
        if names is None:
            after = rng.sample(AFTER_POOL, rng.choice([1, 1, 2]))
            if rng.random() < 0.3 and expect:
                after = [expect[0]] + after[:1]  # after ∩ expect
        else:
            after = rng.sample(names, 1)
        t["after"] = after
    if names is None:
        t["match"] = json.loads(json.dumps(rng.choice(MATCH_POOL)))
        if rng.random() < 0.25:
            t["match_related"] = json.loads(json.dumps(rng.choice(MATCH_RELATED_POOL)))
        if rng.random() < 0.7:
            t["for_each"] = rng.sample(FOR_EACH_POOL, rng.choice([1, 1, 1, 2, 3]))
    else:
        t["match"] = {"prefect.resource.id": X + "*"}
        if rng.random() < 0.3:
            t["for_each"] = ["prefect.resource.id"]
    t["posture"] = posture
    if posture == "Reactive":
        t["threshold"] = rng.choice([0, 1, 1, 1, 2, 2, 3, 4])
        t["within"] = rng.choice([0, 0, 5, 10, 30, 60, 120])
    else:
        t["threshold"] = rng.choice([1, 1, 1, 2, 3])
        t["within"] = rng.choice([10, 15, 30, 60, 90])
    return t


def rand_composite(rng, names, depth=0):
    kind = rng.choice(["compound", "compound", "sequence"])
    n = rng.choice([2, 2, 3])
    children = []
    for _ in range(n):
        if depth < 2 and rng.random() < 0.2:
            children.append(rand_composite(rng, names, depth + 1))
        else:
            posture = "Proactive" if rng.random() < 0.15 else "Reactive"
            c = rand_event_trigger(rng, posture, names, allow_after=posture == "Proactive")
            if posture == "Reactive" and rng.random() < 0.75:
                c["threshold"], c["within"] = 1, 0
            children.append(c)
    within = rng.choice([None, None, 5, 10, 30, 60, 300])
    if kind == "compound":
        require = rng.choice(["any", "all", "all"] + list(range(1, n + 1)))
        return {"type": "compound", "require": require, "within": within, "triggers": children}
    return {"type": "sequence", "within": within, "triggers": children}


class Steps:
    def __init__(self, rng, chaos=0.0):
        self.rng = rng
        self.clock = 0.0
        self.steps = []
        self.bodies = []
        self.n = 0
        self.chaos = chaos

    def t(self, x):
        # mostly whole seconds, sometimes millis
        return round(x, 3) if self.rng.random() < 0.2 else float(int(x)) if x == int(x) else round(x)

    def advance(self, lo=0, hi=15):
        self.clock += self.rng.choice([0, self.rng.uniform(lo, hi)])
        self.clock = round(self.clock, 3) if self.rng.random() < 0.3 else round(self.clock)

    def event(self, name, resource, related=None, occurred=None, now=None, follows=None, eid=None,
              received=None):
        self.n += 1
        eid = eid or f"e{self.n}"
        body = {"id": eid, "event": name, "occurred": occurred if occurred is not None else self.clock,
                "resource": resource}
        if related is not None:
            body["related"] = related
        if follows is not None:
            body["follows"] = follows
        if received is not None:
            body["received"] = received
        step = {"event": body}
        if now is not None:
            step["now"] = now
        self.steps.append(step)
        self.bodies.append(body)
        return body

    def tick(self, t=None, now=None):
        s = {"tick": self.clock if t is None else t}
        if now is not None:
            s["now"] = now
        self.steps.append(s)


def fr_resource(rng, runs="ABCDE"):
    r = rng.choice(runs)
    res = {"prefect.resource.id": FR + r}
    env = {"A": "prod", "B": "dev", "C": "staging", "D": None, "E": ""}[r]
    if rng.random() < 0.15:
        env = rng.choice(["prod", "dev", None])
    if env is not None:
        res["env"] = env
    if rng.random() < 0.2:
        res["prefect.resource.name"] = rng.choice(["alpha", "beta"])
    return r, res


def fr_related(rng, r):
    if rng.random() < 0.2:
        return None
    rel = []
    dep = {"A": "d1", "B": "d1", "C": "d2", "D": "d2", "E": "d3"}[r]
    opts = [
        {"prefect.resource.id": f"prefect.deployment.{dep}", "prefect.resource.role": "deployment"},
        {"prefect.resource.id": f"prefect.flow.f{ord(r) % 2}", "prefect.resource.role": "flow",
         "prefect.resource.name": "etl" if r in "AB" else "report"},
        {"prefect.resource.id": "prefect.flow.nameless", "prefect.resource.role": "flow"},
        {"prefect.resource.id": rng.choice(["prefect.tag.slow", "prefect.tag.fast"]), "prefect.resource.role": "tag"},
        {"prefect.resource.id": "prefect.deployment.d9", "prefect.resource.role": "deployment"},
        {"prefect.resource.id": "ghost-1", "prefect.resource.role": "ghost", "owner": "sre"},
    ]
    for o in rng.sample(opts, rng.choice([1, 2, 2, 3])):
        rel.append(dict(o))
    return rel


def fill_fr(rng, st, n_steps, tick_p=0.3, chaos=0.1, follows_p=0.2, dup_p=0.07, focus=None, runs="ABCDE"):
    last_state = {}
    pending_followers = []
    while len(st.steps) < n_steps:
        st.advance(0, 12)
        x = rng.random()
        if x < tick_p:
            if rng.random() < chaos:
                st.tick(st.clock, now=round(st.clock + rng.choice([-100, -20, -5, 3, 30, 200]), 3))
            elif rng.random() < chaos:
                st.clock += rng.choice([60, 120, 900, 1000])
                st.tick()
            else:
                st.tick()
            continue
        if pending_followers and rng.random() < 0.3:
            st.steps.append(pending_followers.pop(0))
            continue
        if st.bodies and rng.random() < dup_p:
            body = json.loads(json.dumps(rng.choice(st.bodies)))
            if rng.random() < 0.3:
                body["occurred"] = st.clock
            st.steps.append({"event": body})
            continue
        r, res = fr_resource(rng, runs)
        rel = fr_related(rng, r)
        if focus and rng.random() < 0.5:
            name = rng.choice(focus)
        else:
            name = rng.choice(FR_NAMES + (OTHER_NAMES if rng.random() < 0.15 else []))
        occurred = st.clock
        now = None
        c = rng.random()
        if c < chaos:
            occurred = st.clock - rng.choice([1, 5, 30, 100, 899, 901, 5000])
            now = st.clock
        elif c < chaos * 1.5:
            occurred = st.clock + rng.choice([100, 1000, 100000])
            now = st.clock
        elif c < chaos * 1.8:
            now = st.clock - rng.choice([10, 100, 1000])  # clock goes back
        follows = None
        if name.rsplit(".", 1)[-1] in STATE_NAMES and rng.random() < follows_p * 3:
            follows = last_state.get(r) if rng.random() < 0.8 else "ghost-" + str(rng.randint(1, 3))
        body_step_index = len(st.steps)
        b = st.event(name, res, rel, occurred=occurred, now=now, follows=follows)
        if name.rsplit(".", 1)[-1] in STATE_NAMES:
            last_state[r] = b["id"]
        # deliver leader late: swap with a follower later
        if follows is None and rng.random() < follows_p and name.rsplit(".", 1)[-1] in STATE_NAMES:
            # make next state event of this run follow this one, delivered before it
            st.steps.pop(body_step_index)
            pending_followers.append({"event": b})
    while pending_followers and len(st.steps) < 59:
        st.steps.append(pending_followers.pop(0))
    if rng.random() < 0.5 and len(st.steps) < 59:
        st.clock += rng.choice([100, 950, 1000])
        st.tick()


def options(rng):
    o = {}
    if rng.random() < 0.5:
        o["entry"] = rng.choice(["consumer", "direct"])
    if rng.random() < 0.4:
        o["proactive"] = rng.choice(["all", "scheduled"])
    if rng.random() < 0.4:
        o["events_clock"] = rng.choice(["reset", "live"])
    if rng.random() < 0.4:
        o["periodic"] = rng.choice(["after", "before", "never"])
    return o


def gen(family, seed):
    rng = random.Random(f"{family}-{seed}")
    if family == "mixed":
        family = rng.choice(["comp", "react", "proact", "follows", "chaos"])
    n_steps = rng.randint(25, 58)
    triggers = {}
    if family == "held":
        return gen_held(rng, seed)
    if family == "compfr":
        for i in range(rng.choice([1, 2])):
            kind = rng.choice(["compound", "sequence"])
            children = [rand_event_trigger(rng) for _ in range(rng.choice([2, 2, 3]))]
            for c in children:
                c["match"] = {"prefect.resource.id": FR + "*"}
                c.pop("match_related", None)
                if c["posture"] == "Reactive" and rng.random() < 0.5:
                    c["threshold"], c["within"] = 1, 0
            if rng.random() < 0.3:
                children[0] = {"type": "compound", "require": "any", "within": None, "triggers": [children[0], rand_event_trigger(rng, "Reactive")]}
                children[0]["triggers"][1]["match"] = {}
            within = rng.choice([None, 10, 30, 60, 300])
            if kind == "compound":
                triggers[f"c{i}"] = {"type": "compound", "require": rng.choice(["any", "all", 2]), "within": within, "triggers": children}
            else:
                triggers[f"c{i}"] = {"type": "sequence", "within": within, "triggers": children}
        triggers["plain"] = rand_event_trigger(rng)
        st = Steps(rng)
        focus = [FR + "Failed", FR + "Completed", FR + "heartbeat", FR + "Running"]
        fill_fr(rng, st, n_steps, tick_p=0.3, chaos=0.1, follows_p=0.2, focus=focus, runs=rng.choice(["AB", "ABC", "A"]))
    elif family == "comp":
        names = ["x.a", "x.b", "x.c", "x.d", "x.*", "x.a*"]
        for i in range(rng.choice([1, 2, 2, 3])):
            triggers[f"c{i}"] = rand_composite(rng, names)
        if rng.random() < 0.4:
            triggers["plain"] = rand_event_trigger(rng, "Reactive", names, allow_after=False)
        st = Steps(rng)
        things = ["one", "two"]
        while len(st.steps) < n_steps:
            st.advance(0, 8)
            x = rng.random()
            if x < 0.2:
                st.tick(st.clock, now=st.clock + rng.choice([0, 0, 0, -3, 5]))
            elif st.bodies and x < 0.25:
                st.steps.append({"event": json.loads(json.dumps(rng.choice(st.bodies)))})
            else:
                name = rng.choice(["x.a", "x.b", "x.c", "x.d", "x.e", "x.heartbeat"])
                occ = st.clock
                now = None
                if rng.random() < 0.15:
                    occ = st.clock - rng.choice([5, 50, 500, 1000])
                if rng.random() < 0.1:
                    now = st.clock + rng.choice([20, 40, -10])
                st.event(name, {"prefect.resource.id": X + rng.choice(things)}, occurred=occ, now=now)
    else:
        nt = rng.choice([2, 3, 3, 4])
        for i in range(nt):
            if family == "react":
                t = rand_event_trigger(rng, "Reactive")
            elif family == "proact":
                t = rand_event_trigger(rng, "Proactive")
            else:
                t = rand_event_trigger(rng)
            triggers[f"t{i}"] = t
        if family == "follows":
            triggers["every"] = {"type": "event", "match": {"prefect.resource.id": FR + "*"},
                                 "expect": [FR + "*"], "posture": "Reactive", "threshold": 1,
                                 "within": 0, "for_each": ["prefect.resource.id"]}
            triggers["run_then_done"] = {"type": "event", "match": {"prefect.resource.id": FR + "*"},
                                         "after": [FR + "Running"], "expect": [FR + "Completed", FR + "Failed"],
                                         "for_each": ["prefect.resource.id"], "posture": "Reactive",
                                         "threshold": 1, "within": 300}
        st = Steps(rng)
        chaos = {"chaos": 0.3, "follows": 0.1}.get(family, 0.08)
        follows_p = {"follows": 0.45}.get(family, 0.1)
        tick_p = {"proact": 0.4}.get(family, 0.25)
        focus = sorted({n for t in triggers.values() for n in t.get("expect", []) + t.get("after", [])
                        if "*" not in n and "?" not in n and "[" not in n and not n.startswith("!")})
        runs = rng.choice(["ABCDE", "AB", "ABC", "A"])
        fill_fr(rng, st, n_steps, tick_p=tick_p, chaos=chaos, follows_p=follows_p, focus=focus, runs=runs)
    sc = {"description": f"gen_own {family} seed {seed}", "options": options(rng),
          "triggers": triggers, "steps": st.steps}
    return sc


def gen_held(rng, seed):
    HB = FR + "heartbeat"
    terminals = [FR + "Completed", FR + "Failed", FR + "Crashed"]
    triggers = {}
    for i in range(rng.choice([1, 2, 3])):
        expect = rng.choice([[FR + "*"], terminals[:2], [FR + "Completed"], [HB, FR + "Completed"],
                             [FR + "C*", FR + "Failed"]])
        after = rng.choice([[HB], [HB], [FR + "Running"], [HB, FR + "Running"]])
        t = {"type": "event", "match": {"prefect.resource.id": FR + "*"}, "after": after,
             "expect": expect, "for_each": ["prefect.resource.id"], "posture": "Proactive",
             "threshold": rng.choice([1, 1, 1, 2, 3]), "within": rng.choice([10, 20, 30, 60, 90, 120])}
        if rng.random() < 0.2:
            t.pop("for_each")
        triggers[f"z{i}"] = t
    if rng.random() < 0.3:
        triggers["r"] = {"type": "event", "match": {"prefect.resource.id": FR + "*"}, "after": [HB],
                         "expect": terminals, "for_each": ["prefect.resource.id"], "posture": "Reactive",
                         "threshold": 1, "within": rng.choice([0, 30, 60])}
    # per run: a schedule of (occurred, name); delivered with random delays
    items = []
    n = 0
    for r in rng.sample("ABCD", rng.choice([1, 2, 3])):
        t = rng.uniform(0, 60)
        beats = rng.randint(2, 8)
        gap = rng.choice([10, 15, 30, 30, 45])
        prev = None
        seq = [FR + "Running"] + [HB] * beats
        if rng.random() < 0.7:
            seq.append(rng.choice(terminals + [FR + "Cancelled"]))
        if rng.random() < 0.2:
            seq.insert(rng.randint(1, len(seq)), rng.choice(terminals))
        if rng.random() < 0.2:  # long pause then resume (held sweep / trimming)
            seq.insert(rng.randint(2, len(seq)), "PAUSE")
        for name in seq:
            if name == "PAUSE":
                t += rng.choice([1000, 1900, 2500])
                continue
            n += 1
            eid = f"{r}{n}"
            delay = rng.choice([0, 0, 0.5, 1, rng.uniform(0, 5), rng.uniform(20, 80)])
            body = {"id": eid, "event": name, "occurred": round(t), "resource": {"prefect.resource.id": FR + r}}
            if name != HB and rng.random() < 0.3 and prev:
                body["follows"] = prev
            if name != HB:
                prev = eid
            items.append((round(t + delay, 3), body))
            if rng.random() < 0.1:
                items.append((round(t + delay + rng.uniform(1, 40), 3), json.loads(json.dumps(body))))
            t += gap + rng.choice([0, 0, rng.uniform(-5, 5)])
    items.sort(key=lambda x: x[0])
    steps = []
    tick_every = rng.choice([5, 5, 10, 30])
    next_tick = tick_every
    for at, body in items:
        while next_tick <= at:
            steps.append({"tick": next_tick})
            next_tick += tick_every
        steps.append({"event": body, "now": at})
    end = items[-1][0] + 200
    while next_tick <= end:
        steps.append({"tick": next_tick})
        next_tick += tick_every
    # thin out ticks to keep it small
    while len(steps) > 59:
        ticks_idx = [i for i, s in enumerate(steps) if "tick" in s]
        if not ticks_idx:
            steps = steps[:59]
            break
        del steps[rng.choice(ticks_idx)]
    return {"description": f"gen_own held seed {seed}", "options": options(rng), "triggers": triggers,
            "steps": steps}


if __name__ == "__main__":
    out, family = sys.argv[1], sys.argv[2]
    for s in sys.argv[3:]:
        sc = gen(family, int(s))
        with open(f"{out}/{family}_{s}.json", "w") as f:
            json.dump(sc, f, indent=1)
            f.write("\n")
