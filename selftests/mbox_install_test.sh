#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The installed module, as a user's machine would load it: modprobe finds
# it in a module tree made by 'make install' (build/destdir, made on the
# host by selftests/host/install_test.sh) and applies the options of a
# modprobe.d file; the installed mount unit's mount, done by mount(8) as
# systemd would, makes an instance at /dev/mbox owned by group mbox; a
# real systemd-udevd applies the installed udev rule (root:mbox 0660).
# The module is loaded back as it was found.
set -u
cd "$(dirname "$0")/.."
. selftests/lib/tap.sh
if [ ! -d build/destdir ] || [ -z "${MBOX_KO:-}" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no installed tree (build/destdir) or MBOX_KO"
	exit 0
fi
plan 4
param() { cat "/sys/module/mbox/parameters/$1"; }
rel=$(uname -r)
root=/tmp/mbox-root
orig="nr_mailboxes=$(param nr_mailboxes) max_msg_size=$(param max_msg_size) max_msgs=$(param max_msgs) max_bytes=$(param max_bytes) max_urgent=$(param max_urgent)"
udevd=
cleanup() {
	[ -z "$udevd" ] || kill "$udevd" 2> /dev/null
	umount /dev/mbox 2> /dev/null
	rmdir /dev/mbox 2> /dev/null
	umount /etc/group 2> /dev/null
	[ -e /sys/module/mbox ] && rmmod mbox
	# shellcheck disable=SC2086 # separate words
	insmod "$MBOX_KO" $orig
}
trap cleanup EXIT

# The installed tree is read-only here; depmod needs a copy it can write.
rm -rf "$root"
cp -a build/destdir "$root"
# The installed module is built for Debian's kernel; on the debug kernel
# the module under test takes its place in the installed layout.
installed=$root/lib/modules/$rel/extra/mbox.ko
if [ ! -e "$installed" ]; then
	mkdir -p "$root/lib/modules/$rel/extra"
	mv "$root"/lib/modules/*/extra/mbox.ko "$installed"
fi
if [ "$(modinfo -F vermagic "$installed" | cut -d' ' -f1)" != "$rel" ]; then
	echo "# the installed mbox.ko is not for $rel: using $MBOX_KO in its place"
	cp "$MBOX_KO" "$installed"
fi
mkdir -p "$root/etc/modprobe.d.test"
printf 'options mbox nr_mailboxes=3 max_urgent=5\n' > "$root/etc/modprobe.d.test/mbox.conf"
rmmod mbox
depmod -b "$root" "$rel" 2> /dev/null
plan=$(modprobe -d "$root" -C "$root/etc/modprobe.d.test" --show-depends mbox)
echo "# modprobe --show-depends: $plan"
[ "$plan" = "insmod $root/lib/modules/$rel/extra/mbox.ko nr_mailboxes=3 max_urgent=5 " ] &&
	modprobe -d "$root" -C "$root/etc/modprobe.d.test" mbox &&
	[ "$(param nr_mailboxes)" = 3 ] && [ "$(param max_urgent)" = 5 ] &&
	[ -c /dev/mbox2 ] && [ ! -e /dev/mbox3 ]
ok $? "modprobe loads the installed module with the options of a modprobe.d file"

# The installed modprobe.d example is all comments: it changes nothing.
rmmod mbox
modprobe -d "$root" -C "$root/etc/modprobe.d" mbox && [ "$(param nr_mailboxes)" = 4 ] &&
	! grep -qv '^#' "$root/etc/modprobe.d/mbox.conf"
ok $? "the installed modprobe.d example loads the defaults until edited"

# A group 'mbox', as 'make install' makes it, in a private copy of
# /etc/group (the host's is read-only here).
grep -v '^mbox:' /etc/group > /tmp/group
echo 'mbox:x:975:' >> /tmp/group
mount --bind /tmp/group /etc/group

# The mount unit: mount(8) with its What=, Where=, Type= and Options=, as
# systemd runs it (no systemd as PID 1 here); the group's name must
# become its gid and every option must be one the kernel takes.
unit=$root/etc/systemd/system/dev-mbox.mount
key() { sed -n "s/^$1=//p" "$unit"; }
where=$(key Where)
echo "# mount -t $(key Type) $(key What) $where -o $(key Options)"
mkdir "$where" && mount -t "$(key Type)" "$(key What)" "$where" -o "$(key Options)" &&
	perms=$(stat -c '%a %U:%G' "$where") && echo "# $where: $perms" &&
	[ "$perms" = "1775 root:mbox" ] && [ -c "$where/mbox-control" ] &&
	grep -q " $where rw,nosuid,noexec[, ].* - mbox mbox rw,mode=1775,gid=975$" /proc/self/mountinfo &&
	umount "$where" && rmdir "$where"
ok $? "the installed dev-mbox.mount's options mount an instance at /dev/mbox: 1775 root:mbox"

# udev: the installed rule, the group 'mbox' above, a real udevd.
if [ ! -d /proc/sys/fs/inotify ]; then
	echo "ok 4 # SKIP udevd needs inotify, which this kernel lacks (CONFIG_INOTIFY_USER)"
	exit $failed
fi
mkdir -p /run/udev/rules.d
cp "$root/etc/udev/rules.d/60-mbox.rules" /run/udev/rules.d/
chmod 0600 /dev/mbox0 /dev/mbox1
/lib/systemd/systemd-udevd > /tmp/udevd.log 2>&1 &
udevd=$!
# Events sent before udevd listens would be lost: wait until it answers.
i=0
until udevadm control --ping 2> /dev/null || [ $i -ge $((wait_limit * 5)) ]; do
	sleep 0.2
	i=$((i + 1))
done
udevadm trigger --action=add --subsystem-match=mbox &&
	udevadm settle -t "$wait_limit" &&
	perms=$(stat -c '%a %U:%G' /dev/mbox0 /dev/mbox3 | sort -u) &&
	echo "# /dev/mbox*: $perms" && [ "$perms" = "660 root:mbox" ]
rc=$?
[ $rc -eq 0 ] || sed 's/^/# udevd: /' /tmp/udevd.log | tail -20
ok $rc "systemd-udevd applies the installed rule: /dev/mboxN root:mbox 0660"
exit $failed
