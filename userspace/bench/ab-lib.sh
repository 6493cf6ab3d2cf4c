# SPDX-License-Identifier: GPL-2.0
# Shared by the before/after benchmarks (bench-ab.sh, flush-stall-ab.sh);
# sourced from the top of the checkout, not run.

# ab_modules TOOL REV KDIR OUT: build the module at REV (its Kbuild,
# VERSION, kmod/ and uapi/ only; user space stays the working tree's) into
# OUT/base.ko, copy the working tree's build/stock/mbox.ko to OUT/work.ko,
# and set label_work to name the working tree's module.  TOOL prefixes
# the messages.
ab_modules() {
	local tool=$1 rev=$2 kdir=$3 out=$4 src p dirty=
	local paths=()

	src=$out/base-$(git rev-parse --short "$rev")
	rm -rf "$src"
	mkdir -p "$src"
	for p in Kbuild VERSION kmod uapi; do
		git cat-file -e "$rev:$p" 2> /dev/null && paths+=("$p")
	done
	git archive "$rev" -- "${paths[@]}" | tar -x -C "$src" || return 1
	echo "$tool: building the module at $rev"
	make -s -C "$kdir" M="$PWD/$src" modules > "$src/build.log" 2>&1 ||
		{ cat "$src/build.log" >&2; echo "$tool: the module at $rev does not build" >&2; return 1; }
	cp "$src/mbox.ko" "$out/base.ko"
	cp build/stock/mbox.ko "$out/work.ko"
	git diff --quiet HEAD -- Kbuild VERSION kmod uapi || dirty=" + uncommitted changes"
	# shellcheck disable=SC2034 # read by the caller
	label_work="working tree ($(git rev-parse --short HEAD)$dirty)"
}
