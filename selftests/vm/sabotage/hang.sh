#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Not a test: the harness's own check (selftests/host/harness_test.sh) runs
# it to prove a hung program fails alone.  It passes one case, leaves a
# reader blocked in /dev/mbox2 and a writer queued on /dev/mbox3 in the
# background, and never ends.
echo "TAP version 13"
echo "1..2"
echo "ok 1 - about to hang"
cat /dev/mbox2 > /dev/null &
setsid sh -c 'printf x > /dev/mbox3; exec sleep 100000' &
exec sleep 100000
