#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# The test VM, stage 2, run by the host's static busybox on the host's /
# (read-only), with the run directory as $1: loads mbox.ko, runs the
# command the host asked for in its directory, unloads the module, scans
# for leaks, then reports the command's exit status, the kernel log and
# the taint flags on the console between markers carrying the run's
# nonce, and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox

run=$1
nonce=$($bb sed -n 's/.*mboxvm\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)

fail() {
	echo "mbox-vm: $*"
	echo "MBOX-EXIT $nonce 125"
	$bb reboot -f
}

$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# cgroup2 lets the test runner kill everything a program left behind.
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
[ -r "$run/cmd" ] || fail "no run spec at $run"
ko=$($bb cat "$run/ko")
params=$($bb cat "$run/params")
# shellcheck disable=SC2086 # params are separate words
$bb insmod "$ko" $params || fail "insmod $ko $params failed"
# The test runner restores exactly this after a program that changed it.
export MBOX_KO="$ko" MBOX_PARAMS="$params" HOME=/root
cwd=$($bb cat "$run/cwd")
cd "$cwd" || fail "no directory $cwd in the guest"

echo "MBOX-START $nonce $($bb cut -d' ' -f1 /proc/uptime)"
if [ -e "$run/interactive" ]; then
	$bb setsid $bb cttyhack /bin/bash -i
	status=$?
else
	/bin/sh "$run/cmd" < /dev/null
	status=$?
fi

# -no-reboot turns the reboot into QEMU's exit; the debug kernel has no
# ACPI to power off with.
# Unloading proves nothing kept a reference; then look for leaks.
if [ -e /sys/module/mbox ] && ! $bb rmmod mbox; then
	echo "mbox-vm: rmmod mbox failed after the command"
	status=126
fi
if [ -e /sys/kernel/debug/kmemleak ]; then
	# Objects younger than ~5 s are never reported: scan, wait, scan.
	echo scan > /sys/kernel/debug/kmemleak
	$bb sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	$bb cat /sys/kernel/debug/kmemleak
fi

echo "MBOX-DMESG-BEGIN $nonce"
$bb dmesg
echo "MBOX-DMESG-END $nonce"
echo "MBOX-TAINT $nonce $($bb cat /proc/sys/kernel/tainted)"
echo "MBOX-EXIT $nonce $status"
$bb reboot -f
