#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A mailbox from the shell, with echo, dd and the mbox command only.
#
#   mbox_shell_example.sh [/dev/mboxN]        (default /dev/mbox1)
#   mbox_shell_example.sh --private DIR       (DIR: an mbox instance)
#
# With --private the mailbox is a named one of our own, 0600, made with
# 'mbox create' in the instance DIR and removed with 'mbox rm' at the end
# (see mboxfs(5)).  MBOX names the mbox command if it is not on PATH.
set -eu
mbox=${MBOX:-mbox}
if [ "${1:-}" = --private ]; then
	# mbox create and rm resolve a bare name in $MBOX_DIR.
	export MBOX_DIR="$2"
	name=shell-example-$$
	"$mbox" create "$name" --mode 0600
	trap '"$mbox" rm "$name"' EXIT
	dev=$MBOX_DIR/$name
	echo "created $dev: $(stat -c '%A %U' "$dev")"
else
	dev=${1:-/dev/mbox1}
fi

# One echo is one message; one dd read is one message, however large bs is.
echo "first line" > "$dev"
echo "second line" > "$dev"
echo "dd read: $(dd if="$dev" bs=64k count=1 status=none)"

# The command adds what plain reads cannot: the sender, as the kernel saw it.
"$mbox" send "$dev" "from mbox send"
"$mbox" info "$dev" | grep '^msgs_queued'
"$mbox" recv "$dev" -n 2

# A backlog, aborted at once by an urgent message that jumps the queue.
for i in 1 2 3; do echo "job $i" > "$dev"; done
"$mbox" urgent "$dev" --flush "abort"
echo "after the abort: $(dd if="$dev" bs=64k count=1 status=none)"
"$mbox" info "$dev" | grep '^msgs_queued'
