#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': static checks on the host, then the whole selftest suite in
# one VM boot per lane (stock Debian kernel; debug kernel unless
# MBOX_LANES=stock).  Ends with the line
#   N passed, N failed, N skipped
# summing every lane, and fails on any failed case, splat or timeout.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$top"

lanes=${MBOX_LANES:-stock debug}
pass=0 fail=0 skip=0

host_case() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - host: $name"
		pass=$((pass + 1))
	else
		echo "not ok - host: $name"
		fail=$((fail + 1))
	fi
}

if [ -z "${MBOX_TESTS:-}" ]; then
	echo "# ==== static checks"
	host_case "checkpatch.pl --strict is clean on kmod/ and uapi/" \
		"$here/static-checks.sh" checkpatch
	host_case "sparse (C=2) is clean" "$here/static-checks.sh" sparse
	host_case "man pages format with no groff warning" make -s man-check
	# The install test prints TAP: count its cases one by one.
	out=$("$top/selftests/host/install_test.sh" 2>&1)
	printf '%s\n' "$out" | sed 's/^\(ok\|not ok\) [0-9]* - /\1 - host: /'
	pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
	fail=$((fail + $(printf '%s\n' "$out" | grep -c '^not ok ')))
	if ! printf '%s\n' "$out" | grep -q '^1\.\.'; then
		echo "not ok - host: install_test.sh printed no plan"
		fail=$((fail + 1))
	fi
fi

for lane in $lanes; do
	echo "# ==== $lane lane"
	log=$(mktemp)
	start=$(date +%s)
	# The guest sees only the command line: T= has to travel in it.
	MBOX_CMD="MBOX_TESTS='${MBOX_TESTS:-}' selftests/vm/run-tests.sh" \
		"$here/run.sh" --lane "$lane" | tee "$log"
	rc=${PIPESTATUS[0]}
	counts=$(sed -n 's/^MBOX-COUNTS //p' "$log" | tail -n 1)
	rm -f "$log"
	if [ -n "$counts" ]; then
		read -r p f s <<< "$counts"
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		echo "# $lane lane: $p passed, $f failed, $s skipped in $(( $(date +%s) - start )) s"
	fi
	# A splat, timeout or lost status fails the lane even if every case passed.
	if [ "$rc" -ne 0 ] && { [ -z "$counts" ] || [ "${f:-0}" -eq 0 ]; }; then
		echo "not ok - $lane lane: the VM run failed (exit $rc: splat, timeout or no status)"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
