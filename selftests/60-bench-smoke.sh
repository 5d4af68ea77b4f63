#!/bin/bash
# timeout: 300
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark in miniature (bench/guest.sh with BENCH_SMOKE=1; `make
# bench` is the real thing, docs/performance.md): every configuration
# (no module, module with 0 / 1 / 200 rules, BPF sock_ops, libkeepalive,
# the application's own setsockopt) runs for half a second over loopback
# and over a veth pair, plus bulk, rule-apply and memory figures. Points:
# each produced numbers, and each configuration's sockets carry what it
# claims (the rule's six values, four for libkeepalive, none without a
# rule). No performance target: that needs `make bench`'s quiet,
# interleaved rounds.
. "$(dirname "$0")/lib/tap.sh"
# The benchmark builds its programs from the source tree and insmods the
# module by path: on a host with tcptimeo installed and no tree, a skip.
if [ -z "${TCPTIMEO_SRC:-}" ] || [ -z "${TCPTIMEO_KO:-}" ] ||
   [ ! -x "${TCPTIMEO_SRC:-}/bench/guest.sh" ]; then
	echo "1..0 # SKIP needs the source tree's bench/ (TCPTIMEO_SRC) and the module's path (TCPTIMEO_KO)"
	exit 4
fi
src=$TCPTIMEO_SRC ko=$TCPTIMEO_KO
work=$PWD

# The binaries from `make bench-build` (build/bench), else built here.
bin=${TCPTIMEO_BENCH_BIN:-$src/build/bench}
if [ ! -x "$bin/ttbench" ] || [ ! -x "$bin/ttrules" ]; then
	bin=$work/bin
	mkdir -p "$bin"
	if command -v clang >/dev/null && [ -f /usr/include/bpf/bpf_helpers.h ]; then
		clang -target bpf -O2 -g -I"/usr/include/$(gcc -dumpmachine)" \
			-c "$src/bench/bpf/stamp.bpf.c" -o "$bin/stamp.bpf.o" 2>"$work/clang.err" ||
			rm -f "$bin/stamp.bpf.o"
	fi
fi

klog_mark
BENCH_SMOKE=1 BENCH_SRC=$src BENCH_OUT=$work BENCH_KO=$ko BENCH_BIN=$bin \
	BENCH_CTL=${TCPTIMEO_CTL:-} "$src/bench/guest.sh" >"$work/guest.log" 2>&1
rc=$?
if [ $rc = 0 ]; then
	ok "bench/guest.sh (smoke) finished"
else
	not_ok "bench/guest.sh (smoke) finished (exit $rc)"
	tail -n 30 "$work/guest.log" | diag
fi

while IFS=$'\t' read -r verdict what why; do
	case $verdict in
	PASS) ok "$what" ;;
	SKIP) skip "$what" "$why" ;;
	*) not_ok "$what" ;;
	esac
done < <(python3 "$src/bench/report.py" "$work/raw.jsonl" --tap 2>&1 ||
	printf 'FAIL\treport.py could not read raw.jsonl\n')

problems=$(klog_problems)
if [ -z "$problems" ]; then
	ok "no kernel warning during the run"
else
	not_ok "no kernel warning during the run"
	diag "$problems"
fi
tap_done
