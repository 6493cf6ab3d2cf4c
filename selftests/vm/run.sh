#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel in QEMU with mbox.ko loaded and run one command in it, in
# the current directory, with the host's / mounted read-only.  The command's
# exit status becomes this script's; a kernel splat, a bad taint, a hang
# (timeout) or a run that reported no status fails the run.
#
#   run.sh [options] [--] COMMAND...
#   MBOX_CMD='a shell command line' run.sh [options]
#
# Options (and the environment variables that set their defaults):
#   --lane stock|debug|kcsan
#                        stock: Debian's kernel of the installed headers;
#                        debug: the sanitizer kernel, kcsan: the data-race
#                        kernel (both debug-kernel.sh)        [MBOX_LANE]
#   --ko FILE            module to load       [build/<lane>/mbox.ko]
#   --params 'P=V ...'   module parameters    [MBOX_PARAMS]
#   --mem SIZE           guest memory         [MBOX_VM_MEM, 2G]
#   --smp N              guest CPUs           [MBOX_VM_SMP, 2]
#   --timeout SECONDS    kill a hung run      [MBOX_VM_TIMEOUT, 5400,
#                        times MBOX_TIMEOUT_SCALE]
#   --append ARGS        extra kernel args    [MBOX_VM_APPEND]
#   --icount             guest clock = instructions executed (1 ns each):
#                        TCG only, one CPU; for exact benchmarks [MBOX_VM_ICOUNT]
#   --interactive        a shell on the console instead of COMMAND
# Exit status: the command's; 124 on timeout; 125 when the guest reported
# no status; 126 when rmmod failed after the command; 1 on a splat.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
. "$here/lib.sh"

lane=${MBOX_LANE:-stock}
ko=
params=${MBOX_PARAMS:-}
mem=${MBOX_VM_MEM:-2G}
smp=${MBOX_VM_SMP:-2}
# The slowest lane measured (README, "Timeouts") with a margin, stretched
# by MBOX_TIMEOUT_SCALE like every bound of the suite: it only catches hangs.
timeout=$(awk -v t="${MBOX_VM_TIMEOUT:-5400}" -v k="${MBOX_TIMEOUT_SCALE:-1}" \
	'BEGIN { printf "%d", t * (k >= 1 ? k : 1) }')
append=${MBOX_VM_APPEND:-}
icount=${MBOX_VM_ICOUNT:-}
interactive=

while [ $# -gt 0 ]; do
	case $1 in
	--lane) lane=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--params) params=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--interactive) interactive=1; shift ;;
	-h|--help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
# MBOX_CMD passes a command line verbatim (make vm-run CMD='...').
# COMMAND... keeps its words: each is single-quoted for the guest's sh.
cmd=${MBOX_CMD:-}
if [ -z "$cmd" ]; then
	for a in "$@"; do
		cmd+="'${a//\'/\'\\\'\'}' "
	done
fi
[ -n "$interactive" ] || [ -n "$cmd" ] || die "no command given (see --help)"

# The guest sees the host's / read-only, with a private /tmp, /run and
# /dev/shm; so that a checkout, cache or module under any of them (or on
# any other filesystem) is seen too, each is shared as its own 9p tag and
# mounted at the same path.  Paths travel in files, never on the kernel
# command line, so spaces are fine; what the guest cannot mount is
# refused here, before anything is fetched, built or booted.
shareable() {
	case $1 in
	*$'\n'*|*$'\t'*)
		die "'$1' has a newline or tab in its name, which the VM cannot share: move it to a path without one" ;;
	/proc|/proc/*|/sys|/sys/*|/dev|/dev/pts|/dev/pts/*)
		die "'$1' is under /proc, /sys or /dev, which the guest replaces with its own: move it elsewhere (e.g. under \$HOME or /tmp)" ;;
	esac
}
cwd=$(pwd -P)
cache=$(realpath -m "$MBOX_CACHE")
shareable "$top"
shareable "$cache"
shareable "$cwd"

case $lane in
stock)
	kroot=$("$here/stock-kernel.sh") || exit 1
	abi=$(headers_abi)
	kernel=$kroot/boot/vmlinuz-$abi
	initrd=$("$here/initramfs.sh" "$kroot" "$abi") || exit 1
	;;
debug|kcsan)
	kdir=$("$here/debug-kernel.sh" "$lane") || exit 1
	kernel=$kdir/arch/x86/boot/bzImage
	initrd=$("$here/initramfs.sh" "" "") || exit 1
	# Emulation is ~10x slower than hardware.
	append="sysctl.kernel.hung_task_timeout_secs=600 rcupdate.rcu_cpu_stall_timeout=300 $append"
	# Any warning is a failure: the debug lane panics on the first.  Not
	# the KCSAN lane: KCSAN honours panic_on_warn too, and the core
	# kernel's own races, which are listed below and not counted, would
	# end the run (the log and taint checks below still fail a warning).
	[ "$lane" = kcsan ] || append="panic_on_warn=1 kmemleak=on $append"
	;;
*) die "unknown lane '$lane': use stock, debug or kcsan" ;;
esac
ko=$(realpath "${ko:-$top/build/$lane/mbox.ko}")
[ -r "$ko" ] || die "$ko does not exist; run 'make' first"
shareable "$ko"
shares=()
for d in "$top" "$cache" "$cwd" "$(dirname "$ko")"; do
	[ "$d" = / ] || shares+=("$d")
done

mkdir -p "$MBOX_CACHE/runs" || die "cannot create $MBOX_CACHE/runs: set MBOX_CACHE to a writable directory"
run=$(mktemp -d "$MBOX_CACHE/runs/run.XXXXXX") || die "cannot create a run directory in $MBOX_CACHE/runs"
run=$(realpath "$run")
trap 'rm -rf "$run"' EXIT
nonce=$(basename "$run" | cut -d. -f2)$RANDOM
printf '%s\n' "$cmd" > "$run/cmd"
printf '%s\n' "$cwd" > "$run/cwd"
printf '%s\n' "$ko" > "$run/ko"
printf '%s\n' "$params" > "$run/params"
printf '%s\n' "$run" > "$run/path"
# MBOX_VM_STAGE2 is for the harness's own test of a stage 2 that cannot run.
printf '%s\n' "${MBOX_VM_STAGE2:-$here/guest-run.sh}" > "$run/stage2"
[ -z "$interactive" ] || touch "$run/interactive"
# Parents first; a directory inside another shared one comes with it.
virtfs=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
qemu_path() { printf '%s' "${1//,/,,}"; }	# QEMU option values double commas
virtfs+=(-virtfs "local,path=$(qemu_path "$run"),mount_tag=mboxrun,security_model=none,readonly=on,multidevs=remap")
: > "$run/shares"
shared=()
while IFS= read -r d; do
	inside=
	for s in "${shared[@]}"; do
		case $d/ in "$s"/*) inside=1 ;; esac
	done
	[ -z "$inside" ] || continue
	n=${#shared[@]}
	shared+=("$d")
	printf 'share%d\t%s\n' "$n" "$d" >> "$run/shares"
	virtfs+=(-virtfs "local,path=$(qemu_path "$d"),mount_tag=share$n,security_model=none,readonly=on,multidevs=remap")
done < <(printf '%s\n' "${shares[@]}" | sort -u)

# KVM only where a short probe proves it boots (nested KVM can hang).
accel=tcg
if [ -w /dev/kvm ] && [ "${MBOX_VM_KVM:-probe}" != no ]; then
	probe=$MBOX_CACHE/kvm-probe-$(uname -r)
	if [ ! -e "$probe" ]; then
		if timeout 20 qemu-system-x86_64 -accel kvm -m 256M -display none \
			-no-reboot -serial stdio -monitor none -kernel "$kernel" \
			-append "console=ttyS0 panic=-1 quiet rdinit=/bin/busybox" \
			-initrd "$initrd" < /dev/null > /dev/null 2>&1; then
			echo kvm > "$probe"
		else
			echo tcg > "$probe"
		fi
	fi
	accel=$(cat "$probe")
fi

# icount makes guest time count instructions, whatever the host's load;
# with more than one vCPU the guest was seen to make no progress at all.
accel_args=(-accel "$accel")
if [ -n "$icount" ]; then
	[ "$smp" -eq 1 ] || die "--icount needs --smp 1 (several vCPUs under icount hang)"
	accel=tcg
	accel_args=(-accel tcg -icount "shift=0,sleep=off,align=off")
fi

say "booting $(basename "$kernel") ($lane lane, $accel, $smp CPUs, $mem)"
console=$run/console.log
start=$(date +%s.%N)
stdin=/dev/null
[ -z "$interactive" ] || stdin=/dev/stdin
# Our keys on the kernel command line are mboxvm.*: modprobe would take
# mbox.* for options of the mbox module.  A soft lockup is reported after
# 2 x watchdog_thresh s: 120 s instead of 20, since on a loaded host a vCPU
# was measured stuck for 22 s while booting (emulation, not a lockup).
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 "${accel_args[@]}" \
	-m "$mem" -smp "$smp" -display none -no-reboot -monitor none \
	-serial stdio -kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet watchdog_thresh=60 mboxvm.nonce=$nonce $append" \
	"${virtfs[@]}" \
	-device virtio-rng-pci < "$stdin" 2>&1 |
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >> "$console"
		# The kernel log dump is checked below, not shown.
		case $line in
		"MBOX-START $nonce "*)
			now=$(date +%s.%N)
			say "boot to command: $(echo "$now - $start" | bc | cut -c1-5) s"
			;;
		"MBOX-DMESG-BEGIN $nonce") in_dmesg=1 ;;
		"MBOX-DMESG-END $nonce") in_dmesg= ;;
		"MBOX-TAINT $nonce "*|"MBOX-EXIT $nonce "*) ;;
		*) [ -n "${in_dmesg:-}" ] || printf '%s\n' "$line" ;;
		esac
	done
qemu_status=${PIPESTATUS[0]}

# Only the kernel's own log is searched for splats, so a test that prints
# "WARNING:" cannot fail the run; a panic never reaches the log dump, but
# then no status is reported either.
dmesg_log=$(sed -n "/^MBOX-DMESG-BEGIN $nonce\$/,/^MBOX-DMESG-END $nonce\$/p" "$console")
splats=$(printf '%s\n' "$dmesg_log" | grep -E \
	-e '(^|[^A-Z])BUG:' -e 'WARNING:' -e 'INFO: task .* blocked' \
	-e 'INFO: rcu_.* stall' -e 'general protection fault' \
	-e 'Unable to handle kernel' -e 'Kernel panic' -e 'kernel BUG' \
	-e 'UBSAN:' -e 'divide error:' -e 'invalid opcode:' -e 'Oops' \
	-e 'kmemleak: .* new suspected memory leaks' -e 'unreferenced object' |
	grep -v -E '(ODEBUG|[^A-Z]DEBUG):' | grep -v 'BUG: KCSAN:' || true)
# A KCSAN report with a frame of the module in a racing access's own stack
# fails the run; the core kernel's own races are not ours to fix, and are
# listed only (kcsan_triage in lib.sh).
kcsan=$(printf '%s\n' "$dmesg_log" | kcsan_triage mbox)
if printf '%s\n' "$kcsan" | grep -q '^ours '; then
	splats="$splats
$(printf '%s\n' "$kcsan" | sed -n 's/^ours /KCSAN in mbox: /p')"
fi
printf '%s\n' "$kcsan" | sed -n 's/^other /KCSAN report outside mbox, not counted: /p' |
	sort | uniq -c | while read -r n line; do say "$line ($n)"; done
leaks=$(grep -c '^unreferenced object' "$console" || true)
taint=$(sed -n "s/^MBOX-TAINT $nonce //p" "$console")
status=$(sed -n "s/^MBOX-EXIT $nonce //p" "$console")

bad=
if [ -n "$splats" ] || [ "${leaks:-0}" -gt 0 ]; then
	say "kernel splat (what was found, then the kernel's log):"
	printf '%s\n' "$splats" | sed '/^$/d; s/^/  /' >&2
	printf '%s\n' "$dmesg_log" >&2
	bad=1
fi
# Taint bits: B=5 (bad page), D=7 (oops), L=14 (soft lockup), W=9 (warning).
if [ -n "$taint" ] && [ $(( taint & ((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)) )) -ne 0 ]; then
	say "kernel tainted ($taint): B, D, L or W"
	bad=1
fi
if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
	say "timeout after $timeout s: killed"
	tail -n 50 "$console" >&2
	exit 124
fi
if [ -z "$status" ]; then
	say "the guest reported no exit status (panic or crash?); console tail:"
	tail -n 60 "$console" >&2
	exit 125
fi
[ -z "$bad" ] || exit 1
exit "$status"
