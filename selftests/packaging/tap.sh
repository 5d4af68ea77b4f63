# SPDX-License-Identifier: GPL-2.0
# Minimal TAP for the host-side packaging checks (sourced).
# ok/not_ok/skip print one point each; tap_done prints the plan and
# returns non-zero if any point failed.
TAP_N=0
TAP_FAIL=0
echo "TAP version 13"
ok()     { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
skip()   { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
diag()   { sed 's/^/# /'; }
# check "what" cmd...: ok if cmd succeeds, else not ok with its output.
check() {
	_what=$1; shift
	if _out=$("$@" 2>&1); then ok "$_what"; else not_ok "$_what"; printf '%s\n' "$_out" | tail -n 30 | diag; fi
}
tap_done() { echo "1..$TAP_N"; [ "$TAP_FAIL" -eq 0 ]; }
