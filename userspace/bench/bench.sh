#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench': run mbox_bench and the reference tools in the VM on the
# stock kernel, keep the report, the JSON and a PNG chart of the ratios:
#   build/bench/bench.log, build/bench/results.json, build/bench/ratios.png
# BENCH_ARGS passes options to mbox_bench (see mbox_bench --help).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
out=build/bench
mkdir -p "$out"

MBOX_VM_TIMEOUT=${MBOX_VM_TIMEOUT:-5400} BENCH_ARGS=${BENCH_ARGS:-} \
	MBOX_CMD="BENCH_ARGS='${BENCH_ARGS:-}' sh userspace/bench/guest-bench.sh" \
	selftests/vm/run.sh --lane stock | tee "$out/bench.log"
rc=${PIPESTATUS[0]}

sed -n '/^MBOX-BENCH-JSON-BEGIN$/,/^MBOX-BENCH-JSON-END$/p' "$out/bench.log" |
	sed '1d;$d' > "$out/results.json"
if [ ! -s "$out/results.json" ]; then
	echo "bench: no results (exit $rc)" >&2
	exit 1
fi
"$here/chart.sh" "$out/results.json" "$out/ratios.png" || rc=1
echo "bench: $out/bench.log, $out/results.json, $out/ratios.png"
exit "$rc"
