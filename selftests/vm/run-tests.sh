#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make check': run every selftest program (or those named
# in $MBOX_TESTS), stream their TAP output, and print one line
#   MBOX-COUNTS <passed> <failed> <skipped>
# counting test cases.  A program that exits non-zero without reporting a
# failed case, or that prints no plan, counts as one failure.
set -u
cd "$(dirname "$0")/../.."

pass=0 fail=0 skip=0
programs=${MBOX_TESTS:-}
if [ -z "$programs" ]; then
	programs=$(ls build/selftests/* selftests/*.sh selftests/*.py 2>/dev/null)
fi

for prog in $programs; do
	# T=name may name a built test or a script under selftests/.
	for p in "$prog" "build/selftests/$prog" "selftests/$prog"; do
		[ -e "$p" ] && prog=$p && break
	done
	echo "# ---- $prog"
	out=/tmp/mbox-test.out
	case $prog in
	*.py) python3 "$prog" ;;
	*.sh) sh "$prog" ;;
	*) "$prog" ;;
	esac > "$out" 2>&1 &
	pid=$!
	tail -f --pid=$pid "$out" 2>/dev/null
	wait $pid
	rc=$?
	p=$(grep -c -E '^ok [0-9]+' "$out")
	s=$(grep -c -E '^ok [0-9]+.*# SKIP' "$out")
	f=$(grep -c -E '^not ok [0-9]+' "$out")
	pass=$((pass + p - s))
	# A whole program skipped by its plan ("1..0 # SKIP ...").
	if grep -q -E '^1\.\.0 # SKIP' "$out"; then
		s=$((s + 1))
		p=$s
	elif ! grep -q -E '^1\.\.[0-9]+' "$out"; then
		echo "# $prog printed no TAP plan (exit $rc): counted as a failure"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ]; then
		echo "# $prog exited $rc without a failed case: counted as a failure"
		f=$((f + 1))
	fi
	skip=$((skip + s))
	fail=$((fail + f))
	echo "# ---- $prog: exit $rc, $((p - s)) passed, $f failed, $s skipped"
done
echo "MBOX-COUNTS $pass $fail $skip"
[ "$fail" -eq 0 ]
