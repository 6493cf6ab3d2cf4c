#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make bench' (run by selftests/vm/run.sh in the VM, as root,
# with the module loaded):
#   guest-bench.sh icount   the single-CPU scenarios (1, 5, 7) in the icount
#                           VM: every time is a count of instructions
#   guest-bench.sh tcg      the two-CPU scenarios (2, 3, 4, 6) in the
#                           ordinary TCG VM, then the standard tools for
#                           reference, so a reader can relate the pipe and
#                           mqueue figures to numbers they know
# mbox_bench's JSON goes between markers for the host.  BENCH_ARGS are
# appended (a later -s, -z or --reps replaces the default).
set -u
cd "$(dirname "$0")/../.." || exit
mode=${1:-tcg}

case $mode in
icount) args="--icount -s 1,5,7 --reps 5" ;;
tcg) args="-s 2,3,4,6" ;;
*) echo "guest-bench.sh: unknown mode $mode" >&2; exit 2 ;;
esac
# icount: each scenario and size on a freshly loaded module, so that what
# a mailbox kept from the previous size (its spare message) does not
# decide the figure; the other mechanisms start afresh anyway.
fresh=true
[ "$mode" = tcg ] || fresh="rmmod mbox && insmod '$MBOX_KO'"
# shellcheck disable=SC2086 # the arguments are separate words
build/bench/mbox_bench --tune --fresh "$fresh" --json-file /tmp/bench.json \
	$args ${BENCH_ARGS:-}
rc=$?
echo "MBOX-BENCH-JSON-BEGIN"
cat /tmp/bench.json 2>/dev/null
echo "MBOX-BENCH-JSON-END"
[ "$mode" = tcg ] || exit $rc

# Sized for emulation (a cross-CPU wake-up costs milliseconds under TCG).
ref() {
	echo
	echo "## reference: $*"
	"$@" 2>&1 || echo "(exit $?)"
}
ref perf bench sched pipe -l 2000
ref perf bench sched pipe -l 2000 -T
ref perf bench sched messaging -g 1 -l 20
ref perf bench sched messaging -g 1 -l 20 -p
ref hackbench -g 1 -l 20
ref hackbench -g 1 -l 20 -p
ref pmqtest -S -l 1000 -i 200 -q
exit $rc
