#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 'make demo' (in the VM, as root, the module loaded): a named mailbox in
# an instance of the mbox filesystem, used by an unprivileged user; what
# the kernel stamps on each message; an urgent abort of a backlog; and a
# reader killed holding a message it had not acknowledged, which the next
# reader gets.  Every step prints its command and that command's output.
# Nothing is ordered by sleeping: the script waits for counters
# ('mbox info') or a line of output.  selftests/mbox_demo_test.sh checks it.
set -eu
cd "$(dirname "$0")/../.."
PATH=$PWD/build/bin:$PATH
dir=/dev/mbox
reader_out=/tmp/mbox-demo-reader.out
reader=

cleanup() {
	[ -z "$reader" ] || kill -9 "$reader" 2> /dev/null || true
	if grep -q " $dir mbox " /proc/mounts; then umount -l "$dir"; fi
	rmdir "$dir" 2> /dev/null || true
}
trap cleanup EXIT

say() { printf '\n%s\n' "$*"; }
# The command as typed at a prompt that says who runs it, then its output.
as_root() { printf 'root# %s\n' "$1"; sh -c "$1"; }
as_user() {
	printf 'uid%s$ %s\n' "$1" "$2"
	setpriv --reuid="$1" --regid="$1" --clear-groups sh -c "$2"
}
# A command expected to fail: its error is part of the story.
as_user_fails() {
	if as_user "$1" "$2"; then echo "demo: that should have failed" >&2; exit 1; fi
}
# Poll until "$@" succeeds; 60 s means it never will.
wait_until() {
	end=$(($(date +%s) + 60))
	until "$@"; do
		[ "$(date +%s)" -lt $end ] || { echo "demo: gave up waiting for: $*" >&2; exit 1; }
		sleep 0.05
	done
}
# A counter of mailbox $1, as 'mbox info' shows it, reads $3.
field_is() { [ "$(mbox info "$1" | sed -n "s/^$2: //p")" = "$3" ]; }

echo "== mbox demo: mailboxes of whole messages, stamped by the kernel with their sender"

say "1. An instance of the mbox filesystem at $dir.  Members of group 1000 create"
echo "   named mailboxes there; the sticky bit lets each user remove only their own."
as_root "mkdir $dir && mount -t mbox mbox $dir -o mode=1775,gid=1000"
as_root "stat -c '%A %u:%g %n' $dir $dir/*"

say "2. uid 1000 creates a private mailbox (mode 0600: nobody else may open it)."
as_user 1000 'mbox create inbox'
as_user 1001 'mbox ls            # uid 1001 sees it, not its counters'
as_user_fails 1001 'echo "let me in" > /dev/mbox/inbox'

say "3. One write is one message.  The kernel stamps the sender's ids on it:"
echo "   the payload may claim anything, the header cannot lie (pid 0: the"
echo "   sender has exited by the time the message is read)."
as_user 1000 'echo "hello from root, honest" > /dev/mbox/inbox'
as_user 1000 'mbox send inbox "a second message"'
as_root 'mbox recv inbox -n 2'

say "4. An urgent abort: a backlog of five jobs, cancelled at once by an urgent"
echo "   message that flushes them and jumps the queue."
as_user 1000 'seq 5 | mbox send inbox --lines'
as_root 'mbox info inbox | grep -E "^(msgs|urgent)_queued"'
as_user 1000 'mbox urgent inbox --flush "abort: user cancelled"'
as_root 'mbox recv inbox'
as_root 'mbox info inbox | grep -E "^(msgs|urgent)_queued"'

say "5. Acknowledged delivery: a reader in ack mode only leases the message.  It"
echo "   is killed (kill -9) before acknowledging it: the message goes back to the"
echo "   mailbox, and the next reader gets it, marked redelivered."
as_user 1000 'mbox send inbox "job 42: resize the photos"'
printf 'root# %s\n' "python3 selftests/vm/demo-ack-reader.py $dir/inbox --no-ack &"
python3 selftests/vm/demo-ack-reader.py "$dir/inbox" --no-ack > "$reader_out" &
reader=$!
wait_until field_is inbox inflight 1
wait_until grep -q 'not acknowledged yet' "$reader_out"
cat "$reader_out"
as_root 'mbox info inbox | grep -E "^(msgs_queued|inflight)"'
as_root "kill -9 $reader"
wait "$reader" || true
reader=
wait_until field_is inbox inflight 0
as_root 'mbox info inbox | grep -E "^(msgs_queued|inflight)"'
as_root "python3 selftests/vm/demo-ack-reader.py $dir/inbox"
as_root 'mbox info inbox | grep -E "^(msgs_queued|inflight)"'

say "6. rm takes the name at once (descriptors already open keep working until"
echo "   closed); unmounting frees the instance."
as_user 1000 'mbox rm inbox'
as_root 'mbox ls'
as_root "umount $dir && rmdir $dir"
as_root 'cat /sys/class/mbox/instances'

say "== demo done"
