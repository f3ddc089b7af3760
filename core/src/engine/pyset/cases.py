# Generates CPython 3.11 set orders for random add/discard sequences (test vectors
# for core/src/engine/pyset.rs): python3.11 cases.py > cases.rs
import random
rng = random.Random(20261122)
P = (1 << 61) - 1
cases = []
for c in range(40):
    pool = [rng.randrange(0, 64) for _ in range(8)] + [rng.randrange(0, 1 << 63) for _ in range(8)] + [P + rng.randrange(0, 40) for _ in range(3)]
    s = set()
    ops = []
    for _ in range(rng.randrange(3, 70)):
        x = rng.choice(pool)
        if s and rng.random() < 0.35:
            x = rng.choice(sorted(s)) if rng.random() < 0.8 else x
            s.discard(x); ops.append((1, x))
        else:
            s.add(x); ops.append((0, x))
    cases.append((ops, list(s), list(s.copy())))
print("//! CPython 3.11's iteration orders for random `add`/`discard` sequences of ints")
print("//! (`hash(x) = x mod (2^61 - 1)`), written by a script run with python3.11:")
print("//! `(ops as (0 = add | 1 = discard, x), list(s), list(s.copy()))`.")
print()
print("/// `(ops, list(s), list(s.copy()))`.")
print("pub(super) type SetCase = (&'static [(u8, u64)], &'static [u64], &'static [u64]);")
print()
print("pub(super) const SET_CASES: &[SetCase] = &[")
for ops, a, b in cases:
    print("    (")
    print("        &[" + ", ".join(f"({o}, {x})" for o, x in ops) + "],")
    print("        &[" + ", ".join(str(x) for x in a) + "],")
    print("        &[" + ", ".join(str(x) for x in b) + "],")
    print("    ),")
print("];")
