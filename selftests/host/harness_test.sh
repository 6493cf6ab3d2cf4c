#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# On the host: the VM harness itself, on the stock kernel.
#  - A checkout and a cache under /tmp, in a path with spaces, a comma and
#    a quote, build the module and run selftests in the VM (the guest's
#    /tmp is its own).
#  - A path the VM cannot share is refused before booting, naming it.
#  - A stage 2 that cannot run is reported with exit 125, not a panic.
#  - A run given no test program fails.
#  - KCSAN reports are sorted into the module's and the core kernel's.
#  - A hung program, a program killed after dirtying the mailboxes and one
#    that unloads the module each fail alone: the runner kills what they
#    left, reports them, restores the module, and the program after each
#    passes in full.
#  - The counts line is the last line 'make check' prints, also when it
#    fails (make's own "*** Error" line must not follow it).
# Needs the stock lane built (make all).  TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. selftests/vm/lib.sh
. selftests/lib/tap.sh
plan 7

tmp=$(mktemp -d "/tmp/mbox harness, it's.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
tap_on_fail() { tail -n 40 "$log" | sed 's/^/# /'; }

MBOX_CACHE=$'/tmp/a\nb' selftests/vm/run.sh --lane stock -- true > "$log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "has a newline or tab in its name, which the VM cannot share: move it" "$log" &&
	! grep -q booting "$log"
ok $? "a directory the VM cannot share is refused before booting, with the fix"

MBOX_VM_STAGE2=/nonexistent selftests/vm/run.sh --lane stock -- true > "$log" 2>&1
rc=$?
[ $rc -eq 125 ] && grep -q 'stage 2 (/nonexistent) is not readable in the guest' "$log" &&
	! grep -q 'Kernel panic' "$log"
ok $? "a stage 2 that cannot run is reported (exit 125), not a kernel panic"

# KCSAN reports taken from real runs (selftests/host/kcsan-logs/): the
# planted race as mbox.ko is ours; as kcsan_race.ko it is not; and a timer
# interrupt racing with another CPU's while mbox code ran (the interrupted
# frames below asm_sysvec_*) is not ours either.
verdicts=$(for f in planted-in-mbox planted-outside irq-over-mbox; do
	printf '%s: %s\n' "$f" "$(kcsan_triage mbox < "selftests/host/kcsan-logs/$f.log")"
done)
[ "$verdicts" = "planted-in-mbox: ours data-race in race_thread [mbox] / race_thread [mbox]
planted-outside: other data-race in kthread / kthread
irq-over-mbox: other data-race in __hrtimer_run_queues / hrtimer_active" ]
rc=$?
[ $rc -eq 0 ] || printf '%s\n' "$verdicts" | sed 's/^/# /'
ok $rc "KCSAN reports are ours only with a module frame in a racing access's own stack"

# A list of programs that names none (as a blank T= or a bug in check.sh
# would give) must fail, not pass with no case run.
MBOX_CMD="MBOX_TESTS=' ' selftests/vm/run-tests.sh" selftests/vm/run.sh --lane stock > "$log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "^not ok - no test program to run (MBOX_TESTS=' ')" "$log" &&
	grep -q '^MBOX-COUNTS 0 1 0$' "$log"
ok $? "a run with no test program fails (exit $rc)"

# One boot from a copy of the checkout and a cache under /tmp (the
# guest's /tmp is its own), reusing the cache's kernels and initramfs
# (linked).  The hung program gets 60 s (times MBOX_TIMEOUT_SCALE); the
# shell test after each sabotage takes about 4 s in the VM.
kernel=$(selftests/vm/stock-kernel.sh) || exit 1
initrd=$(selftests/vm/initramfs.sh "$kernel" "$(headers_abi)") || exit 1
mkdir -p "$tmp/cache" "$tmp/co/build"
ln -s "$(dirname "$kernel")" "$tmp/cache/kernel"
ln -s "$(dirname "$initrd")" "$tmp/cache/initramfs"
git ls-files -z | xargs -0 cp --parents -t "$tmp/co"
cp -r build/bin build/lib "$tmp/co/build/"
# The module is built there too: kbuild cannot take a path with spaces, so
# the Makefile builds it through a link from the (default) cache.
make -s -C "$tmp/co" module > "$log" 2>&1 ||
	{ sed 's/^/# /' "$log" | tail -20; }
innocent=selftests/mbox_shell_test.sh
sab=selftests/vm/sabotage
(
	cd "$tmp/co" &&
	MBOX_CACHE="$tmp/cache" \
	MBOX_CMD="MBOX_TIMEOUT_SCALE=${MBOX_TIMEOUT_SCALE:-1} MBOX_PROGRAM_TIMEOUT=60 MBOX_TESTS='$innocent $sab/hang.sh $innocent $sab/kill.sh $innocent $sab/unload.sh $innocent' selftests/vm/run-tests.sh" \
		selftests/vm/run.sh --lane stock
) > "$log" 2>&1
rc=$?
[ "$(grep -c "^# ---- $innocent: exit 0, 8 passed, 0 failed, 0 skipped" "$log")" -eq 4 ]
ok $? "a checkout and cache under /tmp, with spaces, a comma and a quote in the path, build the module and run in the VM"

[ $rc -eq 1 ] &&
	grep -q "^# $sab/hang.sh overran its budget of [0-9]* s and was killed" "$log" &&
	grep -q "^# ---- $sab/hang.sh: exit [0-9]*, 1 passed, 1 failed, 0 skipped" "$log" &&
	grep -q "^not ok - $sab/hang.sh left the VM dirty:" "$log" &&
	grep -q "^#   mbox3: msgs_queued is 1" "$log" &&
	grep -q "^# ---- $sab/kill.sh: exit 137, 0 passed, 1 failed, 0 skipped" "$log" &&
	grep -q "^not ok - $sab/kill.sh left the VM dirty:" "$log" &&
	grep -q "^#   mbox1: max_msgs is 7, not " "$log" &&
	grep -q "^#   mbox1: msgs_queued is 2" "$log" &&
	grep -q "^not ok - $sab/unload.sh left the VM dirty:" "$log" &&
	grep -q "^#   the mbox module is not loaded" "$log" &&
	[ "$(grep -c '^# restored: the module reloaded with its parameters' "$log")" -eq 3 ] &&
	grep -q '^MBOX-COUNTS 33 6 0$' "$log"
ok $? "a hung, a killed and an unloading program each fail alone; the next one passes in full"

# A failing run: the sabotage program that dies, in the stock lane only.
make -s check-fast T=selftests/vm/sabotage/unload.sh > "$log" 2>&1
rc=$?
[ $rc -ne 0 ] && tail -n 1 "$log" | grep -qx '[0-9]* passed, [1-9][0-9]* failed, [0-9]* skipped'
ok $? "a failed 'make check' ends with the counts line (exit $rc)"

exit $failed
