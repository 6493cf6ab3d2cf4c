#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A smoke run of the benchmark (userspace/bench/mbox_bench --smoke: tiny
# counts, seconds), so 'make check' notices when it stops building or
# running.  Nothing here asserts a time: the figures of a smoke run under
# emulation mean nothing.  Scenario 6's count of woken readers is not a
# time, and one message must wake exactly one blocked mbox reader.  A
# clock that does not advance during a repetition (a coarse clock, a fast
# machine) gives no figure: JSON null and "below clock resolution", which
# the last case forces with a frozen clock_gettime().
set -u
bench=build/bench/mbox_bench
json=/tmp/mbox_bench_smoke.json
log=/tmp/mbox_bench_smoke.txt

. "$(dirname "$0")/lib/tap.sh"
if [ ! -x "$bench" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP $bench is not built"
	exit 0
fi
plan 7

# check WHAT [JSON [LOG]]: python judges the JSON; its complaints become
# TAP comments.
check() {
	python3 - "${2:-$json}" "$1" "${3:-$log}" > /tmp/mbox_bench_check.txt 2>&1 <<'PY'
import json, sys
what = sys.argv[2]
try:
    res = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON: %s" % e)
    sys.exit(1)
text = open(sys.argv[3]).read()
mechs = {"mbox", "pipe", "seqpacket", "dgram", "posix-mq", "sysv-msg"}
# Batched: scenarios that move several messages (not 4 and 6).
batched = {"mbox-b16", "seqpkt-m16"}
bad = 0
if what == "header":
    print("kernel %s, %s CPUs, %s" % (res["kernel"], res["cpus"], res["accel"]))
    bad = not (res["kernel"] and res["cpus"] >= 1 and res["accel"]
               and res["smoke"] and res["reps"] == 2)
elif what == "complete":
    seen = {}
    for r in res["results"]:
        seen.setdefault(r["scenario"], set()).add(r["mech"])
        if "error" in r or len(r.get("values", [])) != res["reps"]:
            print("no figure: %s" % r)
            bad = 1
        # Only a rate can be infinite (null): a stream timed by a clock
        # that did not advance; the text report must say so.
        elif None in r["values"] and (r["metric"] != "msgs_per_s" or
                "below clock resolution" not in text):
            print("null where only a rate may be, or unexplained: %s" % r)
            bad = 1
        # A clock coarser than a round trip (the debug kernel's jiffies)
        # measures 0: no ratio then, but never one other than 1.
        elif r["mech"] == "pipe" and r["metric"] != "wakeups" and \
                r["median"] and abs(r["ratio_to_pipe"] - 1) > 1e-9:
            print("the pipe's ratio to itself is not 1: %s" % r)
            bad = 1
    for s in range(1, 8):
        if seen.get(s) != (mechs if s in (4, 6, 7) else mechs | batched):
            print("scenario %d measured %s" % (s, sorted(seen.get(s, ()))))
            bad = 1
    goals = {g["goal"] for g in res["goals"]}
    if len(goals) != 16:
        print("%d goals evaluated, expected 16" % len(goals))
        bad = 1
elif what == "herd":
    r = [x for x in res["results"] if x["scenario"] == 6 and x["mech"] == "mbox"]
    vals = r[0].get("values", []) if r else []
    print("mbox readers woken by one message, per repetition: %s" % vals)
    bad = not (len(vals) == res["reps"] and all(v == 1 for v in vals))
elif what == "icount":
    if res.get("clock") != "instructions":
        print("clock is %r, not instructions" % res.get("clock"))
        bad = 1
    for line in ("Instructions per message", "mbox's instructions per message over"):
        if line not in text:
            print("the report has no %r" % line)
            bad = 1
    goals = {g["goal"] for g in res["goals"]}
    if len(goals) != 8:
        print("%d goals evaluated, expected 8" % len(goals))
        bad = 1
elif what == "frozen":
    # No clock advance at all: every rate null, every cost 0, no ratio,
    # and the text report says why.
    for r in res["results"]:
        if "error" in r or len(r.get("values", [])) != res["reps"]:
            print("no figure: %s" % r)
            bad = 1
        elif r["metric"] == "msgs_per_s" and (r["median"] is not None or
                any(v is not None for v in r["values"])):
            print("a rate that is not null: %s" % r)
            bad = 1
        elif r["metric"] == "ns_per_msg" and (r["median"] != 0 or
                r["ratio_to_pipe"] != 0):
            print("a cost that is not 0 or a ratio: %s" % r)
            bad = 1
    if {r["metric"] for r in res["results"]} != {"ns_per_msg", "msgs_per_s"}:
        print("expected costs and rates, got %s" % res["results"])
        bad = 1
    if "below clock resolution" not in text:
        print("the text report does not say 'below clock resolution'")
        bad = 1
sys.exit(1 if bad else 0)
PY
	rc=$?
	sed 's/^/# /' /tmp/mbox_bench_check.txt
	return $rc
}

rm -f "$json"
"$bench" --smoke --reps 2 --tune --json-file "$json" > "$log" 2>&1
rc=$?
sed 's/^/# /' "$log"
ok $rc "mbox_bench --smoke runs every scenario to completion"

check header
ok $? "the JSON parses and names the kernel, CPU count and TCG/KVM"

check complete
ok $? "every scenario has a figure for every mechanism (batched ones: 1, 2, 3, 5) and 16 goals are judged"

# --icount (meant for run.sh --icount; here the figures mean nothing):
# times labelled as instructions, the table of ratios, issue 16's goals.
icount_json=/tmp/mbox_bench_icount.json
icount_log=/tmp/mbox_bench_icount.txt
rm -f "$icount_json"
"$bench" --smoke --reps 2 --icount -s 1,5,7 -z 64 --json-file "$icount_json" \
	> "$icount_log" 2>&1
rc=$?
sed 's/^/# /' "$icount_log"
[ $rc -eq 0 ] && check icount "$icount_json" "$icount_log"
ok $? "--icount: the instruction table, mbox's ratios and issue 16's 8 goals"

check herd
ok $? "scenario 6: one message wakes exactly one of 32 blocked mbox readers"

# A clock that never advances (issue 14: the JSON had "inf" in it).
frozen_json=/tmp/mbox_bench_frozen.json
frozen_log=/tmp/mbox_bench_frozen.txt
cat > /tmp/mbox_bench_frozen.c <<'C'
#include <time.h>
int clock_gettime(clockid_t id, struct timespec *ts)
{
	(void)id;
	ts->tv_sec = 1;
	ts->tv_nsec = 0;
	return 0;
}
C
if cc -shared -fPIC -o /tmp/mbox_bench_frozen.so /tmp/mbox_bench_frozen.c \
	2> /tmp/mbox_bench_frozen.cc; then
	rm -f "$frozen_json"
	LD_PRELOAD=/tmp/mbox_bench_frozen.so "$bench" --smoke --reps 2 \
		-s 1,2 -z 64 -m mbox,mbox-b16,pipe --json-file "$frozen_json" \
		> "$frozen_log" 2>&1
	rc=$?
	sed 's/^/# /' "$frozen_log"
	[ $rc -eq 0 ] && check frozen "$frozen_json" "$frozen_log"
	ok $? "a frozen clock: rates are null, costs 0, the report says 'below clock resolution'"
else
	sed 's/^/# /' /tmp/mbox_bench_frozen.cc
	n=$((n + 1))
	echo "ok $n - a frozen clock # SKIP no C compiler in the VM"
fi

# The benchmark changes /dev/mbox0 and /dev/mbox1's limits; it must put
# the module's defaults back for whatever runs next.
restored=0
for i in 0 1; do
	for p in max_msg_size max_msgs max_bytes; do
		[ "$(cat /sys/class/mbox/mbox$i/$p)" = \
		  "$(cat /sys/module/mbox/parameters/$p)" ] || restored=1
	done
	[ "$(cat /sys/class/mbox/mbox$i/msgs_queued)" = 0 ] || restored=1
done
ok $restored "mbox0 and mbox1 are left empty with the module's default limits"
exit $failed
