#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make bench-ab' (in the icount VM, as root): the same
# mbox_bench run under two builds of the module, one after the other in
# one boot, in the order A B B A ... (AB_ROUNDS rounds, alternating which
# goes first), so that drift between runs, if any, shows as a difference
# between the two runs of one module.  Each run's JSON goes between
# markers naming the module and the round.
#   guest-ab.sh BASE.ko WORK.ko
# AB_ARGS replaces the default mbox_bench options.
set -u
cd "$(dirname "$0")/../.." || exit
base=$1
work=$2
rounds=${AB_ROUNDS:-2}
args=${AB_ARGS:-"-s 1,5,7 -m mbox,mbox-b16,pipe,seqpacket,sysv-msg --reps 3"}

# load NAME KO: this build of the module and nothing else.
load() {
	if [ -e /sys/module/mbox ]; then
		rmmod mbox || return 1
	fi
	insmod "$2" || return 1
	echo "## $1: $(cat /sys/module/mbox/srcversion) $2"
}

rc=0
r=1
while [ "$r" -le "$rounds" ]; do
	if [ $((r % 2)) -eq 1 ]; then order="base work"; else order="work base"; fi
	for which in $order; do
		if [ "$which" = base ]; then ko=$base; else ko=$work; fi
		load "$which" "$ko" || { echo "## cannot load $ko"; exit 1; }
		echo "## round $r: $which"
		# shellcheck disable=SC2086 # the arguments are separate words
		# Each scenario and size on a freshly loaded module, as in
		# make bench (guest-bench.sh).
		build/bench/mbox_bench --icount --tune --json-file /tmp/ab.json \
			--fresh "rmmod mbox && insmod $ko" $args > /tmp/ab.txt 2>&1 ||
			rc=1
		grep -E '^(mbox_bench: kernel|  [A-Za-z]+ .*(MISSED|met))' /tmp/ab.txt
		echo "MBOX-AB-JSON-BEGIN $which $r"
		cat /tmp/ab.json 2>/dev/null
		echo "MBOX-AB-JSON-END"
	done
	r=$((r + 1))
done
exit $rc
