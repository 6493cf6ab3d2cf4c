#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench-profile': where the instructions of scenario 1 go, for mbox
# and for the pipe, side by side.  In the icount VM (the guest clock
# counts instructions) perf record -e cpu-clock samples every PERIOD
# instructions, so each symbol's share of samples is its share of the
# instructions executed (guest-profile.sh).  Writes build/bench/profile.log
# (the VM's output) and build/bench/profile.txt: per size, the top symbols
# of each in instructions per message, then the symbols that differ most.
# PROFILE_PERIOD, PROFILE_SCALE, PROFILE_SIZES, PROFILE_MECHS: see
# guest-profile.sh; PROFILE_TOP: rows per table (default 25).
#   bench-profile.sh --report   only redo the tables from profile.log
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit
out=build/bench
mkdir -p "$out"

rc=0
# --report: only read build/bench/profile.log again.
if [ "${1:-}" != --report ]; then
	MBOX_VM_TIMEOUT=${MBOX_VM_TIMEOUT:-3600} \
		MBOX_CMD="PROFILE_PERIOD='${PROFILE_PERIOD:-}' PROFILE_SCALE='${PROFILE_SCALE:-}' PROFILE_SIZES='${PROFILE_SIZES:-}' PROFILE_MECHS='${PROFILE_MECHS:-}' sh userspace/bench/guest-profile.sh" \
		selftests/vm/run.sh --lane stock --icount --smp 1 > "$out/profile.log" 2>&1
	rc=$?
fi

python3 - "$out/profile.log" "${PROFILE_TOP:-25}" <<'PY' | tee "$out/profile.txt"
import re, sys
log, ntop = sys.argv[1], int(sys.argv[2])
profs, ref, cur, in_ref = {}, [], None, False
for line in open(log, errors="replace"):
    # perf colours its report even into a pipe: drop the escapes.
    line = re.sub(r"\x1b\[[0-9;]*m", "", line).replace("\r", "").rstrip("\n")
    m = re.match(r"^MBOX-PROF-BEGIN (\S+) (\d+) (.*)$", line)
    if m:
        kv = dict(x.split("=", 1) for x in m.group(3).split())
        cur = (m.group(1), int(m.group(2)))
        profs[cur] = {"kv": kv, "syms": {}, "kind": {}}
        in_ref = False
        continue
    if line == "MBOX-PROF-END":
        cur = None
        continue
    if line == "## unprofiled":
        in_ref = True
        continue
    if cur:
        # "  7.52%   601  [k] syscall_enter_from_user_mode"
        m = re.match(r"^\s*([\d.]+)%\s+(\d+)\s+\[(.)\]\s+(.*?)\s*$", line)
        # mbox_bench --jitter's spin: not part of any message's cost.
        if m and m.group(4) != "profile_jitter":
            p = profs[cur]
            p["syms"][m.group(4)] = p["syms"].get(m.group(4), 0) + int(m.group(2))
            p["kind"][m.group(4)] = "k" if m.group(3) == "k" else "u"
    elif in_ref and line.strip():
        ref.append(line)
if not profs:
    sys.exit("bench-profile: no profiles (see build/bench/profile.log)")

def messages(mech, size, scale):
    # mbox_bench's scenario 1: scaled(10000) timed plus iters/10 + 1 warm-up.
    iters = int(10000 * scale / (4 if size > 4096 else 1))
    warm = iters // 10 + 1
    if mech.endswith("-b16") or mech.endswith("-m16"):
        warm = -(-warm // 16) * 16
    return iters + warm

print("bench-profile: scenario 1 (one thread sends then receives), perf record -e cpu-clock in the icount VM")
print("Each sample stands for PERIOD instructions; insns/msg = a symbol's samples x PERIOD / messages sent.")
print("Samples that fall while interrupts are disabled land where they are re-enabled (cpu-clock is a")
print("timer interrupt, not an NMI): the syscall entry's lands in syscall_enter_from_user_mode, a")
print("spin_lock_irq section's in its unlock.  Profiling adds instructions (the sampling interrupt).")
print("A random spin per message (mbox_bench --jitter, left out here) keeps the samples from locking")
print("onto the loop's period.")
print()
print("Unprofiled, same boot (instructions per message, median of 3):")
for line in ref:
    print("  " + line)
sizes = sorted({s for _, s in profs})
mechs = []
for m, _ in profs:
    if m not in mechs:
        mechs.append(m)
for size in sizes:
    tabs = []
    for mech in mechs:
        p = profs.get((mech, size))
        if not p:
            continue
        period = int(p["kv"]["period"])
        msgs = messages(mech, size, float(p["kv"]["scale"]))
        total = sum(p["syms"].values())
        per = {s: n * period / msgs for s, n in p["syms"].items()}
        tabs.append((mech, p, per, total, period, msgs))
    print()
    print("=== %d B: top symbols, instructions per message (share of samples) ===" % size)
    for mech, p, per, total, period, msgs in tabs:
        print("  %s: %d samples, every %d insns, %d messages: %.0f insns/msg sampled (%s measured under perf, jitter included)" % (
            mech, total, period, msgs, total * period / msgs, p["kv"].get("profiled_insns") or "?"))
    rows = [sorted(per.items(), key=lambda x: -x[1])[:ntop] for _, _, per, _, _, _ in tabs]
    w = 44
    print("  " + "".join("%-*s" % (w + 14, "%s" % t[0]) for t in tabs))
    for i in range(ntop):
        cells = []
        for (mech, p, per, total, _, _), r in zip(tabs, rows):
            if i < len(r):
                s, v = r[i]
                cells.append("%6.0f %5.1f%%  %-*s" % (v, 100.0 * p["syms"][s] / total, w, s[:w]))
            else:
                cells.append(" " * (w + 14))
        print("  " + "".join(cells))
    if len(tabs) >= 2:
        (ma, pa, a, ta, _, _), (mb, pb, b, tb, _, _) = tabs[0], tabs[1]
        print()
        print("  where %s's instructions differ from %s's (insns/msg; %s total %.0f, %s total %.0f, difference %+.0f):" % (
            ma, mb, ma, sum(a.values()), mb, sum(b.values()), sum(a.values()) - sum(b.values())))
        diff = sorted(set(a) | set(b), key=lambda s: -abs(a.get(s, 0) - b.get(s, 0)))
        print("  %8s %8s %8s  %s" % (ma, mb, "diff", "symbol"))
        for s in diff[:ntop]:
            print("  %8.0f %8.0f %+8.0f  %s" % (a.get(s, 0), b.get(s, 0), a.get(s, 0) - b.get(s, 0), s))
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
exit "$rc"
