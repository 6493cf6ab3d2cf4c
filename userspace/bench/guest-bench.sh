#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make bench' (run by selftests/vm/run.sh in the VM, as root,
# with the module loaded): mbox_bench, its JSON between markers for the
# host, then the standard tools for reference, run in the same VM so a
# reader can relate the pipe and mqueue figures to numbers they know.
set -u
cd "$(dirname "$0")/../.."

# shellcheck disable=SC2086 # BENCH_ARGS are separate words
build/bench/mbox_bench --tune --json-file /tmp/bench.json ${BENCH_ARGS:-}
rc=$?
echo "MBOX-BENCH-JSON-BEGIN"
cat /tmp/bench.json 2>/dev/null
echo "MBOX-BENCH-JSON-END"

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
