#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print a directory holding kselftest_harness.h and kselftest.h, extracted
# from Debian's linux-source-6.1 at build time (they are not ours to commit).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

version=$(pkg_version linux-source-6.1)
[ -n "$version" ] || die "linux-source-6.1 is not installed; run 'make deps'"
dir=$MBOX_CACHE/kselftest/$version

if [ ! -e "$dir/kselftest_harness.h" ]; then
	say "extracting the kselftest headers from linux-source-6.1 $version"
	rm -rf "$dir.partial"
	mkdir -p "$dir.partial"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C "$dir.partial" \
		--strip-components=4 --wildcards \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h'
	rm -rf "$dir"
	mv "$dir.partial" "$dir"
fi
echo "$dir"
