#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 'make demo': two processes exchange messages over /dev/mbox0 with nothing
# but echo, dd and cat.  Each write() is one message; each read() returns
# one whole message; a reader of an empty mailbox waits.
set -e
show() { printf '\n$ %s\n' "$*"; }

echo "== mbox demo: $(ls /dev/mbox* | tr '\n' ' ')"

show 'echo hello > /dev/mbox0; echo world > /dev/mbox0'
echo hello > /dev/mbox0
echo world > /dev/mbox0
echo "queued: $(cat /sys/class/mbox/mbox0/msgs_queued) messages"

show 'dd if=/dev/mbox0 bs=64K count=1 status=none   # one read, one message'
dd if=/dev/mbox0 bs=64K count=1 status=none
show 'dd if=/dev/mbox0 bs=64K count=1 status=none'
dd if=/dev/mbox0 bs=64K count=1 status=none

show 'a reader waits on the empty mailbox while a writer sends three messages'
(
	for i in 1 2 3; do
		dd if=/dev/mbox0 bs=64K count=1 status=none |
			sed "s/^/  the reader got: /"
	done
) &
reader=$!
sleep 1
for i in 1 2 3; do
	echo "request $i from the writer" > /dev/mbox0
	sleep 0.2
done
wait $reader

show 'dd bs=4 on a longer message: EMSGSIZE, and the message stays queued'
echo "too long for 4 bytes" > /dev/mbox0
dd if=/dev/mbox0 bs=4 count=1 status=none 2>&1 | sed 's/^/  /' || true
echo "  still queued: $(cat /sys/class/mbox/mbox0/msgs_queued)"
dd if=/dev/mbox0 bs=64K count=1 status=none | sed 's/^/  then read whole: /'
echo
echo "== demo done"
