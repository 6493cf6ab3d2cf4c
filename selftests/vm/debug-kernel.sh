#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the build directory of a test kernel built from Debian's
# linux-source-6.1, building it first if needed:
#   debug-kernel.sh [debug|kcsan]
#   debug  KASAN, KFENCE, UBSAN, lockdep, kmemleak, fault injection, KUnit
#   kcsan  KCSAN, the data-race detector (it cannot be combined with KASAN)
# tinyconfig, then config/base.config, then config/<flavour>.config.  The
# directory holds arch/x86/boot/bzImage and is a KDIR for building mbox.ko.
# It is cached by the source version and the hash of the fragments and of
# this script, and is only used once complete; a lock lets concurrent
# callers wait for one build instead of destroying each other's.
# Boot it with panic_on_warn=1 and raised hung-task / RCU-stall timeouts
# (run.sh does): emulation is about ten times slower than hardware.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

flavour=${1:-debug}
fragments=("$here/config/base.config" "$here/config/$flavour.config")
[ -r "${fragments[1]}" ] || die "unknown kernel flavour '$flavour': use debug or kcsan"

src=$("$here/linux-source.sh")
version=$(pkg_version linux-source-6.1)
key=$(cat "${fragments[@]}" "$0" | sha256sum | cut -c1-12)
root=$MBOX_CACHE/$flavour-kernel
dir=$root/$version-$key

mkdir -p "$root"
exec 9> "$root/.lock"
flock 9
if [ ! -e "$dir/.complete" ]; then
	say "building the $flavour kernel into $dir (about 10 minutes on 2 cores)"
	start=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	log=$dir/build.log
	{
		make -C "$src" O="$dir" tinyconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$dir" \
			"$dir/.config" "${fragments[@]}" &&
		make -C "$src" O="$dir" olddefconfig
	} > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring failed"; }

	# Every option asked for must have survived olddefconfig.
	dropped=$(cat "${fragments[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=y' |
		while read -r want; do
			grep -qx "$want" "$dir/.config" || echo "${want%=y}"
		done)
	[ -z "$dropped" ] || die "$flavour kernel: options dropped by olddefconfig: $dropped"

	make -C "$src" O="$dir" -j"$(nproc)" bzImage modules_prepare >> "$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "the $flavour kernel build failed (log: $log)"; }
	# Module.symvers lets external modules link against it.
	make -C "$src" O="$dir" -j"$(nproc)" modules >> "$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "the $flavour kernel modules failed (log: $log)"; }
	touch "$dir/.complete"
	say "$flavour kernel built in $(( $(date +%s) - start )) s"
fi
echo "$dir"
