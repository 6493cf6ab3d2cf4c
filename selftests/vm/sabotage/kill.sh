#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Not a test: the harness's own check (selftests/host/harness_test.sh) runs
# it to prove a program killed with state left behind fails alone.  It
# changes /dev/mbox1's limits, queues two messages there, leaves a process
# holding it open, and is killed with SIGKILL.
echo "TAP version 13"
echo "1..1"
build/bin/mbox limits /dev/mbox1 --max-msgs 7 > /dev/null
build/bin/mbox send /dev/mbox1 one
build/bin/mbox send /dev/mbox1 two
setsid sh -c 'exec 3< /dev/mbox1; exec sleep 100000' &
kill -9 $$
