#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A mailbox from the shell, with echo, dd and the mbox command only.
#
#   mbox_shell_example.sh [/dev/mboxN]        (default /dev/mbox1)
#
# MBOX names the mbox command if it is not on PATH.
set -eu
dev=${1:-/dev/mbox1}
mbox=${MBOX:-mbox}

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
