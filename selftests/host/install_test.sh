#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# On the host: DKMS builds the module against the installed headers;
# 'make install DESTDIR=...' writes exactly the expected files; a program
# built with pkg-config against that tree runs; 'make uninstall' leaves the
# tree empty; modinfo describes every parameter.  Leaves an installed tree
# in build/destdir for the VM's mbox_install_test.sh.  TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
. selftests/vm/lib.sh
version=$(cat VERSION)
abi=$(headers_abi)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. selftests/lib/tap.sh
plan 8

# DKMS, in trees of its own so the machine's DKMS state is not touched.
pkg=$tmp/pkg
mkdir -p "$pkg" "$tmp/src" "$tmp/dkms"
cp -r Kbuild VERSION dkms.conf kmod uapi "$pkg/"
{
	dkms add "$pkg" --sourcetree "$tmp/src" --dkmstree "$tmp/dkms" &&
	dkms build -m mbox -v "$version" -k "$abi" --sourcetree "$tmp/src" \
		--dkmstree "$tmp/dkms"
} > "$tmp/dkms.log" 2>&1
rc=$?
ko=$(find "$tmp/dkms/mbox/$version/$abi" -name 'mbox.ko*' 2>/dev/null | head -1)
if [ $rc -ne 0 ]; then sed 's/^/# /' "$tmp/dkms.log" | tail -30; fi
[ $rc -eq 0 ] && [ -n "$ko" ] && [ "$(modinfo -F version "$ko")" = "$version" ]
ok $? "dkms add + build mbox/$version for $abi (version read from VERSION)"

# modinfo: every field and every parameter described, with its default.
mi=build/stock/mbox.ko
params=$(modinfo -F parm "$mi")
[ "$(modinfo -F license "$mi")" = GPL ] && [ -n "$(modinfo -F description "$mi")" ] &&
	[ -n "$(modinfo -F author "$mi")" ] && [ "$(modinfo -F version "$mi")" = "$version" ] &&
	[ "$(printf '%s\n' "$params" | grep -c 'default')" -eq 8 ] &&
	(for p in nr_mailboxes max_msg_size max_msgs max_bytes max_urgent \
		max_urgent_bytes user_mailboxes user_bytes; do
		printf '%s\n' "$params" | grep -q "^$p:.*(default [0-9]*)" || exit 1
	done)
ok $? "modinfo shows description, author, license, version and each parameter with its default"

dest=$tmp/dest
# Something of the staging tree's own, which uninstall must leave alone.
mkdir -p "$dest/srv/empty"
make -s install DESTDIR="$dest" > "$tmp/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/install.log" | tail -20
expected="/etc/modprobe.d/mbox.conf
/etc/modules-load.d/mbox.conf
/etc/systemd/system/dev-mbox.mount
/etc/udev/rules.d/60-mbox.rules
/lib/modules/$abi/extra/mbox.ko
/usr/local/bin/mbox
/usr/local/include/linux/mbox.h
/usr/local/include/mbox.h
/usr/local/lib/libmbox.a
/usr/local/lib/libmbox.so
/usr/local/lib/libmbox.so.${version%%.*}
/usr/local/lib/libmbox.so.$version
/usr/local/lib/pkgconfig/libmbox.pc
/usr/local/share/man/man1/mbox.1
/usr/local/share/man/man3/libmbox.3
/usr/local/share/man/man4/mbox.4
/usr/local/share/man/man5/mboxfs.5"
actual=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's/^\.//' | LC_ALL=C sort)
[ "$actual" = "$expected" ] || diff <(echo "$expected") <(echo "$actual") | sed 's/^/# /'
[ $rc -eq 0 ] && [ "$actual" = "$expected" ]
ok $? "make install DESTDIR=... installs exactly the expected files"

cat > "$tmp/prog.c" <<'PROG'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <mbox.h>

int main(void)
{
	int fd = mbox_open("/nonexistent/mbox0", O_RDONLY);

	printf("libmbox %s, open: %d, header %zu bytes\n", mbox_version(), fd,
	       sizeof(struct mbox_msg_header));
	return fd == -ENOENT ? 0 : 1;
}
PROG
out=$(PKG_CONFIG_PATH=$dest/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
	sh -c 'gcc -Wall -Werror -o "$1/prog" "$1/prog.c" $(pkg-config --cflags --libs libmbox)' sh "$tmp" 2>&1 &&
	LD_LIBRARY_PATH=$dest/usr/local/lib "$tmp/prog" 2>&1)
rc=$?
echo "# $out"
[ $rc -eq 0 ] && [ "$out" = "libmbox $version, open: -2, header 72 bytes" ] &&
	[ "$(PKG_CONFIG_PATH=$dest/usr/local/lib/pkgconfig pkg-config --modversion libmbox)" = "$version" ]
ok $? "a program built with pkg-config --cflags --libs libmbox against the installed tree runs"

out=$("$dest/usr/local/bin/mbox" --version) && [ "$out" = "mbox $version" ] &&
	(for m in man1/mbox.1 man3/libmbox.3 man4/mbox.4 man5/mboxfs.5; do
		out=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$dest/usr/local/share/man/$m" 2>&1) &&
			[ -z "$out" ] || { echo "# $m: $out"; exit 1; }
	done)
ok $? "the installed command and man pages work"

# systemd's own check of the installed mount unit: its name matches
# Where=, every key is known (an unknown one is only a warning, so any
# output fails), and Documentation= finds the installed mboxfs(5).
unit=$dest/etc/systemd/system/dev-mbox.mount
out=$(MANPATH=$dest/usr/local/share/man systemd-analyze verify "$unit" 2>&1)
rc=$?
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
[ $rc -eq 0 ] && [ -z "$out" ] && grep -qx 'Where=/dev/mbox' "$unit" && grep -qx 'Type=mbox' "$unit"
ok $? "systemd-analyze verify accepts the installed dev-mbox.mount, which mounts an mbox instance at /dev/mbox"

make -s uninstall DESTDIR="$dest" > "$tmp/uninstall.log" 2>&1
rc=$?
left=$(cd "$dest" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')
[ "$left" = "./srv ./srv/empty " ] || echo "# left: $left"
[ $rc -eq 0 ] && [ "$left" = "./srv ./srv/empty " ]
ok $? "make uninstall DESTDIR=... removes all it installed and nothing else"

# A configuration file the user edited survives a reinstall and an
# uninstall; install-userspace alone installs no module.
conf=$dest/etc/modprobe.d/mbox.conf
mkdir -p "$(dirname "$conf")"
echo 'options mbox nr_mailboxes=8' > "$conf"
make -s install-userspace DESTDIR="$dest" > "$tmp/install2.log" 2>&1 &&
	grep -q "kept $conf (yours)" "$tmp/install2.log" &&
	[ "$(cat "$conf")" = 'options mbox nr_mailboxes=8' ] &&
	[ ! -e "$dest/lib/modules" ] && [ -e "$dest/usr/local/bin/mbox" ] &&
	make -s uninstall DESTDIR="$dest" > "$tmp/uninstall2.log" 2>&1 &&
	grep -q "kept $conf (edited)" "$tmp/uninstall2.log" &&
	[ "$(cd "$dest" && find . -type f)" = ./etc/modprobe.d/mbox.conf ]
ok $? "an edited modprobe.d file is kept by install and uninstall; install-userspace installs no module"

# For the VM's modprobe and udev test.
rm -rf build/destdir
make -s install DESTDIR="$PWD/build/destdir" > /dev/null 2>&1 || failed=1
exit $failed
