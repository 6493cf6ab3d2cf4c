#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel-style static checks of the module, with the kernel's own tools:
#   static-checks.sh checkpatch   checkpatch.pl --strict over kmod/ and uapi/
#   static-checks.sh sparse       a C=2 build; any sparse warning fails
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$top"

case ${1:-} in
checkpatch)
	src=$("$here/linux-source.sh")
	out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types -f kmod/*.c kmod/*.h kmod/kunit/*.c uapi/linux/*.h) || {
		printf '%s\n' "$out"
		exit 1
	}
	;;
sparse)
	kdir=${KDIR:-/usr/src/linux-headers-$(headers_abi)}
	dir=$top/build/sparse
	"$here/stage-module.sh" "$dir"
	out=$(make -s -C "$kdir" M="$dir" C=2 W=1 modules 2>&1)
	if printf '%s\n' "$out" | grep -E 'warning|error'; then
		exit 1
	fi
	;;
*)
	echo "usage: $0 checkpatch|sparse" >&2
	exit 2
	;;
esac
