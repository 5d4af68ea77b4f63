# SPDX-License-Identifier: GPL-2.0
# Minimal TAP (kselftest style) for the packaging tests, host and guest
# (sourced). tap_plan N prints the plan first (VM tests: the runner
# counts points against it); ok/not_ok/skip print one point each;
# skip_rest marks what the plan still expects as skipped; tap_done prints
# the plan if none was given and returns non-zero if any point failed.
# Guests may start tests with a PATH that lacks the sbin directories.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
TAP_N=0
TAP_FAIL=0
TAP_PLAN=
echo "TAP version 13"
tap_plan() { TAP_PLAN=$1; echo "1..$1"; }
skip_rest() { while [ "$TAP_N" -lt "${TAP_PLAN:-0}" ]; do skip "$1" "$2"; done; }
ok()     { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
skip()   { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
diag()   { sed 's/^/# /'; }
# check "what" cmd...: ok if cmd succeeds, else not ok with its output.
check() {
	_what=$1; shift
	if _out=$("$@" 2>&1); then ok "$_what"; else not_ok "$_what"; printf '%s\n' "$_out" | tail -n 30 | diag; fi
}
tap_done() {
	if [ -z "$TAP_PLAN" ]; then echo "1..$TAP_N"
	elif [ "$TAP_N" -lt "$TAP_PLAN" ]; then
		while [ "$TAP_N" -lt "$TAP_PLAN" ]; do not_ok "not reached"; done
	fi
	[ "$TAP_FAIL" -eq 0 ]
}
# Turn pkgcheck.py's PASS/FAIL/SKIP lines into points; "#" lines pass through.
tap_from_lines() {
	while IFS= read -r _l; do
		case $_l in
		PASS$'\t'*) ok "${_l#PASS$'\t'}" ;;
		FAIL$'\t'*) not_ok "${_l#FAIL$'\t'}" ;;
		SKIP$'\t'*) _l=${_l#SKIP$'\t'}; skip "${_l%%$'\t'*}" "${_l#*$'\t'}" ;;
		*) echo "$_l" ;;
		esac
	done
}
# Run a command printing such lines (no process substitution: a minimal
# guest may have no /dev/fd).
tap_from_cmd() { _f=$(mktemp); "$@" > "$_f" 2>&1; tap_from_lines < "$_f"; rm -f "$_f"; }
# Skip a whole test (before any plan): "1..0 # SKIP why" and exit 4
# (KSFT_SKIP: kselftest's runner reports a skip, not a pass).
tap_skip_all() { echo "1..0 # SKIP $*"; exit 4; }
# shellcheck source=selftests/lib/tt_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tt_common.sh"
