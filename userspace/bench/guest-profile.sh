#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make bench-profile' (in the icount VM, as root, with the
# module loaded): scenario 1 for mbox and the pipe at each size, first
# unprofiled (the reference figures), then each under
#   perf record -e cpu-clock -c PERIOD
# where the clock counts instructions, so a sample falls every PERIOD
# instructions and a symbol's share of samples is its share of the
# instructions executed.  Each profile goes between markers for the host.
#   PROFILE_PERIOD   instructions between samples (default 37253)
# mbox_bench --jitter spins a random while per message in profile_jitter(),
# so the samples cannot lock onto a loop of fixed length; the host leaves
# that function out.
#   PROFILE_SCALE    mbox_bench --scale: messages = 10000 x SCALE (default 10)
#   PROFILE_SIZES    default 64,4096
#   PROFILE_MECHS    default mbox,pipe
set -u
cd "$(dirname "$0")/../.." || exit
period=${PROFILE_PERIOD:-37253}
scale=${PROFILE_SCALE:-10}
sizes=${PROFILE_SIZES:-64,4096}
mechs=${PROFILE_MECHS:-mbox,pipe}
bench=$PWD/build/bench/mbox_bench

# Each size on a freshly loaded module, as in make bench (guest-bench.sh).
fresh="rmmod mbox && insmod '$MBOX_KO'"
echo "## unprofiled"
"$bench" --icount --tune --fresh "$fresh" -s 1 -z "$sizes" -m "$mechs" --reps 3 2>&1 |
	sed -n '/^1\. one thread/,/^$/p'

rc=0
cd /tmp || exit
for size in $(echo "$sizes" | tr , ' '); do
	for mech in $(echo "$mechs" | tr , ' '); do
		# One repetition of one mechanism: warm-up and timed loop are
		# the same send-then-receive, 1.1 x 10000 x SCALE messages.
		sh -c "$fresh" || rc=1
		perf record -q -o /tmp/prof.data -e cpu-clock -c "$period" -- \
			"$bench" --icount --jitter -s 1 -z "$size" -m "$mech" --reps 1 \
			--scale "$scale" > /tmp/prof-bench.txt 2>&1 || rc=1
		cost=$(sed -n "s/^ *$mech  *\([0-9]*\) insns.*/\1/p" /tmp/prof-bench.txt | head -n 1)
		echo "MBOX-PROF-BEGIN $mech $size period=$period scale=$scale profiled_insns=$cost"
		# Into a file: on the console perf would page and colour.
		perf --no-pager report -i /tmp/prof.data --stdio -q --sort sym \
			-F overhead,sample,sym > /tmp/prof.txt 2>/dev/null
		cat /tmp/prof.txt
		echo "MBOX-PROF-END"
	done
done
exit $rc
