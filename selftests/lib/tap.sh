# SPDX-License-Identifier: GPL-2.0
# TAP output for the shell selftests; source it, then:
#   plan N            the TAP header and the plan
#   ok STATUS TEXT    the next case, passed when STATUS is 0; on a failure
#                     the test's own tap_on_fail function, if it has one,
#                     shows why
#   exit $failed      at the end
n=0
failed=0
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
