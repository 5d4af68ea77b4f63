#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
# Run the rules-file fuzzer for $2 seconds; print one TAP point.
# usage: fuzz.sh FUZZER_BINARY SECONDS WORKDIR
bin=$1 secs=$2 work=$3
here=$(dirname "$0")
echo "TAP version 13"
echo "1..1"
if [ "$secs" = 0 ]; then
	echo "ok 1 - fuzz rules-file parser # SKIP FUZZ_SECONDS=0"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "ok 1 - fuzz rules-file parser # SKIP no clang with libFuzzer"
	exit 0
fi
mkdir -p "$work/corpus"
log="$work/fuzz.log"
"$bin" -max_total_time="$secs" -timeout=10 -dict="$here/fuzz.dict" \
	-artifact_prefix="$work/" -print_final_stats=1 \
	"$work/corpus" "$here/corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
if [ $rc -eq 0 ]; then
	echo "ok 1 - fuzz rules-file parser ${secs} s: ${runs:-?} inputs, ${cov:-cov: ?}, no crash or property failure"
else
	echo "not ok 1 - fuzz rules-file parser: exit $rc after ${runs:-?} inputs"
	grep -E 'ERROR|SUMMARY|artifact|==[0-9]+==' "$log" | head -n 20 | sed 's/^/# /'
	exit 1
fi
