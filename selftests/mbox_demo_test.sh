#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 'make demo' (selftests/vm/demo.sh) runs to its end and tells its story:
# the instance, the private mailbox, the stamped sender, the urgent abort,
# and the message a killed ack-mode reader held going to the next reader.
# In a mount namespace of its own, so a failure leaves nothing mounted.
set -u
cd "$(dirname "$0")/.."
. selftests/lib/tap.sh
out=/tmp/mbox-demo.out
plan 5
has() { grep -q -- "$1" "$out"; }
# Line $2 comes after line $1 (first matches), both present.
after() {
	a=$(grep -n -m1 -- "$1" "$out" | cut -d: -f1)
	b=$(grep -n -m1 -- "$2" "$out" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

unshare -m --propagation private sh selftests/vm/demo.sh > "$out" 2>&1
rc=$?
sed 's/^/# /' "$out"
[ $rc -eq 0 ] && has '^== demo done$' && [ ! -e /dev/mbox ]
ok $? "the demo runs to its end (exit $rc) and cleans up after itself"

has '^drwxrwxr-t 0:1000 /dev/mbox$' &&
	after '^uid1001\$ mbox ls' '^[-c]rw------- \+[^ ]\+ \+[^ ]\+ \+- \+- \+- \+- inbox$' &&
	after '^uid1001\$ echo "let me in"' 'Permission denied$'
ok $? "an instance at /dev/mbox (1775), a private 0600 mailbox of uid 1000, refused to uid 1001"

after '^root# mbox recv inbox -n 2$' '^seq=1 .* uid=1000 gid=1000 opener_uid=1000 opener_gid=1000 flags=- delivery=1 size=24$' &&
	has '^hello from root, honest\\n$'
ok $? "the receiver sees the sender's ids as the kernel stamped them"

has '^msgs_queued: 5$' && has '^urgent message seq 8 sent; flushed 5 messages, 5 bytes$' &&
	has '^seq=8 .* flags=urgent delivery=1 size=21$' && has '^abort: user cancelled$'
ok $? "the urgent abort flushes the backlog of five and is read first"

after 'flags -, delivery 1: job 42: resize the photos$' '^root# kill -9 [0-9]*$' &&
	after '^root# kill -9 [0-9]*$' 'seq 9 from uid 1000, flags redelivered, delivery 2: job 42: resize the photos$' &&
	has '^reader [0-9]*: acknowledged seq 9$' && [ "$(grep -c '^inflight: 1$' "$out")" -eq 1 ]
ok $? "a reader killed holding a lease: the next reader gets the message, redelivered, and acknowledges it"
exit $failed
