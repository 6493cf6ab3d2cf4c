#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The slowest times in lane logs of 'make check' (build/check/*.log, or
# the logs named), from the runner's "# MBOX-TIME" lines: each program's
# and each kselftest case's longest time over all the logs given, slowest
# first, to size the suite's timeouts from (README, "Timeouts").
#   timings.sh [LOG...]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || set -- build/check/*.log
grep -h '^# MBOX-TIME ' "$@" |
	awk '{ key = $5 " " $6 (NF > 6 ? " " $7 : "")
	       if (!(key in max) || $3 > max[key]) max[key] = $3 }
	     END { for (k in max) printf "%8.1f s  %s\n", max[k], k }' |
	sort -rn
