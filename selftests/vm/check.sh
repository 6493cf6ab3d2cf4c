#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': static checks and the host tests, then the selftest suite
# in one VM boot per lane: the stock Debian kernel, the debug (sanitizer)
# kernel, which runs all but the user-space-only programs, and the
# data-race (KCSAN) kernel, which runs the racing programs only
# (MBOX_LANES picks lanes, e.g. MBOX_LANES=stock).  Ends with the line
#   N passed, N failed, N skipped
# summing every lane, and fails on any failed case, splat or timeout.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$top" || exit 1

lanes=${MBOX_LANES:-stock debug kcsan}
# The data-race lane runs the programs that make threads and processes race
# on a mailbox (each case of the others runs alone, with nothing to race).
kcsan_tests="mbox_concurrency_test mbox_stress_test mbox_fuzz_test mbox_oob_test
	mbox_poll_test mbox_ack_test mbox_batch_test mbox_fairness_test mbox_named_stress_test"
# Programs that test user space only run in the stock lane: the CLI, the
# demo, the benchmark's output, the examples in other languages and the
# installed tree use no kernel path that the C programs do not run on the debug
# kernel too, and there they took 7 of its 20 minutes.
stock_only_tests='selftests/mbox_cli_test.sh
selftests/mbox_bench_smoke.sh
selftests/mbox_demo_test.sh
selftests/mbox_examples_test.sh
selftests/mbox_install_test.sh'
# Every program, as run-tests.sh lists them when given none.
all_tests() { (cd "$top" && ls build/selftests/* selftests/*.sh selftests/*.py); }
pass=0 fail=0 skip=0

# One case of the harness's own, counted with the lanes' cases.
check_case() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
		pass=$((pass + 1))
	else
		echo "not ok - $name"
		fail=$((fail + 1))
	fi
}
host_case() { check_case "host: $1" "${@:2}"; }

# The two kernels of our own (each built once, then cached) and their
# modules build behind the host checks and the first lanes, at the lowest
# priority so they take only what the VMs leave: the debug kernel while the
# host checks and the stock lane run, the KCSAN kernel while the debug
# lane's guest keeps one core busy and leaves the other idle.  Each lane
# waits for its own.  This keeps a cold 'make check' (every kernel built)
# under 40 minutes on 2 cores (README, "Testing").
# Each build's status goes in a directory of this run's own: the harness's
# host test runs a 'make check-fast' of its own in the same checkout.
mkdir -p "$top/build/check"
built=$(mktemp -d "$top/build/check/.built.XXXXXX") || exit 1
trap 'rm -rf "$built"' EXIT
build_lane() {
	local lane=$1
	shift
	nice -n 19 make -s -C "$top" "$@" > "$top/build/check/$lane-build.log" 2>&1
	echo $? > "$built/$lane"
}
(
	case " $lanes " in *" debug "*) build_lane debug module-debug ;; esac
	case " $lanes " in *" kcsan "*) build_lane kcsan module-kcsan kcsan-race ;; esac
) &
builder=$!
# 0 once the lane's kernel and module are built; on failure, says so.
lane_built() {
	local rc=$built/$1
	while [ ! -e "$rc" ] && kill -0 "$builder" 2> /dev/null; do
		sleep 2
	done
	[ -e "$rc" ] || echo 1 > "$rc"	# the builder died before saying
	[ "$(cat "$rc")" = 0 ] && return 0
	tail -n 20 "$top/build/check/$1-build.log" | sed 's/^/# /'
	echo "not ok - $1 lane: building its kernel or module failed (build/check/$1-build.log)"
	fail=$((fail + 1))
	return 1
}

if [ -z "${MBOX_TESTS:-}" ]; then
	echo "# ==== static checks"
	host_case "checkpatch.pl --strict is clean on kmod/ and uapi/" \
		"$here/static-checks.sh" checkpatch
	host_case "sparse (C=2) is clean" "$here/static-checks.sh" sparse
	host_case "man pages format with no groff warning" make -s man-check
	# The host tests print TAP: count their cases one by one.
	for t in install_test.sh harness_test.sh; do
		out=$("$top/selftests/host/$t" 2>&1)
		printf '%s\n' "$out" | sed 's/^\(ok\|not ok\) [0-9]* - /\1 - host: /'
		pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
		fail=$((fail + $(printf '%s\n' "$out" | grep -c '^not ok ')))
		if ! printf '%s\n' "$out" | grep -q '^1\.\.'; then
			echo "not ok - host: $t printed no plan"
			fail=$((fail + 1))
		fi
	done
fi

# The KCSAN lane's own proof, with one planted race (selftests/vm/sabotage/
# race) built twice: as mbox.ko its report fails the run, naming it; as
# kcsan_race.ko it stands for a race of the core kernel's, which is listed
# and must not end or fail the run.
# 0 if a run that ended with status $3 was to end with $1, and its log $2
# has a line matching $4.
ended_with() { [ "$3" -eq "$1" ] && grep -q "$4" "$2"; }
kcsan_proof() {
	local log=$top/build/check/kcsan-race.log rc
	"$here/run.sh" --lane kcsan --ko "$top/build/kcsan-race/mbox/mbox.ko" -- true > "$log" 2>&1
	rc=$?
	check_case "kcsan lane: a race in the module fails the run (exit $rc)" \
		ended_with 1 "$log" "$rc" '^  KCSAN in mbox: data-race in race_thread \[mbox\]'
	"$here/run.sh" --lane kcsan --ko "$top/build/kcsan-race/kcsan_race/kcsan_race.ko" -- true >> "$log" 2>&1
	rc=$?
	check_case "kcsan lane: a race outside the module is listed, not counted (exit $rc)" \
		ended_with 0 "$log" "$rc" 'KCSAN report outside mbox, not counted: data-race in'
}

for lane in $lanes; do
	echo "# ==== $lane lane"
	[ "$lane" = stock ] || lane_built "$lane" || continue
	[ "$lane" != kcsan ] || [ -n "${MBOX_TESTS:-}" ] || kcsan_proof
	# Kept for reading afterwards (selftests/vm/timings.sh sizes timeouts
	# from them).
	log=$top/build/check/$lane.log
	start=$(date +%s)
	tests=${MBOX_TESTS:-}
	# Empty: run-tests.sh runs every program (the stock lane).
	if [ -z "$tests" ]; then
		case $lane in
		kcsan) tests=$(printf '%s\n' "$kcsan_tests" | tr -s ' \n\t' ' ') ;;
		debug) tests=$(all_tests | grep -v -x -F "$stock_only_tests" | tr '\n' ' ') ;;
		esac
	fi
	# The guest sees only the command line: T= has to travel in it.
	MBOX_CMD="MBOX_TIMEOUT_SCALE='${MBOX_TIMEOUT_SCALE:-1}' MBOX_TESTS='$tests' selftests/vm/run-tests.sh" \
		"$here/run.sh" --lane "$lane" | tee "$log"
	rc=${PIPESTATUS[0]}
	counts=$(sed -n 's/^MBOX-COUNTS //p' "$log" | tail -n 1)
	p=0 f=0 s=0
	if [ -n "$counts" ]; then
		read -r p f s <<< "$counts"
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		echo "# $lane lane: $p passed, $f failed, $s skipped in $(( $(date +%s) - start )) s"
	fi
	# A splat, timeout or lost status fails the lane even if every case passed.
	if [ "$rc" -ne 0 ] && { [ -z "$counts" ] || [ "$f" -eq 0 ]; }; then
		echo "not ok - $lane lane: the VM run failed (exit $rc: splat, timeout or no status)"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
