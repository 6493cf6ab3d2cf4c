#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module parameters (good and bad values), unload refused while a mailbox
# is open or an instance of the mbox filesystem exists, and messages kept
# until unload.  Reloads mbox.ko, so it needs
# MBOX_KO (set by the VM harness) and leaves the module loaded with its
# defaults when done.
set -u

ko=${MBOX_KO:-}
n=0
failed=0

echo "TAP version 13"
if [ -z "$ko" ] || [ ! -r "$ko" ]; then
	echo "1..0 # SKIP MBOX_KO does not name a readable mbox.ko"
	exit 4
fi
echo "1..14"

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

reload() {
	rmmod mbox 2>/dev/null
	insmod "$ko" "$@"
}

# A bad value fails the load with EINVAL and a kernel log line naming it.
rejects() {
	param=$1
	shift
	rmmod mbox 2>/dev/null
	dmesg -C
	if insmod "$ko" "$@" 2>/dev/null; then
		rmmod mbox
		return 1
	fi
	[ ! -e /sys/module/mbox ] && dmesg | grep -q "mbox: .*$param"
}

check "nr_mailboxes=0 is rejected" rejects nr_mailboxes nr_mailboxes=0
check "nr_mailboxes=257 is rejected" rejects nr_mailboxes nr_mailboxes=257
check "max_bytes below max_msg_size is rejected" \
	rejects "invalid limits" max_msg_size=4096 max_bytes=4095
check "max_msg_size=0 is rejected" rejects "invalid limits" max_msg_size=0
check "max_urgent above the limit is rejected" \
	rejects "invalid limits" max_urgent=1025

many() {
	reload nr_mailboxes=256 || return 1
	[ -c /dev/mbox255 ] && [ ! -e /dev/mbox256 ] &&
		[ "$(cat /sys/module/mbox/parameters/nr_mailboxes)" = 256 ]
}
check "nr_mailboxes=256 creates /dev/mbox0../dev/mbox255" many

custom() {
	reload nr_mailboxes=2 max_msg_size=100 max_msgs=3 max_bytes=1000 \
		max_urgent=4 || return 1
	[ -c /dev/mbox1 ] && [ ! -e /dev/mbox2 ] &&
		[ "$(cat /sys/class/mbox/mbox1/max_msg_size)" = 100 ] &&
		[ "$(cat /sys/class/mbox/mbox1/max_msgs)" = 3 ] &&
		[ "$(cat /sys/class/mbox/mbox1/max_bytes)" = 1000 ] &&
		[ "$(cat /sys/class/mbox/mbox1/max_urgent)" = 4 ] &&
		[ "$(cat /sys/module/mbox/parameters/max_msgs)" = 3 ]
}
check "parameters set every mailbox's limits" custom

# The limits apply: a 101-byte message is refused, a 100-byte one taken.
limits_apply() {
	head -c 101 /dev/zero > /dev/mbox0 2>/dev/null && return 1
	head -c 100 /dev/zero > /dev/mbox0 &&
		[ "$(cat /sys/class/mbox/mbox0/msgs_queued)" = 1 ]
}
check "max_msg_size from the parameter applies to writes" limits_apply

busy() {
	exec 3</dev/mbox0
	rmmod mbox 2>/dev/null
	rc=$?
	exec 3<&-
	[ $rc -ne 0 ] && [ -e /sys/module/mbox ]
}
check "unload is refused while a mailbox is open" busy

kept() {
	[ "$(cat /sys/class/mbox/mbox0/msgs_queued)" = 1 ]
}
check "messages survive their openers until unload" kept

gone() {
	rmmod mbox && [ ! -e /dev/mbox0 ] && [ ! -e /sys/class/mbox ]
}
check "unload removes the devices and the class" gone

insmod "$ko" || { echo "# could not reload $ko"; failed=$((failed + 1)); }

# An instance's superblock holds the module, also once lazily unmounted.
mnt=$(mktemp -d /tmp/mbox-mnt.XXXXXX)
mounted() {
	mount -t mbox mbox "$mnt" || return 1
	rmmod mbox 2>/dev/null
	rc=$?
	umount "$mnt"
	[ $rc -ne 0 ] && [ -e /sys/module/mbox ]
}
check "unload is refused while an instance is mounted" mounted

lazy() {
	mount -t mbox mbox "$mnt" || return 1
	exec 3<"$mnt/mbox-control"
	umount -l "$mnt"
	rmmod mbox 2>/dev/null
	rc=$?
	exec 3<&-
	[ $rc -ne 0 ] && [ -e /sys/module/mbox ] &&
		! grep -q " $mnt " /proc/self/mountinfo
}
check "unload is refused while a lazily unmounted instance has a file open" lazy

# The close ended the last instance: the module unloads and loads again.
unloads() {
	[ "$(cat /sys/module/mbox/refcnt)" = 0 ] && rmmod mbox &&
		[ ! -e /sys/module/mbox ] && ! grep -qw mbox /proc/filesystems &&
		insmod "$ko" && grep -qw mbox /proc/filesystems
}
check "with no instance left the module unloads, and reloads" unloads
rmdir "$mnt"

# Leave the module as the other tests expect it.
[ -e /sys/module/mbox ] || insmod "$ko" ||
	{ echo "# could not reload $ko"; failed=$((failed + 1)); }

[ "$failed" -eq 0 ]
