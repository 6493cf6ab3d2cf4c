#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the path of the test VM's initramfs for a kernel: static busybox,
# /init, and (for Debian's stock kernel) its virtio and 9p modules in
# dependency order.  Cached by the hash of everything that goes into it.
#   initramfs.sh <kernel-root-dir-with-lib/modules-or-empty> <abi-or-empty>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

root=${1:-}
abi=${2:-}
busybox=/bin/busybox
[ -x "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' ||
	die "$busybox is not a static busybox; run 'make deps' (busybox-static)"

modules=()
if [ -n "$root" ] && [ -d "$root/lib/modules/$abi" ]; then
	# modprobe resolves the order from the image's own modules.dep.
	# Lines are "insmod PATH " (the cache's path may hold spaces).
	while IFS= read -r line; do
		path=${line#insmod }
		path=${path% }
		case " ${modules[*]:-} " in *" $path "*) ;; *) modules+=("$path") ;; esac
	done < <(for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -d "$root" -S "$abi" --show-depends "$m"
	done)
fi

key=$( { sha256sum "$here/init" "$busybox"; printf '%s\n' "${modules[@]:-}"; } |
	sha256sum | cut -c1-16)
out=$MBOX_CACHE/initramfs/$key.cpio.gz
if [ ! -e "$out" ]; then
	say "building the initramfs ($key)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp"/{bin,dev,proc,sys,modules}
	cp "$busybox" "$tmp/bin/busybox"
	cp "$here/init" "$tmp/init"
	chmod 0755 "$tmp/init"
	: > "$tmp/modules.list"
	for path in "${modules[@]:-}"; do
		[ -n "$path" ] || continue
		cp "$path" "$tmp/modules/"
		basename "$path" >> "$tmp/modules.list"
	done
	mkdir -p "$(dirname "$out")"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.partial"
	mv "$out.partial" "$out"
fi
echo "$out"
