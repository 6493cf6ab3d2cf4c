#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the build directory of the debug kernel (KASAN, KFENCE, UBSAN,
# lockdep, kmemleak, debug objects, fault injection, KUnit), building it
# first if needed: Debian's linux-source-6.1 (linux-source.sh) with
# debug.config merged on top of tinyconfig, built out of tree (O=) so the
# source stays pristine.  The directory holds arch/x86/boot/bzImage,
# vmlinux (for symbolizing) and Module.symvers, and is a KDIR for external
# modules:  make -C "$(debug-kernel.sh)" M=$PWD modules
#
#   debug-kernel.sh            the directory, on stdout (messages on stderr)
#   debug-kernel.sh --cmdline  the recommended boot arguments, on stdout
#
# Cached as $MBOX_CACHE/debug-kernel/<source version>-<key>, the key being
# a hash of debug.config, of the build recipe below (the functions, not
# these comments) and of the compiler version: a change to any of them
# builds anew, nothing else does.  A directory is used only once its
# .complete stamp, written last, exists; concurrent callers wait for one
# build.  The log is build.log in the directory; a failure prints its tail.
# About 10 minutes on 2 cores.
#
# Recommended boot arguments (--cmdline), for QEMU under TCG, which runs
# about ten times slower than hardware:
#   console=ttyS0 panic=-1   log on the serial port; a panic reboots, and
#                            QEMU's -no-reboot turns that into its exit
#   panic_on_warn=1          any WARN, and any KASAN/KFENCE/UBSAN report
#                            (they honour it), stops the run at the splat
#   sysctl.kernel.hung_task_timeout_secs=600
#                            hung tasks: 120 s by default, 10x for TCG
#   rcupdate.rcu_cpu_stall_timeout=300
#                            RCU stalls: 21 s by default; 300 is the most
#                            the kernel accepts
#   watchdog_thresh=60       soft lockups after 120 s instead of 20 s (the
#                            vCPU threads can be starved by the host)
# kmemleak=on is not needed (it is on by default here) but harmless;
# kasan.fault=panic adds nothing to panic_on_warn=1.  'quiet' halves the
# console output (and a little boot time); the whole log stays in dmesg.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmdline="console=ttyS0 panic=-1 panic_on_warn=1"
cmdline+=" sysctl.kernel.hung_task_timeout_secs=600"
cmdline+=" rcupdate.rcu_cpu_stall_timeout=300 watchdog_thresh=60"
if [ "${1:-}" = --cmdline ]; then
	echo "$cmdline"
	exit 0
fi

# ---- The build recipe: these functions are part of the cache key.

# tinyconfig, debug.config on top, then olddefconfig for the rest.
kernel_configure() {
	make -C "$src" O="$dir" tinyconfig &&
	"$src/scripts/kconfig/merge_config.sh" -m -O "$dir" \
		"$dir/.config" "$here/debug.config" &&
	make -C "$src" O="$dir" olddefconfig
}

# Every value debug.config sets must be in the final .config: Kconfig drops
# an option whose dependencies are not met without a word.  Prints the
# options that differ, one a line, with what was asked and what came out.
kernel_config_dropped() {
	local line opt want got
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} want=${line#*=} ;;
		"# CONFIG_"*" is not set") opt=${line#\# } opt=${opt%% *} want=n ;;
		*) continue ;;
		esac
		got=$(sed -n "s/^$opt=//p; s/^# $opt is not set\$/n/p" "$dir/.config")
		got=${got:-n}
		[ "$got" = "$want" ] || echo "$opt (asked $want, got $got)"
	done < "$here/debug.config"
}

# bzImage and the modules step: modpost writes Module.symvers (the
# exported symbols external modules link against); modules_prepare leaves
# scripts/ and include/generated/ ready for M= builds.
kernel_build() {
	make -C "$src" O="$dir" -j"$(nproc)" bzImage modules_prepare modules
}

# Proves the directory works as a KDIR before it is marked complete.
kernel_check_kdir() {
	local m
	m=$(mktemp -d)
	cat > "$m/kdir_check.c" <<-'EOF'
	#include <linux/module.h>
	static int __init kdir_check_init(void) { return 0; }
	static void __exit kdir_check_exit(void) { }
	module_init(kdir_check_init);
	module_exit(kdir_check_exit);
	MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := kdir_check.o' > "$m/Kbuild"
	make -C "$dir" M="$m" modules && [ -e "$m/kdir_check.ko" ]
	local rc=$?
	rm -rf "$m"
	return $rc
}

# ---- End of the recipe.

src=$("$here/linux-source.sh")
version=$(basename "$src")
version=${version#linux-source-}
key=$( {
	cat "$here/debug.config"
	declare -f kernel_configure kernel_config_dropped kernel_build kernel_check_kdir
	gcc --version | head -n 1
} | sha256sum | cut -c1-12)
top=$MBOX_CACHE/debug-kernel
dir=$top/$version-$key

build() {
	local log=$dir/build.log start dropped
	say "building the debug kernel into $dir (about 10 minutes on 2 cores; log: $log)"
	start=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"

	kernel_configure > "$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; die "configuring the debug kernel failed (log: $log)"; }
	dropped=$(kernel_config_dropped)
	if [ -n "$dropped" ]; then
		say "these debug.config options did not survive olddefconfig" \
			"(a missing dependency?):"
		printf '%s\n' "$dropped" | sed 's/^/  /' >&2
		die "debug.config asks for options the kernel does not take"
	fi

	kernel_build >> "$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "the debug kernel build failed (log: $log)"; }
	local f
	for f in arch/x86/boot/bzImage vmlinux Module.symvers scripts/mod/modpost; do
		[ -e "$dir/$f" ] || die "the debug kernel build made no $f (log: $log)"
	done
	kernel_check_kdir >> "$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "an external module does not build against $dir (log: $log)"; }

	touch "$dir/.complete"
	local secs=$(( $(date +%s) - start ))
	say "debug kernel built in $((secs / 60)) min $((secs % 60)) s"
	say "boot it with: $cmdline"
}

if [ ! -e "$dir/.complete" ]; then
	mkdir -p "$top"
	# One build per key at a time; whoever waited finds it complete.
	exec 9> "$dir.lock"
	if ! flock -n 9; then
		say "waiting for another build of $dir"
		flock 9
	fi
	[ -e "$dir/.complete" ] || build
	exec 9>&-
fi
echo "$dir"
