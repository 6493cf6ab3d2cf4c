#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Load mbox_kunit.ko (the queue core's KUnit suite, built only against a
# kernel with CONFIG_KUNIT: the debug lane) and report its KTAP results as
# TAP, one case per KUnit test case.
set -u
dir=$(dirname "${MBOX_KO:-/nonexistent/mbox.ko}")
kunit=$dir/mbox_kunit.ko
results=/sys/kernel/debug/kunit/mbox_queue/results

echo "TAP version 13"
if [ ! -e "$kunit" ]; then
	echo "1..0 # SKIP no mbox_kunit.ko: KUnit runs in the debug lane"
	exit 4
fi
if ! insmod "$kunit"; then
	echo "1..1"
	echo "not ok 1 - insmod $kunit"
	exit 1
fi
# The suite runs at load; its cases are the indented "ok N name" lines.
ktap=$(cat "$results")
rmmod mbox_kunit
cases=$(printf '%s\n' "$ktap" | grep -E '^[[:space:]]+(not )?ok [0-9]+ ')
n=$(printf '%s\n' "$cases" | grep -c .)
echo "1..$n"
i=0
failed=0
printf '%s\n' "$cases" | while read -r first rest; do
	i=$((i + 1))
	if [ "$first" = not ]; then
		echo "not ok $i - kunit ${rest#ok * }"
	else
		echo "ok $i - kunit ${rest#* }"
	fi
done
printf '%s\n' "$ktap" | grep -q -E '^[[:space:]]+not ok' && failed=1
printf '%s\n' "$ktap" | sed 's/^/# /'
[ "$failed" -eq 0 ]
