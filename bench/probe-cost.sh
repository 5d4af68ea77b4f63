#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/probe-cost.sh: the CPU time spent in tcptimeo's probe and in the
# BPF peer's program, measured inside the VM instead of inferred from
# connection rates (which this shared machine makes noisy to ±5 %):
#
#   module  function_graph on tt_probe (tracefs): the duration of every
#           call, the lookups and the stamping included
#   bpf     kernel.bpf_stats_enabled=1: the program's run_time_ns
#
# Each over a BENCH_SECONDS loopback ttbench run on one vCPU that is busy
# all along, so time in the probe ÷ the run's length is the share of the
# CPU it took (an upper bound: the tracer's own entry/exit cost lands in
# the durations too). Run by `make bench-probe-cost` (bench/vm.sh with
# BENCH_GUEST=bench/probe-cost.sh); one JSON line per configuration in
# $BENCH_OUT/probe-cost.jsonl.
set -uo pipefail
src=${BENCH_SRC:?} out=${BENCH_OUT:?} ko=${BENCH_KO:?}
bin=${BENCH_BIN:-$src/build/bench}
secs=${BENCH_SECONDS:-2}
nrules=${BENCH_NRULES:-10000}
t=/sys/kernel/tracing
pin=/sys/fs/bpf/tt_bench_cost
res=$out/probe-cost.jsonl
: >"$res"

mountpoint -q $t || mount -t tracefs none $t
echo 65536 >$t/buffer_size_kb

crr() { "$bin/ttbench" crr --addr 127.0.0.1 --port 5201 --seconds "$secs" --warmup 0.3; }
rate_of() { sed -n 's/.*"rate":\([0-9.]*\).*/\1/p' <<<"$1"; }
secs_of() { sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' <<<"$1"; }

# CONFIG: the untraced rate, then a traced run: calls, µs in tt_probe
module_cost() {
	local c=$1 plain traced calls us
	plain=$(crr)
	echo tt_probe >$t/set_ftrace_filter
	echo function_graph >$t/current_tracer
	echo >$t/trace
	echo 1 >$t/tracing_on
	traced=$(crr)
	echo 0 >$t/tracing_on
	read -r calls us < <(awk '/tt_probe/ { for (i = 1; i < NF; i++) if ($(i + 1) == "us") { n++; s += $i } }
		END { printf "%d %.1f\n", n, s }' $t/trace)
	echo nop >$t/current_tracer
	echo >$t/set_ftrace_filter
	echo "{\"config\":\"$c\",\"rate\":$(rate_of "$plain"),\"traced_rate\":$(rate_of "$traced"),\"traced_seconds\":$(secs_of "$traced"),\"probe_calls\":$calls,\"probe_us\":$us,\"overruns\":$(awk '/overrun/ {s += $2} END {print s + 0}' $t/per_cpu/cpu0/stats)}" | tee -a "$res"
}

bpf_cost() {
	local plain ns cnt
	sysctl -qw kernel.bpf_stats_enabled=1
	bpftool prog load "$bin/stamp.bpf.o" $pin type sockops &&
		bpftool cgroup attach /sys/fs/cgroup sock_ops pinned $pin || return 1
	plain=$(crr)
	read -r ns cnt < <(bpftool prog show pinned $pin | sed -n 's/.*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2/p')
	bpftool cgroup detach /sys/fs/cgroup sock_ops pinned $pin
	rm -f $pin
	sysctl -qw kernel.bpf_stats_enabled=0
	echo "{\"config\":\"bpf\",\"rate\":$(rate_of "$plain"),\"seconds\":$(secs_of "$plain"),\"prog_runs\":${cnt:-0},\"prog_us\":$(((${ns:-0} + 500) / 1000))}" | tee -a "$res"
}

for round in 1 2 3; do
	insmod "$ko" || exit 1
	module_cost mod0
	"$bin/ttrules" create --match >/dev/null
	sleep 0.3
	module_cost mod1
	"$bin/ttrules" create --disabled --random $((nrules - 1)) --seed "$round" >/dev/null
	"$bin/ttrules" enable >/dev/null
	sleep 1
	module_cost mod10k
	"$bin/ttrules" clear >/dev/null
	rmmod tcptimeo
	bpf_cost
	echo "bench: probe-cost round $round done"
done
