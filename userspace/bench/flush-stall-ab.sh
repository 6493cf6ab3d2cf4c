#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Does a selective flush of a 1 Mi-message mailbox stall the mailbox's
# other readers?  The module at BASE against the working tree's, in one
# boot of the ordinary two-CPU TCG VM (stock lane), taking turns
# (base work work base ...), each run build/bench/flush_stall (see its
# header): a reader on CPU 1 times its calls while CPU 0 flushes and
# refills the mailbox.  Emulated wall time: noisy, so each module runs
# several times and the summary gives min-max ranges.
#   userspace/bench/flush-stall-ab.sh [BASE]    (default 3198673, before
#                                              the chunked flush)
#   FS_ROUNDS=N   rounds of (base, work), default 2
#   FS_ARGS=...   flush_stall options (default: none)
# Writes build/flush-stall/ab.log (the VM's output) and summary.txt.
# Guest side (run by the VM): flush-stall-ab.sh --guest BASE.ko WORK.ko
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit

if [ "${1:-}" = --guest ]; then
	base=$2
	work=$3
	rounds=${FS_ROUNDS:-2}
	rc=0
	r=1
	while [ "$r" -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then order="base work"; else order="work base"; fi
		for which in $order; do
			if [ "$which" = base ]; then ko=$base; else ko=$work; fi
			if [ -e /sys/module/mbox ]; then
				rmmod mbox || exit 1
			fi
			insmod "$ko" || { echo "## cannot load $ko"; exit 1; }
			echo "## round $r: $which: $(cat /sys/module/mbox/srcversion) $ko"
			# shellcheck disable=SC2086 # the options are separate words
			build/bench/flush_stall --json-file /tmp/fs.json ${FS_ARGS:-} || rc=1
			echo "MBOX-FS-JSON-BEGIN $which $r"
			cat /tmp/fs.json 2> /dev/null
			echo "MBOX-FS-JSON-END"
		done
		r=$((r + 1))
	done
	exit $rc
fi

base=${1:-3198673}
rev=$(git rev-parse --verify -q "$base^{commit}") ||
	{ echo "flush-stall-ab: '$base' is not a commit" >&2; exit 2; }
abi=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2> /dev/null |
	sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
kdir=${KDIR:-/usr/src/linux-headers-$abi}
out=build/flush-stall
make -s module build/bench/flush_stall || exit 1

# The module at BASE and the working tree's (ab-lib.sh).
. userspace/bench/ab-lib.sh
ab_modules flush-stall-ab "$rev" "$kdir" "$out" || exit 1

MBOX_CMD="FS_ROUNDS='${FS_ROUNDS:-2}' FS_ARGS='${FS_ARGS:-}' bash userspace/bench/flush-stall-ab.sh --guest '$top/$out/base.ko' '$top/$out/work.ko'" \
	selftests/vm/run.sh --lane stock --ko "$out/work.ko" > "$out/ab.log" 2>&1
rc=$?
grep -E '^(## |mbox-vm: |flush_stall)' "$out/ab.log"

python3 - "$out/ab.log" "$base ($(git rev-parse --short "$rev"))" "$label_work" <<'PY' | tee "$out/summary.txt"
import json, re, sys
log, lbase, lwork = sys.argv[1:4]
runs = []
cur, buf = None, []
for line in open(log, errors="replace"):
    line = line.rstrip("\n").rstrip("\r")
    m = re.match(r"^MBOX-FS-JSON-BEGIN (base|work) (\d+)$", line)
    if m:
        cur, buf = (m.group(1), int(m.group(2))), []
    elif line == "MBOX-FS-JSON-END" and cur:
        try:
            runs.append((cur[0], cur[1], json.loads("\n".join(buf))))
        except ValueError as e:
            print("flush-stall-ab: round %d %s: no JSON (%s)" % (cur[1], cur[0], e))
        cur = None
    elif cur:
        buf.append(line)
if not runs:
    sys.exit("flush-stall-ab: no results")
r0 = runs[0][2]
print("flush-stall-ab: a reader's calls (CPU 1) while CPU 0 flushes (MBOX_FLUSH_MINE) and refills")
print("  a mailbox of %d messages of %d B, about half selected; reader: %s, a call due every %s us,"
      % (r0["msgs"], r0["size"], r0["op"], r0.get("period_us", 0)))
print("  latency counted from the due time; %d flushes per run;" % r0["iters"])
print("  %s; two-CPU TCG VM, wall time (noisy); runs in the order %s"
      % (r0["kernel"], " ".join("%s%d" % (w, r) for w, r, _ in runs)))
print("  base: %s" % lbase)
print("  work: %s" % lwork)

def us(ns):
    return "%.1f" % (ns / 1000.0)

def rng(vals):
    lo, hi = min(vals), max(vals)
    return us(lo) if lo == hi else "%s-%s" % (us(lo), us(hi))

print("  in microseconds, min-max over the runs (each run's figure / samples):")
print("  %-5s %-6s %-14s %-16s %-20s %-14s %s" % ("", "class", "p50", "p99", "max", "call p99", "samples"))
for which in ("base", "work"):
    rs = [x for w, _, x in runs if w == which]
    if not rs:
        continue
    for c in ("idle", "loop", "flush"):
        rd = [x["reader"][c] for x in rs]
        print("  %-5s %-6s %-14s %-16s %-20s %-14s %s" % (
            which, c, rng([d["p50_ns"] for d in rd]), rng([d["p99_ns"] for d in rd]),
            rng([d["max_ns"] for d in rd]), rng([d.get("call_p99_ns", d["p99_ns"]) for d in rd]),
            "/".join(str(d["samples"]) for d in rd)))
    fl = [v for x in rs for v in x["flush_ns"]]
    print("  %-5s flush ioctl: %s-%s ms (%d flushes of %d-%d messages)" % (
        which, "%.1f" % (min(fl) / 1e6), "%.1f" % (max(fl) / 1e6), len(fl),
        min(v for x in rs for v in x["flushed_msgs"]),
        max(v for x in rs for v in x["flushed_msgs"])))
PY
exit "$rc"
