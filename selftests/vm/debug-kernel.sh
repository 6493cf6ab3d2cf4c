#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the build directory of the debug kernel (KASAN, KFENCE, UBSAN,
# lockdep, kmemleak, fault injection, KUnit), building it first if needed:
# Debian's linux-source-6.1 with debug.config merged on top of tinyconfig.
# The directory holds arch/x86/boot/bzImage and is a KDIR for building
# mbox.ko.  It is cached by the source version and the hash of debug.config
# and of this script, and is only used once complete.
# Boot it with panic_on_warn=1 and raised hung-task / RCU-stall timeouts
# (run.sh does): emulation is about ten times slower than hardware.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

src=$("$here/linux-source.sh")
version=$(pkg_version linux-source-6.1)
key=$(cat "$here/debug.config" "$0" | sha256sum | cut -c1-12)
dir=$MBOX_CACHE/debug-kernel/$version-$key

if [ ! -e "$dir/.complete" ]; then
	say "building the debug kernel into $dir (about 10 minutes on 2 cores)"
	start=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	log=$dir/build.log
	{
		make -C "$src" O="$dir" tinyconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$dir" \
			"$dir/.config" "$here/debug.config" &&
		make -C "$src" O="$dir" olddefconfig
	} > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring failed"; }

	# Every option asked for must have survived olddefconfig.
	dropped=$(grep -E '^CONFIG_[A-Z0-9_]+=y' "$here/debug.config" |
		while read -r want; do
			grep -qx "$want" "$dir/.config" || echo "${want%=y}"
		done)
	[ -z "$dropped" ] || die "debug.config options dropped by olddefconfig: $dropped"

	make -C "$src" O="$dir" -j"$(nproc)" bzImage modules_prepare >> "$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "the debug kernel build failed (log: $log)"; }
	# Module.symvers lets external modules link against it.
	make -C "$src" O="$dir" -j"$(nproc)" modules >> "$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "the debug kernel modules failed (log: $log)"; }
	touch "$dir/.complete"
	say "debug kernel built in $(( $(date +%s) - start )) s"
fi
echo "$dir"
