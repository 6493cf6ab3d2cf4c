# SPDX-License-Identifier: GPL-2.0
# Shared settings of the VM harness scripts; sourced, not run.

MBOX_CACHE=${MBOX_CACHE:-$HOME/.cache/mbox}
export MBOX_CACHE

# Messages go to stderr: stdout carries results (paths, test output).
say() { printf 'mbox-vm: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The kernel ABI of the installed Debian headers, e.g. 6.1.0-56-amd64: the
# guest kernel must be exactly the one the module is built against.
headers_abi() {
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p'
}

# Version of an installed package, empty if it is not installed.
pkg_version() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
		sed -n 's/^install ok installed //p'
}
