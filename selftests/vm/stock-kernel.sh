#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the directory holding Debian's kernel for the stock lane: the
# linux-image package whose version matches the installed headers exactly,
# fetched with apt-get download and unpacked (never installed) into the
# cache.  The directory has boot/vmlinuz-<abi> and lib/modules/<abi>/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

abi=$(headers_abi)
[ -n "$abi" ] || die "linux-headers-amd64 is not installed; run 'make deps'"
version=$(pkg_version "linux-headers-$abi")
dir=$MBOX_CACHE/kernel/$abi-$version

if [ ! -e "$dir/.complete" ]; then
	say "fetching linux-image-$abi $version"
	rm -rf "$dir" "$dir.partial"
	mkdir -p "$dir.partial"
	# A directory apt's sandbox user can write to.
	deb=$(mktemp -d)
	chmod 0755 "$deb"
	trap 'rm -rf "$deb"' EXIT
	(cd "$deb" &&
		{ apt-get download -q "linux-image-$abi=$version" >&2 ||
		  apt-get download -q "linux-image-$abi-unsigned=$version" >&2; })
	dpkg -x "$deb"/*.deb "$dir.partial"
	depmod -b "$dir.partial" "$abi"
	touch "$dir.partial/.complete"
	mv "$dir.partial" "$dir"
fi
echo "$dir"
