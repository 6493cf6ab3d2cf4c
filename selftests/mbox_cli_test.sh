#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mbox command: every subcommand, its output (--json parsed back by
# Python's json module), its exit codes (0 done, 1 failed, 2 usage) and its
# error messages; named mailboxes in an instance it mounts and unmounts.  Module control runs last and leaves the module loaded
# as it found it.
set -u
cd "$(dirname "$0")/.."
mbox=$PWD/build/bin/mbox
dev=/dev/mbox2
out=/tmp/mbox-cli.out
err=/tmp/mbox-cli.err

. selftests/lib/tap.sh
plan 49
tap_on_fail() {
	sed 's/^/# stdout: /' "$out" | head -20
	sed 's/^/# stderr: /' "$err" | head -20
}
# Run the command, keeping stdout, stderr and the exit code.
m() {
	"$mbox" "$@" > "$out" 2> "$err"
	rc=$?
}
# A Python expression over the JSON lines of stdout, as list 'j'.
json() {
	python3 -c '
import json, sys, base64
j = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$out" "$1"
}
param() { cat "/sys/module/mbox/parameters/$1"; }
queued() { cat /sys/class/mbox/mbox2/msgs_queued; }
reset() {
	"$mbox" flush $dev > /dev/null &&
	"$mbox" limits $dev --max-msg-size "$(param max_msg_size)" \
		--max-msgs "$(param max_msgs)" --max-bytes "$(param max_bytes)" \
		--max-urgent "$(param max_urgent)" \
		--max-urgent-bytes "$(param max_urgent_bytes)" > /dev/null
}

reset
m --help
[ $rc -eq 0 ] && grep -q '^  recv    DEV' "$out"
ok $? "--help lists the commands"

m --version
[ $rc -eq 0 ] && grep -qx "mbox $(cat VERSION)" "$out"
ok $? "--version prints the version from VERSION"

m frobnicate
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$err"
ok $? "an unknown command is a usage error (exit 2)"

m send 2 hello world
[ $rc -eq 0 ] && m recv 2 && [ $rc -eq 0 ] &&
	head -1 "$out" | grep -Eq '^seq=[0-9]+ time=20[0-9-]+T[0-9:]+\.[0-9]{9}Z pid=[0-9]+ tid=[0-9]+ uid=0 gid=0 opener_uid=0 opener_gid=0 flags=- delivery=1 size=11$' &&
	[ "$(sed -n 2p "$out")" = "hello world" ] && [ "$(wc -l < "$out")" -eq 2 ]
ok $? "send TEXT sends the words as one message; recv shows the header line and the payload"

printf 'a\nb\n' | "$mbox" send $dev && m recv $dev --json
[ $rc -eq 0 ] && json 'len(j) == 1 and j[0]["payload"] == "a\nb\n" and j[0]["size"] == 4 and j[0]["flags"] == []'
ok $? "send without TEXT sends all of stdin as one message"

printf 'x\n\ny\n' | "$mbox" send $dev --lines && [ "$(queued)" = 2 ] && m recv $dev -n 2 --json
[ $rc -eq 0 ] && json 'len(j) == 2 and [m["payload"] for m in j] == ["x", "y"] and j[0]["seq"] < j[1]["seq"] and j[0]["uid"] == 0 and j[0]["pid"] == 0 and j[0]["delivery_count"] == 1'
ok $? "send --lines sends one message per line, empty lines skipped; recv -n 2 --json gives two objects (pid 0: the sender has exited)"

printf '\377\000\001bin' | "$mbox" send $dev && m recv $dev --json
[ $rc -eq 0 ] && json '"payload" not in j[0] and base64.b64decode(j[0]["payload_base64"]) == b"\xff\x00\x01bin"'
ok $? "a payload that is not UTF-8 comes as payload_base64 and decodes to the same bytes"

printf 'tab\there\001\\' | "$mbox" send $dev && m recv $dev
[ $rc -eq 0 ] && [ "$(sed -n 2p "$out")" = 'tab\there\x01\\' ]
ok $? "recv escapes what is not printable"

printf 'raw\000bytes\n' | "$mbox" send $dev && m recv $dev --raw
[ $rc -eq 0 ] && printf 'raw\000bytes\n' | cmp -s - "$out"
ok $? "recv --raw writes the payload bytes and nothing else"

m peek $dev
[ $rc -eq 1 ] && grep -qx "mbox: $dev: the mailbox is empty" "$err"
ok $? "peek on an empty mailbox fails and says so"

"$mbox" send $dev one && "$mbox" send $dev two && m peek $dev --json
[ $rc -eq 0 ] && json 'j[0]["size"] == 3' && [ "$(queued)" = 2 ] && m peek $dev &&
	grep -Eq '^seq=[0-9]+ .* size=3$' "$out"
ok $? "peek shows the next header and leaves the message queued"

first=$("$mbox" peek $dev --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
m flush $dev --up-to "$first" --json
[ $rc -eq 0 ] && json 'j[0] == {"flushed_msgs": 1, "flushed_bytes": 3}' && [ "$(queued)" = 1 ] &&
	m flush $dev --mine && [ $rc -eq 0 ] && grep -qx "flushed 1 messages, 3 bytes" "$out" && [ "$(queued)" = 0 ]
ok $? "flush --up-to SEQ and flush --mine remove what they select and report it"

"$mbox" send $dev backlog1 && "$mbox" send $dev backlog2 && m urgent $dev --flush --json stop
[ $rc -eq 0 ] && json 'j[0]["flushed_msgs"] == 2 and j[0]["flushed_bytes"] == 16 and j[0]["seq"] > 0' &&
	m recv $dev --json && json 'j[0]["payload"] == "stop" and j[0]["flags"] == ["urgent"]'
ok $? "urgent --flush flushes the backlog and the urgent message comes first"

"$mbox" send $dev q && m info $dev --json
[ $rc -eq 0 ] && json 'j[0]["device"] == "/dev/mbox2" and j[0]["index"] == 2 and j[0]["msgs_queued"] == 1 and j[0]["bytes_queued"] == 1 and j[0]["max_msgs"] == int(open("/sys/module/mbox/parameters/max_msgs").read())' &&
	m info $dev && grep -qx 'msgs_queued: 1' "$out"
ok $? "info shows the counters, as text and as JSON"

reset
"$mbox" send $dev normal && "$mbox" urgent $dev hello > /dev/null && m info $dev --json
[ $rc -eq 0 ] && json '(j[0]["urgent_queued"] == 1 and j[0]["urgent_bytes_queued"] == 5 and j[0]["msgs_queued"] == 1 and j[0]["bytes_queued"] == 6 and
	j[0]["max_urgent_bytes"] == int(open("/sys/module/mbox/parameters/max_urgent_bytes").read()))' &&
	m info $dev && grep -qx 'urgent_bytes_queued: 5' "$out" && grep -qx "max_urgent_bytes: $(param max_urgent_bytes)" "$out" &&
	[ "$(cat /sys/class/mbox/mbox2/urgent_bytes_queued)" = 5 ]
ok $? "info shows max_urgent_bytes and the urgent bytes queued, as text and as JSON"
reset

m limits $dev --max-msgs 5 --max-urgent 2
[ $rc -eq 0 ] && grep -qx 'max_msgs: 5' "$out" && grep -qx 'max_urgent: 2' "$out" &&
	[ "$(cat /sys/class/mbox/mbox2/max_msgs)" = 5 ]
ok $? "limits sets the limits and shows them"

m limits $dev --max-msgs abc
[ $rc -eq 2 ] && grep -q "max-msgs: 'abc' is not a number" "$err" && m limits $dev --max-msgs 12q &&
	[ $rc -eq 2 ] && m limits $dev --max-bytes 16 --max-msg-size 64 &&
	[ $rc -eq 1 ] && grep -q 'out of range' "$err" && [ "$(cat /sys/class/mbox/mbox2/max_msgs)" = 5 ]
ok $? "non-numeric limits are usage errors, out-of-range ones fail and change nothing"

reset
m limits $dev --max-urgent-bytes 2K
[ $rc -eq 0 ] && grep -qx 'max_urgent_bytes: 2048' "$out" && [ "$(cat /sys/class/mbox/mbox2/max_urgent_bytes)" = 2048 ] &&
	m info $dev --json && json 'j[0]["max_urgent_bytes"] == 2048 and j[0]["max_msgs"] == int(open("/sys/module/mbox/parameters/max_msgs").read())' &&
	m limits $dev --max-urgent-bytes 0x40000001 && [ $rc -eq 1 ] &&
	grep -qx "mbox: $dev: Invalid argument (out of range: max_msg_size 1..4194304, max_msgs 1..1048576, max_bytes max_msg_size..1073741824, max_urgent 1..1024, max_urgent_bytes 1..1073741824; nothing was changed)" "$err" &&
	[ "$(cat /sys/class/mbox/mbox2/max_urgent_bytes)" = 2048 ]
ok $? "limits --max-urgent-bytes changes only it; out of range it fails, names the range and changes nothing"

"$mbox" limits $dev --max-urgent-bytes 8 > /dev/null && "$mbox" urgent $dev first > /dev/null && m urgent $dev again
[ $rc -eq 1 ] && grep -qx "mbox: $dev: Resource temporarily unavailable (the urgent reserve is full (max_urgent messages or max_urgent_bytes bytes queued, see 'mbox info $dev'); nothing was sent or flushed)" "$err" &&
	[ "$(cat /sys/class/mbox/mbox2/urgent_queued)" = 1 ]
ok $? "an urgent send over max_urgent_bytes fails at once and names max_urgent and max_urgent_bytes"

reset
"$mbox" limits $dev --max-msg-size 16 > /dev/null
m send $dev 0123456789abcdefX
[ $rc -eq 1 ] && grep -q "mbox: $dev: Message too long (the message has 17 bytes, max_msg_size is 16; raise it: mbox limits $dev --max-msg-size 17)" "$err" &&
	[ "$(queued)" = 0 ]
ok $? "an oversize message fails, names the limit and the fix, and nothing is queued"

reset
m recv $dev --timeout 0.2
[ $rc -eq 1 ] && grep -qx "mbox: $dev: no message within 0.2 s" "$err"
ok $? "recv --timeout on an empty mailbox fails when the time is up"

"$mbox" limits $dev --max-msgs 1 > /dev/null && "$mbox" send $dev full && m send $dev --timeout 0.2 more
[ $rc -eq 1 ] && grep -q "stayed full for 0.2 s and nothing was sent" "$err" && [ "$(queued)" = 1 ]
ok $? "send --timeout on a full mailbox fails and sends nothing"

reset
"$mbox" send $dev f1 && "$mbox" send $dev f2 && "$mbox" send $dev f3 && m recv $dev --follow --timeout 0.5
[ $rc -eq 0 ] && [ "$(grep -c '^seq=' "$out")" -eq 3 ] && [ "$(sed -n 6p "$out")" = f3 ]
ok $? "recv --follow --timeout receives until the mailbox stays idle"

# Wait (up to $wait_limit s) until file $1 has the line $2.
wait_line() {
	i=0
	until grep -qx "$2" "$1" || [ $i -ge $((wait_limit * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# Run 'mbox recv DEV ARGS...', send it LINE, and once LINE is out (so the
# handler is in place, however slow the kernel, and the next receive is
# waiting) interrupt it; rc is its exit status.
interrupt_recv() {
	line=$1
	shift
	"$mbox" recv $dev "$@" > "$out" 2> "$err" &
	pid=$!
	"$mbox" send $dev "$line"
	wait_line "$out" "$line"
	kill -INT $pid
	wait $pid
	rc=$?
}
interrupt_recv once -n 2
rc1=$rc
grep -qx "mbox: $dev: interrupted after 1 of 2 messages" "$err"
msg1=$?
interrupt_recv twice --follow
rc2=$rc
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(queued)" = 0 ]
ok $? "an interrupted recv exits 1 unless it was told to --follow"

reset
"$mbox" send $dev gone
"$mbox" recv $dev > /dev/full 2> "$err"
rc1=$?
grep -q "mbox: stdout: No space left on device (message seq [0-9]* was received but not written out)" "$err"
msg1=$?
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ "$(queued)" = 0 ]
ok $? "recv into a full disk fails and says which message was lost"

m limits $dev --max-msgs 010
[ $rc -eq 0 ] && grep -qx 'max_msgs: 10' "$out" && m limits $dev --max-msgs 0x20 && grep -qx 'max_msgs: 32' "$out" &&
	m recv $dev --timeout nan && [ $rc -eq 2 ] && m load --ko /nonexistent max_bytes=1G && [ $rc -eq 2 ] &&
	m send $dev "" && [ $rc -eq 1 ] && grep -q "the TEXT is empty" "$err" && [ "$(queued)" = 0 ]
ok $? "numbers are decimal or 0x hex (K/M/G only where we parse them), a NaN timeout and an empty TEXT are refused"
reset

m recv 99
[ $rc -eq 1 ] && grep -qx "mbox: /dev/mbox99: No such file or directory (is the module loaded? try 'mbox load')" "$err"
ok $? "a missing device fails with the file name and the fix"

m recv
rc1=$rc
m recv $dev --count many
rc2=$rc
m urgent $dev
rc3=$rc
m urgent $dev ""
rc4=$rc
m send $dev --lines extra
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] && [ $rc4 -eq 2 ] && [ $rc -eq 2 ] && [ "$(queued)" = 0 ]
ok $? "missing or bad arguments are usage errors (exit 2) and send nothing"

m status --json
[ $rc -eq 0 ] && json '(j[0]["loaded"] and j[0]["version"] == open("VERSION").read().strip() and
	all(j[0][p] == int(open("/sys/module/mbox/parameters/" + p).read()) for p in
	    ["nr_mailboxes", "max_msg_size", "max_msgs", "max_bytes", "max_urgent", "max_urgent_bytes", "user_mailboxes", "user_bytes"]))' &&
	m status && grep -qx "user_bytes: $(param user_bytes)" "$out" && grep -qx "user_mailboxes: $(param user_mailboxes)" "$out" &&
	grep -qx "max_urgent_bytes: $(param max_urgent_bytes)" "$out"
ok $? "status reports the module, its version and parameters, the quotas too, as JSON and as text"

# ---- named mailboxes, in an instance of our own mounted on $nd.
nd=$(mktemp -d /tmp/mbox-cli-named.XXXXXX)
plain=$(mktemp -d /tmp/mbox-cli-plain.XXXXXX)
qd=$(mktemp -d /tmp/mbox-cli-quota.XXXXXX)
chmod 755 "$nd" "$plain"
trap 'umount -l "$nd" "$qd" 2> /dev/null; rmdir "$nd" "$qd"; rm -rf "$plain"' EXIT
# Run the command as uid/gid $1 with no groups and no capabilities.
as() {
	uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups "$mbox" "$@" > "$out" 2> "$err"
	rc=$?
}
is_instance() { [ "$(stat -f -c %t "$1")" = 6d626f78 ]; }
# The JSON array 'mbox ls --json' printed, as a dict by name: 'd'.
ls_json() {
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
d = {e["name"]: e for e in a}
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$out" "$1"
}

m --help
[ $rc -eq 0 ] && grep -q '^  create  NAME' "$out" && grep -q '^  rm      NAME\.\.\.' "$out" &&
	grep -q '^  ls      \[DIR\] \[--json\]' "$out" && grep -q '^  mount   DIR' "$out"
ok $? "--help lists create, rm, ls and mount"

m mount /nonexistent-mbox-dir
rc1=$rc
grep -qx "mbox: /nonexistent-mbox-dir: No such file or directory (no such directory: mkdir -p /nonexistent-mbox-dir first)" "$err"
msg1=$?
m mount "$nd" -o max=0
rc2=$rc
grep -q "^mbox: $nd: Invalid argument (a bad option in 'max=0'" "$err"
msg2=$?
as 1000 mount "$nd"
rc3=$rc
grep -q "^mbox: $nd: Operation not permitted (mounting needs root (CAP_SYS_ADMIN), or a user namespace you own" "$err"
msg3=$?
m mount
rc4=$rc
! is_instance "$nd" && [ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] &&
	[ $rc3 -eq 1 ] && [ $msg3 -eq 0 ] && [ $rc4 -eq 2 ]
ok $? "mount fails on a missing directory, a bad option, without privilege; names the fix; mounts nothing"

m mount "$nd" -o mode=1777,max=4
[ $rc -eq 0 ] && [ ! -s "$out" ] && is_instance "$nd" && [ "$(stat -c %a "$nd")" = 1777 ] &&
	[ -c "$nd/mbox-control" ]
ok $? "mount DIR -o OPTIONS mounts an instance with those options"

m create "$nd/jobs"
[ $rc -eq 0 ] && [ ! -s "$out" ] && [ ! -s "$err" ] &&
	[ "$(stat -c '%F %a %u %g' "$nd/jobs")" = "character special file 600 0 0" ] &&
	m create "$nd/jobs" && [ $rc -eq 1 ] && grep -qx "mbox: $nd/jobs: File exists" "$err"
ok $? "create makes a 0600 mailbox silently; an existing name fails with File exists"

m create "$nd/lim" --mode 640 --group 3000 --max-msg-size 1K --max-msgs 5 --max-bytes 4K --max-urgent 2 --max-urgent-bytes 3K
[ $rc -eq 0 ] && [ "$(stat -c '%a %u %g' "$nd/lim")" = "640 0 3000" ] && m info "$nd/lim" --json &&
	json 'j[0]["max_msg_size"] == 1024 and j[0]["max_msgs"] == 5 and j[0]["max_bytes"] == 4096 and j[0]["max_urgent"] == 2 and j[0]["max_urgent_bytes"] == 3072 and j[0]["msgs_queued"] == 0' &&
	m create "$nd/lim2" --max-urgent-bytes 0x40000001 && [ $rc -eq 1 ] &&
	grep -q "^mbox: $nd/lim2: Invalid argument (.*, max_urgent 1..1024, max_urgent_bytes 1..1073741824)$" "$err" && [ ! -e "$nd/lim2" ]
ok $? "create --mode --group --max-* gives the mailbox that mode, group and those limits; --max-urgent-bytes out of range creates nothing"

long=$(printf '%0256d' 0)
m create "$nd/$long"
rc1=$rc
grep -qx "mbox: $nd/$long: File name too long (a name has at most 255 bytes)" "$err"
msg1=$?
m create "$nd/.."
rc2=$rc
grep -q "^mbox: $nd/..: Invalid argument (a name may not be '.' or '..'" "$err"
msg2=$?
m create "$nd/x" --mode 888
rc3=$rc
m create "$nd/x" --mode 1777
rc4=$rc
m create "$nd/x" --mode 040000000000
[ $rc -eq 2 ] || rc4=$rc
m create "$nd/x" --max-msgs lots
rc5=$rc
m create "$nd/x" --group no-such-group-here
rc6=$rc
m create
rc7=$rc
m create "$nd/x" "$nd/y"
rc8=$rc
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] && [ $rc3 -eq 2 ] &&
	[ $rc4 -eq 2 ] && [ $rc5 -eq 2 ] && [ $rc6 -eq 2 ] && [ $rc7 -eq 2 ] && [ $rc8 -eq 2 ] &&
	[ "$(find "$nd" -mindepth 1 | wc -l)" -eq 3 ]
ok $? "create: a long name, '..' fail (1); a bad mode, number, group or argument count is usage (2); nothing created"

MBOX_DIR=$plain m create x
rc1=$rc
grep -qx "mbox: $plain/x: Inappropriate ioctl for device (is $plain mounted? mount -t mbox mbox $plain (or 'mbox mount $plain'))" "$err"
msg1=$?
env -u MBOX_DIR "$mbox" create x > "$out" 2> "$err"
rc2=$?
grep -q " (is /dev/mbox mounted? mount -t mbox mbox /dev/mbox (or 'mbox mount /dev/mbox'))$" "$err"
msg2=$?
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] && [ -z "$(find "$plain" -mindepth 1)" ]
ok $? "create where no instance is mounted (\$MBOX_DIR, default /dev/mbox) fails and says how to mount one"

MBOX_DIR=$nd "$mbox" send jobs hello && MBOX_DIR=$nd m info jobs --json
[ $rc -eq 0 ] && json 'j[0]["device"] == "'"$nd"'/jobs" and j[0]["msgs_queued"] == 1 and j[0]["bytes_queued"] == 5'
ok $? "send and info take a bare NAME as \$MBOX_DIR/NAME"

m ls "$nd" --json
[ $rc -eq 0 ] && ls_json 'sorted(d) == ["jobs", "lim"] and [e["name"] for e in a] == ["jobs", "lim"] and
	d["jobs"]["owner"] == "root" and d["jobs"]["group"] == "root" and d["jobs"]["uid"] == 0 and
	d["jobs"]["mode"] == "-rw-------" and d["jobs"]["msgs_queued"] == 1 and d["jobs"]["bytes_queued"] == 5 and
	d["jobs"]["readers_waiting"] == 0 and d["jobs"]["writers_waiting"] == 0 and
	d["lim"]["mode"] == "-rw-r-----" and d["lim"]["gid"] == 3000 and d["lim"]["msgs_queued"] == 0' &&
	MBOX_DIR=$nd m ls && [ "$(wc -l < "$out")" -eq 3 ] &&
	grep -Eqx -- '-rw------- +root +root +1 +5 +0 +0 jobs' "$out"
ok $? "ls --json lists the mailboxes sorted with owner, mode and counters; ls (\$MBOX_DIR) as text"

# A reader blocked in read(), where the kernel counts it ('mbox recv'
# waits in poll()).
dd if="$nd/lim" of=/dev/null bs=64 count=1 2> /dev/null &
pid=$!
deadline=$(($(date +%s) + wait_limit))
until "$mbox" ls "$nd" --json > "$out" 2> "$err" && ls_json 'd["lim"]["readers_waiting"] == 1' ||
	[ "$(date +%s)" -ge $deadline ]; do
	sleep 0.1
done
ls_json 'd["lim"]["readers_waiting"] == 1 and d["jobs"]["readers_waiting"] == 0'
st1=$?
"$mbox" send "$nd/lim" wake
wait $pid
st2=$?
[ $st1 -eq 0 ] && [ $st2 -eq 0 ]
ok $? "ls shows a reader blocked in read()"

as 1000 create "$nd/g" --group 3000
rc1=$rc
grep -qx "mbox: $nd/g: Operation not permitted (you are not in group '3000': giving it needs CAP_CHOWN)" "$err"
msg1=$?
chmod 1755 "$nd"
as 1000 create "$nd/g"
rc2=$rc
grep -qx "mbox: $nd/g: Permission denied (creating needs write permission on $nd: ask its owner, or mount an instance of your own)" "$err"
msg2=$?
chmod 1777 "$nd"
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] && [ ! -e "$nd/g" ]
ok $? "create as a user: a group not theirs, a root they may not write; each says why and creates nothing"

as 1000 create "$nd/priv"
rc1=$rc
as 1001 send "$nd/priv" x
rc2=$rc
grep -qx "mbox: $nd/priv: Permission denied (its owner and mode ('mbox ls $nd') do not let you: its owner can chmod it)" "$err"
msg2=$?
m send "$nd/priv" from-root
rc3=$rc
as 1001 ls "$nd" --json
[ $rc1 -eq 0 ] && [ "$(stat -c '%a %u %g' "$nd/priv")" = "600 1000 1000" ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] &&
	[ $rc3 -eq 0 ] && [ $rc -eq 0 ] &&
	ls_json 'd["priv"]["uid"] == 1000 and d["priv"]["mode"] == "-rw-------" and d["priv"]["msgs_queued"] is None and
		d["priv"]["bytes_queued"] is None and d["priv"]["readers_waiting"] is None and d["jobs"]["msgs_queued"] is None' &&
	as 1000 ls "$nd" && grep -Eqx -- '-rw------- +[^ ]+ +[^ ]+ +1 +9 +0 +0 priv' "$out" &&
	grep -Eqx -- '-rw------- +root +root +- +- +- +- jobs' "$out"
ok $? "uid 1000 creates a 0600 mailbox; uid 1001 cannot open it (ls shows no counters), root can"

m create "$nd/fourth" && m create "$nd/fifth"
[ $rc -eq 1 ] && grep -qx "mbox: $nd/fifth: No space left on device ($nd holds its max= mailboxes (open removed ones count): rm some, or mount -o remount,max=N $nd)" "$err" &&
	[ ! -e "$nd/fifth" ]
ok $? "create in a full instance (max=) fails and says what to do"

touch "$plain/file"
m rm "$nd/mbox-control"
rc1=$rc
grep -qx "mbox: $nd/mbox-control: Operation not permitted (the instance's control node stays as long as the instance)" "$err"
msg1=$?
m rm "$plain/file"
rc2=$rc
as 1001 rm "$nd/priv"
rc3=$rc
grep -q "^mbox: $nd/priv: Operation not permitted ($nd is sticky" "$err"
msg3=$?
m rm
rc4=$rc
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ -c "$nd/mbox-control" ] && [ $rc2 -eq 1 ] && [ -f "$plain/file" ] &&
	[ $rc3 -eq 1 ] && [ $msg3 -eq 0 ] && [ -c "$nd/priv" ] && [ $rc4 -eq 2 ]
ok $? "rm refuses mbox-control, a file outside an instance, another user's mailbox; no NAME is usage"

MBOX_DIR=$nd m rm jobs nope lim
rc1=$rc
grep -qx "mbox: $nd/nope: No such file or directory (no such mailbox: 'mbox ls $nd' lists them)" "$err"
msg1=$?
MBOX_DIR=$nd m recv jobs
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ ! -e "$nd/jobs" ] && [ ! -e "$nd/lim" ] && [ $rc -eq 1 ] &&
	grep -qx "mbox: $nd/jobs: No such file or directory (no such mailbox: 'mbox ls $nd' lists them, 'mbox create' makes one)" "$err"
ok $? "rm removes each NAME, exits 1 when one is missing; a removed mailbox no longer opens"

# Quotas of an instance of its own: one mailbox, 300 bytes (a message
# of 100 bytes is charged 100 + 128).
m mount "$qd" -o user_max=1,user_bytes=300
rc1=$rc
m create "$qd/q"
rc2=$rc
m create "$qd/r"
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc -eq 1 ] && [ ! -e "$qd/r" ] &&
	grep -qx "mbox: $qd/r: Disk quota exceeded (the mailboxes you created reached a per-user quota: the instance's user_max= (mount -o remount,user_max=N $qd) or the module's user_mailboxes; rm some of yours (removed ones count until closed), or ask root to raise it)" "$err"
ok $? "create over the instance's user_max= fails with EDQUOT, names the quota and the fix, creates nothing"

hundred=$(printf '%0100d' 0)
quota_msg="mbox: $qd/q: Disk quota exceeded (your queued messages reached a per-user quota (each message its size + 128 bytes): the instance's user_bytes= (mount -o remount,user_bytes=N $qd) or the module's user_bytes; read or flush them (mbox flush --mine $qd/q), or ask root to raise it)"
m send "$qd/q" "$hundred"
rc1=$rc
m send "$qd/q" "$hundred"
rc2=$rc
grep -qx "$quota_msg" "$err"
msg2=$?
m urgent "$qd/q" x
rc3=$rc
grep -qx "$quota_msg" "$err"
msg3=$?
m info "$qd/q" --json
json 'j[0]["msgs_queued"] == 1 and j[0]["bytes_queued"] == 100 and j[0]["urgent_queued"] == 0'
st=$?
m flush "$qd/q" --mine
[ $rc1 -eq 0 ] && [ $rc2 -eq 1 ] && [ $msg2 -eq 0 ] && [ $rc3 -eq 1 ] && [ $msg3 -eq 0 ] && [ $st -eq 0 ] &&
	[ $rc -eq 0 ] && grep -qx "flushed 1 messages, 100 bytes" "$out" && m send "$qd/q" "$hundred" && [ $rc -eq 0 ]
ok $? "send and urgent over the instance's user_bytes= fail with EDQUOT at once, name the quota and the fix; flush --mine gives it back"
umount "$qd"
rmdir "$qd"

umount "$nd"
m ls "$nd"
[ $rc -eq 1 ] && grep -qx "mbox: $nd: Inappropriate ioctl for device (not an mbox instance: is $nd mounted? mount -t mbox mbox $nd (or 'mbox mount $nd'))" "$err"
ok $? "ls of a directory that is no instance fails and says how to mount one"
rmdir "$nd"
rm -rf "$plain"
trap - EXIT

# ---- module control: last, and the module is loaded back as it was.
ko=${MBOX_KO:-}
if [ -z "$ko" ]; then
	echo "ok 48 # SKIP MBOX_KO does not name the module file"
	echo "ok 49 # SKIP MBOX_KO does not name the module file"
	exit $failed
fi
params="nr_mailboxes=$(param nr_mailboxes) max_msg_size=$(param max_msg_size) max_msgs=$(param max_msgs) max_bytes=$(param max_bytes) max_urgent=$(param max_urgent) max_urgent_bytes=$(param max_urgent_bytes) user_mailboxes=$(param user_mailboxes) user_bytes=$(param user_bytes)"
# shellcheck disable=SC2086 # params are separate words
trap '[ -e /sys/module/mbox ] || "$mbox" load --ko "$ko" $params > /dev/null' EXIT

exec 3< $dev
m unload
rc1=$rc
grep -q "cannot unload: .* still hold.* a mailbox open" "$err"
msg1=$?
exec 3<&-
m unload
rc2=$rc
m unload
rc3=$rc
m load --ko "$ko" nr_mailboxes=9999
rc4=$rc
grep -q "a parameter is out of range in 'nr_mailboxes=9999'" "$err"
msg4=$?
m load --ko "$ko" nr_mailbox=2
rc5=$rc
m load --module-dir /nonexistent
rc6=$rc
grep -q "no mbox module installed there" "$err"
msg6=$?
m load --ko "$ko" nr_mailboxes=3
rc7=$rc
grep -qx "mbox $(cat VERSION) loaded: /dev/mbox0 .. /dev/mbox2" "$out"
msg7=$?
m load --ko "$ko"
rc8=$rc
grep -q "already loaded" "$err"
msg8=$?
"$mbox" unload
# shellcheck disable=SC2086
"$mbox" load --ko "$ko" $params > /dev/null
[ $rc1 -eq 1 ] && [ $msg1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 1 ] &&
	[ $rc4 -eq 1 ] && [ $msg4 -eq 0 ] && [ $rc5 -eq 2 ] && [ $rc6 -eq 1 ] && [ $msg6 -eq 0 ] &&
	[ $rc7 -eq 0 ] && [ $msg7 -eq 0 ] && [ $rc8 -eq 1 ] && [ $msg8 -eq 0 ] && [ -e /sys/module/mbox ]
ok $? "unload is refused while open; load reports bad and unknown parameters, a missing module, a second load"
echo "# unload $rc1/$msg1 $rc2 $rc3, load $rc4/$msg4 $rc5 $rc6/$msg6 $rc7/$msg7 $rc8/$msg8"

m load --ko "$ko" user_bytes=2Q
rc1=$rc
m load --ko "$ko" max_urgent_bytes=4K
rc2=$rc
"$mbox" unload
m load --ko "$ko" max_urgent_bytes=4096 user_mailboxes=7 user_bytes=2M
rc3=$rc
m status --json
json 'j[0]["max_urgent_bytes"] == 4096 and j[0]["user_mailboxes"] == 7 and j[0]["user_bytes"] == 2097152'
st=$?
"$mbox" unload
# shellcheck disable=SC2086
"$mbox" load --ko "$ko" $params > /dev/null
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 0 ] && [ $st -eq 0 ] &&
	[ "$(param user_bytes)" = "$(echo "$params" | sed 's/.*user_bytes=//')" ]
ok $? "load takes max_urgent_bytes, user_mailboxes and user_bytes (K/M/G for user_bytes only); status shows them"
exit $failed
