#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of 'make check': run every selftest program (or those named
# in $MBOX_TESTS), stream their TAP output, and print one line
#   MBOX-COUNTS <passed> <failed> <skipped>
# counting test cases.  A program that exits non-zero without reporting a
# failed case, or that prints no plan, counts as one failure.
#
# A failure stays where it happened:
#  - each program runs in a cgroup of its own, under a budget
#    (MBOX_PROGRAM_TIMEOUT seconds, times MBOX_TIMEOUT_SCALE); when it ends
#    or overruns, everything left in its cgroup is killed;
#  - before each program (and after the last) the VM must be as the first
#    program found it: the module loaded with the same parameters, no
#    descriptor open, no mbox filesystem instance, every mailbox empty
#    with its default limits and nobody waiting.  If not, the previous program is reported as having
#    left the VM dirty (one failure) and the runner restores that state
#    (reload), so the next program starts clean.
# Each case's and program's time is printed (# MBOX-TIME), so timeouts can
# be sized from measured worst cases.
set -u
cd "$(dirname "$0")/../.." || exit 1

bb=/bin/busybox
scale=${MBOX_TIMEOUT_SCALE:-1}
# The slowest program measured (README, "Timeouts") with a margin.
budget=$($bb awk -v t="${MBOX_PROGRAM_TIMEOUT:-2400}" -v k="$scale" \
	'BEGIN { printf "%d", t * (k >= 1 ? k : 1) }')
cg=/sys/fs/cgroup/mbox-test
out=/tmp/mbox-test.out
rcfile=/tmp/mbox-test.rc
expired=/tmp/mbox-test.expired

pass=0 fail=0 skip=0
programs=${MBOX_TESTS:-}
if [ -z "$programs" ]; then
	programs=$(ls build/selftests/* selftests/*.sh selftests/*.py 2>/dev/null)
fi

uptime_s() { $bb cut -d' ' -f1 /proc/uptime; }

# The state every program must find, as loaded by guest-run.sh.
params() {
	for p in /sys/module/mbox/parameters/*; do
		echo "$($bb basename "$p")=$($bb cat "$p")"
	done 2>/dev/null
}
clean_params=$(params)
param() { $bb cat "/sys/module/mbox/parameters/$1"; }

# Print what differs from the clean state, one line each; nothing if clean.
dirt() {
	if [ ! -e /sys/module/mbox ]; then
		echo "the mbox module is not loaded"
		return
	fi
	[ "$(params)" = "$clean_params" ] || echo "the module has other parameters: $(params | $bb tr '\n' ' ')"
	[ ! -e /sys/module/mbox_kunit ] || echo "mbox_kunit is still loaded"
	refs=$($bb cat /sys/module/mbox/refcnt)
	[ "$refs" = 0 ] || echo "$refs references to the module (open descriptors, instances) remain"
	inst=/sys/class/mbox/instances
	[ ! -e "$inst" ] || [ "$($bb cat "$inst")" = 0 ] ||
		echo "$($bb cat "$inst") mbox filesystem instances remain (mounted, or lazily unmounted with a file open)"
	for d in /sys/class/mbox/mbox*; do
		[ -d "$d" ] || continue
		for a in msgs_queued urgent_queued readers_waiting writers_waiting inflight; do
			v=$($bb cat "$d/$a")
			[ "$v" = 0 ] || echo "$($bb basename "$d"): $a is $v"
		done
		for a in max_msg_size max_msgs max_bytes max_urgent; do
			v=$($bb cat "$d/$a")
			[ "$v" = "$(param $a)" ] || echo "$($bb basename "$d"): $a is $v, not $(param $a)"
		done
	done
}

restore() {
	# Instances left mounted hold the module: detach them (their files
	# went with the program's cgroup).
	$bb awk '$3 == "mbox" { print $2 }' /proc/self/mounts |
		while read -r m; do $bb umount -l "$m"; done
	[ ! -e /sys/module/mbox_kunit ] || $bb rmmod mbox_kunit
	[ ! -e /sys/module/mbox ] || $bb rmmod mbox
	# shellcheck disable=SC2086 # the parameters are separate words
	$bb insmod "$MBOX_KO" $MBOX_PARAMS
}

# After program $1: report and clean up whatever it left.
check_clean() {
	problems=$(dirt)
	[ -n "$problems" ] || return 0
	echo "not ok - $1 left the VM dirty:"
	echo "$problems" | $bb sed 's/^/#   /'
	fail=$((fail + 1))
	restore
	problems=$(dirt)
	if [ -n "$problems" ]; then
		echo "not ok - the VM could not be restored after $1:"
		echo "$problems" | $bb sed 's/^/#   /'
		fail=$((fail + 1))
	else
		echo "# restored: the module reloaded with its parameters"
	fi
}

# Kill whatever is left in the program's cgroup and remove it.
reap_cgroup() {
	[ -d "$cg" ] || return 0
	echo 1 > "$cg/cgroup.kill"
	i=0
	until $bb grep -q '^populated 0' "$cg/cgroup.events"; do
		i=$((i + 1))
		if [ $i -gt 600 ]; then
			echo "not ok - processes of $1 in $cg survived SIGKILL for 60 s:"
			$bb sed 's/^/#   pid /' "$cg/cgroup.procs"
			fail=$((fail + 1))
			return 1
		fi
		$bb sleep 0.1
	done
	$bb rmdir "$cg"
}

# Stream the output, timing each kselftest case between its RUN and its
# verdict lines.
timed() {
	$bb awk -v prog="$1" '
	function up(  t, a) {
		getline t < "/proc/uptime"
		close("/proc/uptime")
		split(t, a, " ")
		return a[1]
	}
	{ print; fflush() }
	/^#  RUN / { start = up(); name = $3 }
	/^(not )?ok [0-9]+ / && start != "" {
		printf "# MBOX-TIME %.1f s case %s %s\n", up() - start, prog, name
		fflush()
		start = ""
	}'
}

prev=
for prog in $programs; do
	# T=name may name a built test or a script under selftests/.
	for p in "$prog" "build/selftests/$prog" "selftests/$prog"; do
		[ -e "$p" ] && prog=$p && break
	done
	[ -z "$prev" ] || check_clean "$prev"
	prev=$prog
	echo "# ---- $prog"
	$bb rm -f "$expired" "$rcfile"
	$bb mkdir -p "$cg" 2>/dev/null
	t0=$(uptime_s)
	(
		# Into the program's own cgroup (0: this process), then the
		# program, line-buffered so each case's lines come (and are
		# timed) as they are printed.
		[ ! -d "$cg" ] || echo 0 > "$cg/cgroup.procs"
		case $prog in
		*.py) python3 "$prog" ;;
		*.sh) sh "$prog" ;;
		*) stdbuf -oL -eL "$prog" ;;
		esac
		echo $? > "$rcfile"
	) 2>&1 < /dev/null | timed "$prog" | tee "$out" &
	stream=$!
	# Until the program ends or overruns its budget; then whatever it
	# left (which may hold the output pipe open) is killed.
	until [ -e "$rcfile" ]; do
		if [ "$($bb awk -v a="$t0" -v b="$(uptime_s)" -v t="$budget" 'BEGIN { print (b - a > t) }')" = 1 ]; then
			echo "$budget" > "$expired"
			break
		fi
		$bb sleep 0.2
	done
	reap_cgroup "$prog"
	wait $stream
	rc=137
	[ ! -s "$rcfile" ] || rc=$($bb cat "$rcfile")
	secs=$($bb awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')
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
	elif [ -e "$expired" ]; then
		echo "# $prog overran its budget of $budget s and was killed: counted as a failure"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ]; then
		echo "# $prog exited $rc without a failed case: counted as a failure"
		f=$((f + 1))
	fi
	skip=$((skip + s))
	fail=$((fail + f))
	echo "# ---- $prog: exit $rc, $((p - s)) passed, $f failed, $s skipped"
	echo "# MBOX-TIME $secs s program $prog"
done
[ -z "$prev" ] || check_clean "$prev"
# A run of nothing is a mistake in what was asked for, never a pass.
if [ -z "$prev" ]; then
	echo "not ok - no test program to run (MBOX_TESTS='${MBOX_TESTS:-}')"
	fail=$((fail + 1))
fi
echo "MBOX-COUNTS $pass $fail $skip"
[ "$fail" -eq 0 ]
