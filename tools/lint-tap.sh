#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check's lint, as TAP (a CHECK_HOST_SUITES target): checkpatch
# --strict on the module's sources, then sparse (C=2) on every kernel of
# KVERS. Usage: tools/lint-tap.sh "KVER ..."   (logs in build/logs/lint/)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
read -r -a kvers <<<"${1:?usage: lint-tap.sh \"KVER ...\"}"
logs=$top/build/logs/lint
mkdir -p "$logs"
echo "TAP version 13"
echo "1..$((${#kvers[@]} + 1))"
point() {	# N DESCRIPTION LOG CMD...: ok if CMD succeeds, else its log
	local n=$1 what=$2 log=$3
	shift 3
	if "$@" >"$log" 2>&1; then
		if grep -q 'not checked' "$log"; then
			echo "ok $n - $what # SKIP $(grep 'not checked' "$log" | head -n 1)"
		else
			echo "ok $n - $what"
		fi
	else
		echo "not ok $n - $what"
		sed 's/^/# /' "$log" | tail -n 40
	fi
}
point 1 "checkpatch --strict: module/ and lib/" "$logs/checkpatch.log" \
	make -s --no-print-directory -C "$top" checkpatch
n=1
for k in "${kvers[@]}"; do
	n=$((n + 1))
	point $n "sparse (C=2), no warning from our sources: $k" "$logs/sparse-$k.log" \
		"$top/tools/build-module.sh" --sparse "$k"
done
