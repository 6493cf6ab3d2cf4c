#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The examples run and say what they should.
set -u
cd "$(dirname "$0")/.."
n=0
failed=0
echo "TAP version 13"
echo "1..1"

out=$(build/examples/oob_abort /dev/mbox0 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
n=$((n + 1))
if [ $rc -eq 0 ] &&
	printf '%s\n' "$out" | grep -q "^client: flushed [1-9][0-9]* pending requests" &&
	printf '%s\n' "$out" | grep -q "^server: urgent 'abort: user cancelled'" &&
	printf '%s\n' "$out" | grep -q "nothing left queued: yes"; then
	echo "ok $n - oob_abort: the server stops at the abort, the backlog is flushed"
else
	echo "not ok $n - oob_abort (exit $rc)"
	failed=1
fi
[ $failed -eq 0 ]
