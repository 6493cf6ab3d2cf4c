#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every example in userspace/examples runs and says what it should.
set -u
cd "$(dirname "$0")/.."
out=/tmp/mbox-example.out
. selftests/lib/tap.sh
plan 7
show() { sed 's/^/# /' "$out"; }
has() { grep -q -- "$1" "$out"; }
flush() { build/bin/mbox flush "$1" > /dev/null; }

build/examples/oob_abort /dev/mbox0 > "$out" 2>&1
rc=$?
show
[ $rc -eq 0 ] && has "^client: flushed [1-9][0-9]* pending requests" &&
	has "^server: urgent 'abort: user cancelled'" && has "nothing left queued: yes"
ok $? "oob_abort: the server stops at the abort, the backlog is flushed"

# rpc: one server, two clients with reply mailboxes of their own.
flush 0
flush 1
flush 2
build/examples/rpc_server /dev/mbox0 > /tmp/rpc_server.out 2>&1 &
server=$!
{
	build/examples/rpc_client 0 1 upper hello mailbox &&
	build/examples/rpc_client 0 1 add 2 3 37 &&
	build/examples/rpc_client 0 1 whoami
	echo "exit $?"
	build/examples/rpc_client 0 1 frobnicate
	echo "exit $?"
} > "$out" 2>&1 &
client1=$!
build/examples/rpc_client 0 2 upper from client two > /tmp/rpc_client2.out 2>&1
rc2=$?
wait $client1
cat /tmp/rpc_client2.out >> "$out"
build/examples/rpc_client 0 1 quit >> "$out" 2>&1
rcq=$?
wait $server
rcs=$?
cat /tmp/rpc_server.out >> "$out"
show
[ $rc2 -eq 0 ] && [ $rcq -eq 0 ] && [ $rcs -eq 0 ] &&
	has "^ok HELLO MAILBOX (answered by pid $server)" && has "^ok 42 (answered" &&
	has "^ok uid 0 gid 0 pid [1-9][0-9]* (answered" && has "^exit 0" &&
	has "^error unknown verb 'frobnicate'" && has "^exit 1" &&
	has "^ok FROM CLIENT TWO" && has "^ok bye" && has "^rpc_server: served 6 requests"
ok $? "rpc_server and two rpc_clients: answers routed to each client's mailbox, whoami from the kernel's stamp"

# quit from another uid is refused: the server checks the stamped uid.
# The nodes are root-only; let uid 65534 in for this case only.
build/examples/rpc_server /dev/mbox0 > /dev/null 2>&1 &
server=$!
chmod 0666 /dev/mbox0 /dev/mbox1
python3 -c '
import os, sys
os.setgid(65534); os.setuid(65534)
os.execv("build/examples/rpc_client", ["rpc_client", "0", "1", "quit"])' > "$out" 2>&1
rcn=$?
chmod 0600 /dev/mbox0 /dev/mbox1
build/examples/rpc_client 0 1 quit >> "$out" 2>&1
wait $server
rcs=$?
show
[ $rcn -eq 1 ] && has "^error not allowed for uid 65534" && [ $rcs -eq 0 ]
ok $? "rpc_server refuses quit from another uid, whatever the request says"

flush 1
python3 userspace/examples/mbox_example.py /dev/mbox1 > "$out" 2>&1
rc=$?
show
[ $rc -eq 0 ] && [ "$(grep -c '^EPOLLPRI' "$out")" -eq 1 ] &&
	[ "$(sed -n 2p "$out")" = "EPOLLPRI: an urgent message is waiting" ] &&
	sed -n 3p "$out" | grep -q "^seq [0-9]* from the child (uid 0, gid 0) flags urgent: cancel$" &&
	sed -n 4p "$out" | grep -q "^seq [0-9]* from the child (uid 0, gid 0) flags -: job 1$" &&
	sed -n 6p "$out" | grep -q "flags -: job 3$" && has "^mailbox empty: done"
ok $? "mbox_example.py: EPOLLPRI, the urgent message first, the sender as the kernel stamped it"

# --private: a 0600 named mailbox in an instance of our own (a private
# mount namespace, so nothing is left mounted if this dies), removed once
# both ends have it open.
inst=$(mktemp -d)
unshare -m --propagation private sh -c '
	mount -t mbox mbox "$1" || exit 100
	python3 userspace/examples/mbox_example.py --private "$1"
	rc=$?
	echo "left in the instance: $(ls -A "$1" | tr "\n" " ")"
	exit $rc' sh "$inst" > "$out" 2>&1
rc=$?
rmdir "$inst"
show
[ $rc -eq 0 ] && has "^created $inst/example-[0-9]*, mode 0600, owner uid 0$" &&
	has "^removed $inst/example-[0-9]*; the open descriptors still work$" &&
	[ "$(grep -c '^EPOLLPRI' "$out")" -eq 1 ] &&
	grep -A1 '^EPOLLPRI' "$out" | grep -q "from the child (uid 0, gid 0) flags urgent: cancel$" &&
	has "flags -: job 3$" && has "^mailbox empty: done" &&
	has "^left in the instance: mbox-control $"
ok $? "mbox_example.py --private: a 0600 named mailbox created through mbox-control, used, removed"

flush 1
MBOX=build/bin/mbox sh userspace/examples/mbox_shell_example.sh /dev/mbox1 > "$out" 2>&1
rc=$?
show
[ $rc -eq 0 ] && has "^dd read: first line$" && has "^msgs_queued: 2$" &&
	has "^second line\\\\n$" && has "^from mbox send$" && has "^seq=.* flags=- delivery=1 size=14$" &&
	has "^urgent message seq [0-9]* sent; flushed 3 messages, 18 bytes$" &&
	has "^after the abort: abort$" && has "^msgs_queued: 0$"
ok $? "mbox_shell_example.sh: echo, dd and mbox"

# --private: the same on a named mailbox made by mbox create, gone after.
inst=$(mktemp -d)
unshare -m --propagation private sh -c '
	mount -t mbox mbox "$1" || exit 100
	MBOX=build/bin/mbox sh userspace/examples/mbox_shell_example.sh --private "$1"
	rc=$?
	echo "left in the instance: $(ls -A "$1" | tr "\n" " ")"
	exit $rc' sh "$inst" > "$out" 2>&1
rc=$?
rmdir "$inst"
show
[ $rc -eq 0 ] && has "^created $inst/shell-example-[0-9]*: crw------- root$" &&
	has "^dd read: first line$" && has "^from mbox send$" &&
	has "^urgent message seq 7 sent; flushed 3 messages, 18 bytes$" &&
	has "^after the abort: abort$" && has "^msgs_queued: 0$" &&
	has "^left in the instance: mbox-control $"
ok $? "mbox_shell_example.sh --private: mbox create, the same on a 0600 named mailbox, mbox rm"
exit $failed
