#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench-ab BASE=<git rev>': the module at BASE against the module of
# the working tree, side by side in instructions per message (the
# single-CPU scenarios 1, 5 and 7 in one boot of the icount VM; the
# modules take turns, base work work base), so an optimisation can quote
# its exact gain.  The pipe (and the other mechanisms) do not depend on
# the module: their figures, the same under both, show the instrument's
# own drift.  Writes build/ab/ab.log (the VM's output) and
# build/ab/summary.txt (the table).
#   AB_ROUNDS=N   rounds of (base, work), default 2
#   AB_ARGS=...   mbox_bench options instead of
#                 "-s 1,5,7 -m mbox,mbox-b16,pipe,seqpacket,sysv-msg --reps 3"
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit
base=${BASE:-}
kdir=${KDIR:?KDIR: the kernel build directory (make sets it)}
out=build/ab
[ -n "$base" ] || { echo "bench-ab: say which revision: make bench-ab BASE=<git rev>" >&2; exit 2; }
rev=$(git rev-parse --verify -q "$base^{commit}") ||
	{ echo "bench-ab: '$base' is not a commit" >&2; exit 2; }

# The module at BASE and the working tree's (ab-lib.sh).
. userspace/bench/ab-lib.sh
ab_modules bench-ab "$rev" "$kdir" "$out" || exit 1

MBOX_VM_TIMEOUT=${MBOX_VM_TIMEOUT:-3600} \
	MBOX_CMD="AB_ROUNDS='${AB_ROUNDS:-2}' AB_ARGS='${AB_ARGS:-}' sh userspace/bench/guest-ab.sh '$top/$out/base.ko' '$top/$out/work.ko'" \
	selftests/vm/run.sh --lane stock --icount --smp 1 --ko "$out/work.ko" \
	> "$out/ab.log" 2>&1
rc=$?
grep -E '^(## |mbox-vm: )' "$out/ab.log"

python3 - "$out/ab.log" "$base ($(git rev-parse --short "$rev"))" "$label_work" <<'PY' | tee "$out/summary.txt"
import json, re, sys
log, lbase, lwork = sys.argv[1:4]
runs = []          # (which, round, json)
cur, buf = None, []
for line in open(log, errors="replace"):
    line = line.rstrip("\n").rstrip("\r")
    m = re.match(r"^MBOX-AB-JSON-BEGIN (base|work) (\d+)$", line)
    if m:
        cur, buf = (m.group(1), int(m.group(2))), []
    elif line == "MBOX-AB-JSON-END" and cur:
        try:
            runs.append((cur[0], cur[1], json.loads("\n".join(buf))))
        except ValueError as e:
            print("bench-ab: round %d %s: no JSON (%s)" % (cur[1], cur[0], e))
        cur = None
    elif cur:
        buf.append(line)
if not runs:
    sys.exit("bench-ab: no results")

def key(x):
    return (x["scenario"], x["size"], x["depth"], x["mech"])
order, vals = [], {}
for which, rnd, res in runs:
    for x in res["results"]:
        if x["metric"] != "ns_per_msg" or x.get("median") is None:
            continue
        k = key(x)
        if k not in vals:
            order.append(k)
            vals[k] = {"base": [], "work": []}
        vals[k][which].append(x["median"])

def label(k):
    s, size, depth, mech = k
    d = "" if s != 5 else (" d=1" if depth == 1 else " deep")
    return "%d %d B%s" % (s, size, d)

print("bench-ab: instructions per message (icount VM, median of each run's reps; runs in the order %s)" %
      " ".join("%s%d" % (w, r) for w, r, _ in runs))
print("  base: %s" % lbase)
print("  work: %s" % lwork)
print("  %-16s %-10s %-20s %-20s %s" % ("scenario, size", "mech", "base (each run)", "work (each run)", "work/base"))
for k in order:
    b, w = vals[k]["base"], vals[k]["work"]
    if not b or not w:
        continue
    mb, mw = sum(b) / len(b), sum(w) / len(w)
    r = mw / mb
    note = "" if k[3].startswith("mbox") else "  (not the module: drift)"
    print("  %-16s %-10s %-20s %-20s %.3fx (%+.1f%%)%s" % (
        label(k), k[3], "/".join("%.0f" % v for v in b),
        "/".join("%.0f" % v for v in w), r, 100 * (r - 1), note))
PY
exit "$rc"
