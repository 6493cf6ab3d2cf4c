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

# Sort the KCSAN reports in a kernel log (stdin; each report between two
# lines of '=') into "ours TITLE" or "other TITLE", one line each: ours
# when a frame of module $1 is in a racing access's own stack.  The frames
# below an interrupt or exception entry are the interrupted task's, not
# the access's: a timer interrupt that races while mbox code runs is not
# mbox's race.
kcsan_triage() {
	awk -v mod="[$1]" '
	{ sub(/^\[[^]]*\] /, "") }
	/^=+$/ {
		if (title != "")
			printf "%s %s\n", (ours ? "ours" : "other"), title
		title = ""; ours = 0; below = 0
		next
	}
	/BUG: KCSAN:/ { title = $0; sub(/^.*BUG: KCSAN: /, "", title); next }
	/^(read|write|race at unknown origin)/ { below = 0 }
	/^ *asm_(sysvec|common_interrupt|exc)_/ { below = 1 }
	!below && index($0, mod) { ours = 1 }'
}
