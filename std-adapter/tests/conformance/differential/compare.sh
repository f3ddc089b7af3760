#!/usr/bin/env bash
# Differential testing against Prefect 3.9.1's own code: for every scenario given,
# run the conformance kit's oracle and `overdue replay`, and report OK / DIFF / ERR.
#
#   cargo build --release -p overdue-std --bin overdue
#   python3 gen_own.py /tmp/dt mixed 1 2 3        # or gen_random.py from the kit
#   ORACLE_VENV=... ORACLE=/path/to/prefect_oracle.py ./compare.sh /tmp/dt/*.json
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${OVERDUE:-$here/../../../../target/release/overdue}
oracle=${ORACLE:?set ORACLE to the conformance kit prefect_oracle.py}
out=$(mktemp -d)
for f in "$@"; do
  n=$(basename "$f" .json)
  if ! python3 "$oracle" --out-dir "$out" "$f" > "$out/$n.oracle.log" 2>&1; then
    echo "ORACLE-ERR $n"; continue
  fi
  if ! "$bin" replay "$f" > "$out/$n.ours" 2> "$out/$n.err"; then
    echo "ERR $n $(head -c 200 "$out/$n.err")"; continue
  fi
  if cmp -s "$out/$n.jsonl" "$out/$n.ours"; then echo "OK $n"; else echo "DIFF $n ($out/$n.jsonl vs $out/$n.ours)"; fi
done
