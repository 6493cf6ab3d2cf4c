#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, with apt-get, the Debian packages the build and the VM need that
# are missing.  With --build, only those that building and installing the
# module and user space need (make, make install); with --check, only
# report whether anything is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build_packages=(build-essential pkg-config kmod libkmod-dev linux-headers-amd64)
packages=(
	"${build_packages[@]}"
	gcc-multilib bc flex bison libelf-dev libssl-dev dwarves liburing-dev sparse
	linux-source-6.1
	qemu-system-x86 busybox-static cpio xz-utils python3 coreutils
	groff-base dkms udev
	# make bench: the reference tools it runs and the chart it draws
	linux-perf rt-tests gnuplot-nox
)
if [ "${1:-}" = --build ]; then
	packages=("${build_packages[@]}")
	shift
fi

missing=()
for p in "${packages[@]}"; do
	[ -n "$(pkg_version "$p")" ] || missing+=("$p")
done

if [ "${1:-}" = --check ]; then
	[ ${#missing[@]} -eq 0 ]
	exit
fi
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run 'sudo make deps'"
say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
