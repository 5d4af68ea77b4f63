# SPDX-License-Identifier: GPL-2.0
# TAP (kselftest style) for shell tests, sourced:
#
#   . "$(dirname "$0")/lib/tap.sh"
#   tap_plan 3
#   check "insmod" insmod "$TCPTIMEO_KO"     # ok if the command succeeds,
#                                             # else not ok + its output
#   if [ -d /sys/kernel/tcptimeo ]; then ok "sysfs root"; else not_ok "sysfs root"; fi
#   skip "IPv6" "no ::1"                      # ok N - what # SKIP why
#   tap_done                                  # fills an unfinished plan
#                                             # with not ok; status 1 if
#                                             # any point failed
#
# More: diag (stdin or args, as "# " lines), skip_rest WHY (skip what the
# plan still expects), tap_skip_all WHY (a prerequisite is missing: before
# any plan, "1..0 # SKIP WHY" and exit 4, KSFT_SKIP), klog_mark /
# klog_problems (kernel log lines since the mark that a test must not
# cause: BUG, WARNING, Oops, ...), tt_load / tt_unload (the module under
# test, as the contract says), tt_src (the tree the tests read).
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
TAP_N=0
TAP_FAIL=0
TAP_PLAN=
echo "TAP version 13"

tap_plan() { TAP_PLAN=$1; echo "1..$1"; }
ok()       { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok()   { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
skip()     { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
skip_rest() { while [ "$TAP_N" -lt "${TAP_PLAN:-0}" ]; do skip "not run" "$1"; done; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 4; }
diag() {
	if [ $# -gt 0 ]; then printf '%s\n' "$*" | sed 's/^/# /'; else sed 's/^/# /'; fi
}
# check WHAT CMD...: one point, ok if CMD succeeds; its output as diagnostics.
check() {
	_tap_what=$1; shift
	if _tap_out=$("$@" 2>&1); then
		ok "$_tap_what"
	else
		not_ok "$_tap_what"
		printf '%s\n' "$_tap_out" | tail -n 30 | diag
	fi
}
# ok_if WHAT TEST-ARGS...: one point from a `test` expression.
ok_if() { _tap_what=$1; shift; if [ "$@" ]; then ok "$_tap_what"; else not_ok "$_tap_what"; fi; }
tap_done() {
	if [ -z "$TAP_PLAN" ]; then
		echo "1..$TAP_N"
	else
		while [ "$TAP_N" -lt "$TAP_PLAN" ]; do not_ok "not reached"; done
	fi
	[ "$TAP_FAIL" -eq 0 ]
}

# Kernel log: klog_mark, then klog_problems prints the bad lines since.
TAP_KLOG_BAD='BUG:|WARNING:|Oops|refcount_t|lockdep|KASAN|UBSAN:|Kernel panic|general protection fault|Call Trace:|list_(add|del) corruption'
klog_mark() {
	TAP_KLOG_ID="tap.sh mark $$.$RANDOM.$TAP_N"
	echo "$TAP_KLOG_ID" >/dev/kmsg
}
klog_since() { dmesg | sed -n "/$TAP_KLOG_ID\$/,\$p" | sed 1d; }
klog_problems() { klog_since | grep -E "$TAP_KLOG_BAD"; }

# The module under test (selftests/README.md): configfs first, then
# insmod $TCPTIMEO_KO, or without it the installed module (modprobe).
tt_load() {
	modprobe configfs || return
	grep -qs ' /sys/kernel/config configfs ' /proc/mounts ||
		mount -t configfs none /sys/kernel/config || return
	if [ -n "${TCPTIMEO_KO:-}" ]; then
		insmod "$TCPTIMEO_KO"
	else
		modprobe tcptimeo
	fi
}
tt_unload() { rmmod tcptimeo; }

# shellcheck source=selftests/lib/tt_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/tt_common.sh"
