#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench': mbox_bench in two VMs on the stock kernel.
#  1. icount (run.sh --icount --smp 1): the single-CPU scenarios 1, 5 and 7,
#     where the guest clock counts instructions: exact, repeatable figures
#     in instructions per message, whatever the host's load;
#     build/bench/icount.log and icount.json.
#  2. TCG with 2 CPUs: the two-CPU scenarios 2, 3, 4 and 6, in emulated
#     wall time, noisy on a loaded host (read their min-max ranges), then
#     the reference tools; build/bench/bench.log and results.json.
# Then a PNG of the ratios to the pipe: build/bench/ratios.png.
# BENCH_ARGS passes options to mbox_bench in both (see mbox_bench --help);
# BENCH_ONLY=icount or BENCH_ONLY=tcg runs only one of the two.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit
out=build/bench
mkdir -p "$out"
only=${BENCH_ONLY:-}
case $only in
''|icount|tcg) ;;
*) echo "bench: BENCH_ONLY must be icount or tcg" >&2; exit 2 ;;
esac

# vm MODE LOG JSON [run.sh options]: one VM, its report and its JSON.
vm() {
	local mode=$1 log=$2 json=$3 rc
	shift 3
	MBOX_VM_TIMEOUT=${MBOX_VM_TIMEOUT:-5400} \
		MBOX_CMD="BENCH_ARGS='${BENCH_ARGS:-}' sh userspace/bench/guest-bench.sh $mode" \
		selftests/vm/run.sh --lane stock "$@" | tee "$log"
	rc=${PIPESTATUS[0]}
	sed -n '/^MBOX-BENCH-JSON-BEGIN$/,/^MBOX-BENCH-JSON-END$/p' "$log" |
		sed '1d;$d' > "$json"
	if [ ! -s "$json" ]; then
		echo "bench: no results from the $mode VM (exit $rc)" >&2
		return 1
	fi
	return "$rc"
}

rc=0
if [ "$only" != tcg ]; then
	rm -f "$out/icount.json"
	vm icount "$out/icount.log" "$out/icount.json" --icount --smp 1 || rc=1
fi
if [ "$only" != icount ]; then
	rm -f "$out/results.json"
	vm tcg "$out/bench.log" "$out/results.json" || rc=1
fi
if [ -s "$out/icount.json" ] || [ -s "$out/results.json" ]; then
	"$here/chart.sh" "$out/icount.json" "$out/results.json" \
		"$out/ratios.png" || rc=1
fi
echo "bench: $out/icount.log (instructions), $out/bench.log (TCG wall time), $out/ratios.png"
exit "$rc"
