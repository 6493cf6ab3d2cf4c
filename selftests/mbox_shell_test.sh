#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mailbox from a shell, with busybox's echo, dd and cat only: one echo
# is one message, one dd read is one message, and cat follows the mailbox.
# A named mailbox (made by 'mbox create' in an instance mounted on a
# directory of our own) works the same, and outlives its rm while open.
set -u
bb=/bin/busybox
dev=/dev/mbox3

. "$(dirname "$0")/lib/tap.sh"
plan 8
queued() { $bb cat /sys/class/mbox/mbox3/msgs_queued; }
readone() { $bb dd if=$dev bs=64k count=1 2>/dev/null; }
# Empty the mailbox; sysfs says when (a read of an empty one would block).
drain() { while [ "$(queued)" != 0 ]; do readone > /dev/null; done; }

drain
[ "$(queued)" = 0 ]
ok $? "the mailbox starts empty"

$bb echo hello > $dev
[ "$(readone | $bb od -c | $bb head -1)" = "$(printf 'hello\n' | $bb od -c | $bb head -1)" ]
ok $? "echo hello, then dd reads exactly hello and a newline"

$bb echo one > $dev
$bb echo two > $dev
[ "$(queued)" = 2 ] && [ "$(readone)" = one ] && [ "$(readone)" = two ]
ok $? "two echos are two messages, read in order by two dd's"

$bb echo abcdef > $dev
out=$($bb dd if=$dev bs=2 count=1 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | $bb grep -q "Message too long" && [ "$(queued)" = 1 ] &&
	[ "$(readone)" = abcdef ]
ok $? "dd bs=2 on a 7-byte message fails with EMSGSIZE and the message stays"

# cat reads both messages and is still reading: it waits for a third, as
# sysfs shows, instead of ending at end-of-file.  No step depends on time.
waiting() { $bb cat /sys/class/mbox/mbox3/readers_waiting; }
$bb cat $dev > /tmp/follow.out &
catpid=$!
until [ "$(waiting)" = 1 ]; do $bb sleep 0.05; done
$bb echo first > $dev
$bb echo second > $dev
until [ "$(queued)" = 0 ] && [ "$(waiting)" = 1 ]; do $bb sleep 0.05; done
running=1
kill -0 $catpid 2>/dev/null || running=0
kill $catpid
wait $catpid 2> /dev/null
[ $running = 1 ] && [ "$($bb cat /tmp/follow.out)" = "$(printf 'first\nsecond')" ]
ok $? "cat follows the mailbox and never sees end-of-file"

$bb echo x > $dev
$bb echo y > $dev
[ "$(queued)" = 2 ] && [ "$($bb cat /sys/class/mbox/mbox3/bytes_queued)" = 4 ]
ok $? "sysfs counts the queued messages and bytes"
drain

inst=$($bb mktemp -d)
trap '$bb umount -l "$inst" 2> /dev/null; $bb rmdir "$inst"' EXIT
named=$inst/notes
$bb mount -t mbox mbox "$inst" && build/bin/mbox create "$named" --mode 0600 &&
	$bb echo one > "$named" && $bb echo two > "$named" &&
	[ "$($bb dd if="$named" bs=64k count=1 2>/dev/null)" = one ] &&
	[ "$($bb dd if="$named" bs=64k count=1 2>/dev/null)" = two ] &&
	[ "$($bb stat -c %a "$named")" = 600 ]
ok $? "a named mailbox made by mbox create: echo and dd work as on /dev/mbox3"

# cat follows the mailbox and a writer holds it open (fd 3) across its rm:
# the name goes at once, both ends keep working.
$bb cat "$named" > /tmp/follow-named.out &
catpid=$!
exec 3> "$named"
$bb echo before >&3
$bb rm "$named"
gone=0
[ ! -e "$named" ] && [ "$($bb ls "$inst")" = mbox-control ] && gone=1
$bb echo after >&3
i=0
until [ "$($bb cat /tmp/follow-named.out)" = "$(printf 'before\nafter')" ] || [ $i -ge 1200 ]; do
	$bb sleep 0.05
	i=$((i + 1))
done
exec 3>&-
kill $catpid
wait $catpid 2> /dev/null
[ $gone = 1 ] && [ "$($bb cat /tmp/follow-named.out)" = "$(printf 'before\nafter')" ]
ok $? "rm takes a named mailbox's name at once; open descriptors keep reading and writing it"

[ $failed -eq 0 ]
