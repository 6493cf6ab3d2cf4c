#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the path of Debian's linux-source-6.1, extracted into the cache and
# keyed by its package version:
#   $MBOX_CACHE/src/linux-source-<version>     e.g. linux-source-6.1.192-2
# (for checkpatch.pl, kselftest_harness.h, the KUnit headers and the debug
# kernel, which builds out of tree with O= so this tree stays pristine).
# Installs linux-source-6.1 with apt-get if it is missing.  The tarball is
# extracted into a temporary directory that is renamed into place only once
# complete, so an interrupted extraction is never used.  Messages go to
# stderr; only the path goes to stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz

version=$(pkg_version "$pkg")
if [ -z "$version" ] || [ ! -r "$tarball" ]; then
	[ "$(id -u)" -eq 0 ] || die "$pkg is not installed; run 'sudo make deps'"
	say "installing $pkg"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet.
	{ apt-get install -y -qq --no-install-recommends "$pkg" ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "$pkg"; }
	} >&2 || die "apt-get install $pkg failed"
	version=$(pkg_version "$pkg")
	[ -n "$version" ] && [ -r "$tarball" ] || die "$pkg installed no $tarball"
fi

top=$MBOX_CACHE/src
dir=$top/linux-source-$version
# A tree is complete once renamed into place; .complete also marks it, for
# trees extracted before the rename scheme.
if [ ! -e "$dir/.complete" ]; then
	say "extracting $pkg $version into $dir (about 10 s)"
	mkdir -p "$top"
	# Leftovers of interrupted extractions (an hour old: not a live one).
	find "$top" -maxdepth 1 -name 'linux-source-*.partial.*' -mmin +60 \
		-exec rm -rf {} + 2>/dev/null || true
	# A private temporary directory: concurrent callers do not collide, and
	# leftovers of interrupted runs (*.partial.*) are never looked at.
	tmp=$(mktemp -d "$dir.partial.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xf "$tarball" -C "$tmp" --strip-components=1 ||
		die "extracting $tarball failed"
	[ -e "$tmp/Makefile" ] && [ -e "$tmp/scripts/checkpatch.pl" ] ||
		die "$tarball holds no kernel tree"
	touch "$tmp/.complete"
	# An incomplete tree of an older scheme is in the way: drop it.
	[ ! -e "$dir" ] || [ -e "$dir/.complete" ] || rm -rf "$dir"
	# mv -T fails rather than nest if another caller won the race.
	if mv -T "$tmp" "$dir" 2>/dev/null; then
		trap - EXIT
	elif [ ! -e "$dir/.complete" ]; then
		die "cannot move $tmp to $dir"
	fi
fi
echo "$dir"
