#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the path of Debian's linux-source-6.1, extracted into the cache and
# keyed by its package version (for checkpatch.pl and the debug kernel).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

version=$(pkg_version linux-source-6.1)
[ -n "$version" ] || die "linux-source-6.1 is not installed; run 'make deps'"
dir=$MBOX_CACHE/src/linux-source-$version
mkdir -p "$MBOX_CACHE/src"
# The static checks and a kernel build may ask at once ('make check'
# builds kernels in the background): one extracts, the other waits.
exec 9> "$MBOX_CACHE/src/.lock"
flock 9
if [ ! -e "$dir/.complete" ]; then
	say "extracting linux-source-6.1 $version"
	rm -rf "$dir" "$dir.partial"
	mkdir -p "$dir.partial"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C "$dir.partial" --strip-components=1
	touch "$dir.partial/.complete"
	mv "$dir.partial" "$dir"
fi
echo "$dir"
