# SPDX-License-Identifier: GPL-2.0
# What every shell test shares, sourced by lib/tap.sh and packaging/tap.sh.

# What the tests read of the rest of the tree (docs, deploy/, the uapi
# header, man pages, the harness's build/pkgtest), as lib/ttmod.py finds
# it: $TCPTIMEO_SRC; in an installed copy (make -C selftests install) the
# files installed as tcptimeo/src/; else the tree this file is in.
tt_src() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	if [ -n "${TCPTIMEO_SRC:-}" ]; then
		echo "$TCPTIMEO_SRC"
	elif [ -d "$top/src" ]; then
		echo "$top/src"
	else
		dirname "$top"
	fi
}

# tt_version [TREE]: the version the tree's uapi header names
# (TCPTIMEO_VERSION), which the packages, the module and tcptimeoctl carry.
tt_version() {
	sed -n 's/^#define[[:space:]]*TCPTIMEO_VERSION[[:space:]]*"\(.*\)"/\1/p' \
		"${1:-.}/include/uapi/tcptimeo.h"
}

# tt_apply_example FILE: an operator's first step after installing the
# packages: /usr/sbin/tcptimeoctl apply of the packaged example rules, and
# the live table then holds exactly the file's rules (two points).
# packaging/pkgcheck.py --prepare first makes what the rules name (their
# cgroups), so that every rule can go live.
tt_apply_example() {
	local example=$1 out want have
	python3 "$(dirname "${BASH_SOURCE[0]}")/../packaging/pkgcheck.py" --prepare "$example" 2>&1 | diag
	if out=$(/usr/sbin/tcptimeoctl apply "$example" 2>&1); then
		ok "/usr/sbin/tcptimeoctl apply $example"
	else
		not_ok "/usr/sbin/tcptimeoctl apply $example"; echo "$out" | diag
	fi
	want=$(grep -Ev '^[[:space:]]*(#|$)' "$example" | awk '{print $1}' | sort | tr '\n' ' ')
	have=$(awk '{print $1}' /sys/kernel/tcptimeo/rules 2>/dev/null | sort | tr '\n' ' ')
	if [ -n "$want" ] && [ "$want" = "$have" ]; then
		ok "live rules are the example's: $have"
	else
		not_ok "live rules are the example's"; echo "want: $want / live: $have" | diag
	fi
}

# undo CMD: run CMD (a string, eval'd) when the test ends however it ends
# (exit, a failure, the runner's TERM at its time limit, Ctrl-C), the
# last registered first, as lib/undo.py does for the Python tests: what a
# test creates (rules, namespaces, processes, the module it loaded) it
# registers right after creating it, so that it cleans up after itself
# on a bare host, where nobody else does. undo_now runs them early.
TT_UNDO=()
undo() { TT_UNDO+=("$1"); }
undo_now() {
	local i
	for ((i = ${#TT_UNDO[@]} - 1; i >= 0; i--)); do
		eval "${TT_UNDO[i]}" >/dev/null 2>&1
	done
	TT_UNDO=()
}
trap 'undo_now' EXIT
trap 'undo_now; trap - EXIT; exit 130' INT
trap 'undo_now; trap - EXIT; exit 143' TERM
