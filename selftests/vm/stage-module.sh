#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Copy the module's sources into a build directory of their own, so the
# stock and debug kernels' builds (out-of-tree builds put their objects next
# to the sources) never clobber each other or the work tree.
#   stage-module.sh DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
mkdir -p "$dir/kmod/kunit" "$dir/uapi/linux"
# cp -p keeps timestamps, so make rebuilds only what changed.
cp -pu "$top/Kbuild" "$top/VERSION" "$dir/"
cp -pu "$top"/kmod/*.c "$top"/kmod/*.h "$dir/kmod/"
cp -pu "$top"/kmod/kunit/*.c "$dir/kmod/kunit/"
cp -pu "$top/uapi/linux/mbox.h" "$dir/uapi/linux/"
# Sources deleted from the tree must not linger in the copy.
for f in "$dir"/kmod/*.c "$dir"/kmod/*.h; do
	[ -e "$top/kmod/$(basename "$f")" ] || rm -f "$f" "${f%.c}.o"
done
