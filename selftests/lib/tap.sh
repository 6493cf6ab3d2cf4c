# SPDX-License-Identifier: GPL-2.0
# TAP output for the shell selftests; source it, then:
#   plan N            the TAP header and the plan
#   ok STATUS TEXT    the next case, passed when STATUS is 0; on a failure
#                     the test's own tap_on_fail function, if it has one,
#                     shows why
#   exit $failed      at the end
#   $wait_limit       seconds a wait for a condition may take
n=0
failed=0
# Seconds to wait for something that must happen before calling it a
# failure: 60, times MBOX_TIMEOUT_SCALE (selftests/mbox_harness.h says why).
wait_limit=$(awk -v k="${MBOX_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", 60 * (k >= 1 ? k : 1) }')
plan() {
	echo "TAP version 13"
	echo "1..$1"
}
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
		if command -v tap_on_fail > /dev/null; then
			tap_on_fail
		fi
	fi
}
