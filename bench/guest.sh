#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/guest.sh: tcptimeo's benchmark, run as root inside the VM (by
# bench/vm-guest.sh for `make bench`, by selftests/60-bench-smoke.sh for
# the smoke run). Writes one JSON object per line to $BENCH_OUT/raw.jsonl;
# bench/report.py turns them into the JSON, Markdown and chart.
#
# Configurations, measured in the same boot, interleaved round by round
# (rounds alternate forward and reverse order, so a slow drift of the
# machine cancels out instead of favouring a configuration):
#   base    no module (the limit)
#   mod0    module loaded, no rules (its tracepoints compiled in, off)
#   mod0nt  the same sources built with the tracepoints compiled out
#           (BENCH_KO_NOTRACE: -DNOTRACE), no rules
#   mod0tp  mod0 with the tracepoints on: events tcptimeo/* enabled in a
#           tracefs instance of the bench's own (instances/ttbench, 1 MiB
#           buffer) and its trace_pipe drained to /dev/null meanwhile, as
#           a monitor would
#   mod1    module, the one matching rule (bench/ttrules.c: zz-bench)
#   mod1nt  the NOTRACE module, the matching rule
#   mod1tp  mod1 with the tracepoints on (tcptimeo:stamp fires twice per
#           connection)
#   mod10k  module, BENCH_NRULES-1 random rules + the matching one, last
#   bpf     bench/bpf/stamp.bpf.c on the root cgroup's sock_ops (no module)
#   libka   LD_PRELOAD=libkeepalive.so with the same keepalive values
#   app     the application sets the six values itself (ttbench
#           --setsockopt): what the stamped options cost by themselves
#   mod10kfar  (not by default; an investigation) like mod10k, but no
#           random rule shares an index bucket with the benchmark's ports
# After each insmod in the rounds, one unrecorded run (the first run after
# insmod pays for QEMU translating the module's code), so that the first
# configuration measured after a module swap is not penalized.
# Then the setsockopt() path (ttbench sso: one connected socket, a
# setsockopt() loop; TCP_KEEPIDLE, which the module's probes watch, and
# TCP_NODELAY, which they do not), interleaved the same way, for
#   base mod0   as above
#   mod1        the matching rule (mode fill) stamped the socket; the
#               loop's every other call replaces the rule's keepidle, a
#               task_work each (counted in skipped_app_set): the worst
#               case of fill, which an application meets once per value
#   modforce    the matching rule in mode force: every TCP_KEEPIDLE call
#               is put back (a task_work per call)
# Then the rule-shape matrix (loopback connections/s, same boot): no
# module (sbase), the matching rule alone (s1), and BENCH_NRULES-1
# non-matching rules of each shape in BENCH_SHAPES (bench/ttrules.c
# --shape) with the matching rule last, measured once the index holds
# them all; then "burst": the mix written one rule at a time and measured
# BENCH_BURST_WAIT (0.5) s after the last write, whatever the index did.
# Each: connections/s over loopback and over a veth pair between two
# network namespaces (ttbench crr); bulk throughput (ttbench bulk) for
# base, mod1 and mod10k. Then the rule-apply times (configfs burst, and
# tcptimeoctl apply when BENCH_CTL is there) and memory per rule.
#
# Environment (defaults; BENCH_SMOKE=1 makes every one tiny):
#   BENCH_SRC, BENCH_OUT       source tree, results folder (required)
#   BENCH_KO                   the module (required)
#   BENCH_KO_NOTRACE           the module built with -DNOTRACE (optional:
#                              without it mod0nt and mod1nt are skipped)
#   BENCH_BIN                  ttbench, ttrules, stamp.bpf.o ($BENCH_SRC/build/bench)
#   BENCH_CTL                  tcptimeoctl (optional)
#   BENCH_REPS 6  BENCH_SECONDS 3  BENCH_WARMUP 0.5  BENCH_CLIENTS 2
#   BENCH_NRULES 10000  BENCH_BULK_BYTES 1 GiB  BENCH_BULK_REPS 5
#   BENCH_APPLY_SIZES "1000 10000"  BENCH_APPLY_REPS 2
#   BENCH_CONFIGS "base mod0nt mod0 mod0tp mod1nt mod1 mod1tp mod10k bpf
#                 libka app"
#   BENCH_MIN_SHARE 0.9  BENCH_RETRIES 4 (see measure_one)
#   BENCH_SSO_CONFIGS "base mod0 mod1 modforce" (empty: no setsockopt phase)
#   BENCH_SHAPES "svc rport-any lport-out cidr4 cidr6 cgroup netns mix"
#                (smoke: "mix"; empty: no shape phase)  BENCH_SHAPE_REPS 3
#   BENCH_SHAPE_PAIRS 6  BENCH_SHAPE_SECONDS 1.5   per shape and round, A/B
#                pairs of the set on and off (0: none)
set -uo pipefail
src=${BENCH_SRC:?} out=${BENCH_OUT:?} ko=${BENCH_KO:?}
ko_nt=${BENCH_KO_NOTRACE:-}
bin=${BENCH_BIN:-$src/build/bench}
ctl=${BENCH_CTL:-}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	d_reps=1 d_secs=0.5 d_warm=0.2 d_nrules=200 d_bulk=$((64 << 20))
	d_bulk_reps=1 d_sizes="100 1000" d_apply_reps=1
	d_shapes="mix" d_shape_reps=1 d_shape_pairs=1 d_pair_secs=0.5
else
	d_reps=6 d_secs=3 d_warm=0.5 d_nrules=10000 d_bulk=$((1 << 30))
	d_bulk_reps=5 d_sizes="1000 10000" d_apply_reps=2
	d_shapes="svc rport-any lport-out cidr4 cidr6 cgroup netns mix"
	d_shape_reps=3 d_shape_pairs=6 d_pair_secs=1.5
fi
reps=${BENCH_REPS:-$d_reps}
secs=${BENCH_SECONDS:-$d_secs}
warm=${BENCH_WARMUP:-$d_warm}
clients=${BENCH_CLIENTS:-2}
nrules=${BENCH_NRULES:-$d_nrules}
bulk_bytes=${BENCH_BULK_BYTES:-$d_bulk}
bulk_reps=${BENCH_BULK_REPS:-$d_bulk_reps}
apply_sizes=${BENCH_APPLY_SIZES-$d_sizes}	# empty: no apply/memory phase
apply_reps=${BENCH_APPLY_REPS:-$d_apply_reps}
configs=${BENCH_CONFIGS:-base mod0nt mod0 mod0tp mod1nt mod1 mod1tp mod10k bpf libka app}
sso_configs=${BENCH_SSO_CONFIGS-base mod0 mod1 modforce}
shapes=${BENCH_SHAPES-$d_shapes}
shape_reps=${BENCH_SHAPE_REPS:-$d_shape_reps}
n_pairs=${BENCH_SHAPE_PAIRS:-$d_shape_pairs}
pair_secs=${BENCH_SHAPE_SECONDS:-$d_pair_secs}
shape_state=
burst_wait=${BENCH_BURST_WAIT:-0.5}
bulk_configs=${BENCH_BULK_CONFIGS:-base mod1 mod10k}
min_share=${BENCH_MIN_SHARE:-0.9}
retries=${BENCH_RETRIES:-4}
raw=$out/raw.jsonl
rules=/sys/kernel/config/tcptimeo/rules
stats=/sys/kernel/tcptimeo/stats
libka=/usr/lib/libkeepalive.so
pin=/sys/fs/bpf/tt_bench
tracing=/sys/kernel/tracing
tp_inst=$tracing/instances/ttbench
tp_reader=
loaded_ko=	# the .ko tcptimeo was loaded from ("": $ko)
# the matching rule's values (bench/ttrules.c BENCH_*, bench/bpf/stamp.bpf.c)
ka_env=(KEEPIDLE=10 KEEPINTVL=5 KEEPCNT=3)
failures=0
# the host's QEMU threads (bench/vm.sh): CPU time actually spent
host_cpu=()
[ -n "${BENCH_HOST_CPU:-}" ] && [ -d "$BENCH_HOST_CPU" ] && host_cpu=(--host-cpu "$BENCH_HOST_CPU")
crr_limit=$(awk -v s="$secs" -v w="$warm" 'BEGIN {print int(s + w + 60)}')
insmod_warm=$(awk -v s="$secs" 'BEGIN {print (s < 1 ? s : 1)}')
bulk_limit=$((bulk_bytes / 5000000 + 60))	# at 5 MB/s

say() { echo "bench: $*"; }
emit() { echo "$1" >>"$raw"; }
fail() {
	say "ERROR: $*"
	failures=$((failures + 1))
	emit "{\"kind\":\"error\",\"what\":\"$*\"}"
}
want() { case " $configs " in *" $1 "*) return 0 ;; esac; return 1; }
skip_config() {		# CONFIG REASON: not measured in this run
	local c rest=
	want "$1" || return 0
	for c in $configs; do [ "$c" = "$1" ] || rest+="$c "; done
	configs=${rest% }
	emit "{\"kind\":\"skip\",\"config\":\"$1\",\"reason\":\"$2\"}"
	say "$1 skipped: $2"
}
ns_now() { date +%s%N; }

# ---- what the runs need ----

prepare_bins() {
	local cc=${CC:-gcc}
	mkdir -p "$bin" 2>/dev/null
	for t in ttbench ttrules; do
		[ -x "$bin/$t" ] && continue
		say "building $t in $bin"
		"$cc" -O2 -pthread -o "$bin/$t" "$src/bench/$t.c" || { fail "cannot build $t"; return 1; }
	done
}

setup_net() {
	local ns
	ip netns add ttb-cli && ip netns add ttb-srv || return 1
	ip link add ttb0 netns ttb-cli type veth peer name ttb1 netns ttb-srv || return 1
	ip -n ttb-cli addr add 10.200.0.1/24 dev ttb0
	ip -n ttb-srv addr add 10.200.0.2/24 dev ttb1
	for ns in ttb-cli ttb-srv; do
		ip -n $ns link set lo up
	done
	ip -n ttb-cli link set ttb0 up
	ip -n ttb-srv link set ttb1 up
	# The server closes first, so TIME_WAIT would sit there, and its
	# population (up to the limit, then none) would make a connection's
	# cost depend on the runs before it. No TIME_WAIT at all: every run
	# pays the same.
	for ns in "" ttb-cli ttb-srv; do
		${ns:+ip netns exec $ns} sysctl -qw net.ipv4.tcp_max_tw_buckets=0
	done
	ip netns exec ttb-cli ping -c1 -W2 10.200.0.2 >/dev/null 2>&1 || true
}

teardown_net() {
	ip netns del ttb-cli 2>/dev/null
	ip netns del ttb-srv 2>/dev/null
}

# ---- configurations ----

mod_load() {		# [KO]: tcptimeo from KO ($ko); another one is unloaded first
	local k=${1:-$ko}
	if [ -d /sys/module/tcptimeo ]; then
		[ "${loaded_ko:-$ko}" = "$k" ] && return 0
		mod_unload || return 1
	fi
	insmod "$k" || { fail "insmod $k"; return 1; }
	loaded_ko=$k
}

mod_unload() {
	[ -d /sys/module/tcptimeo ] || return 0
	"$bin/ttrules" clear >/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmmod tcptimeo 2>/dev/null && { loaded_ko=; return 0; }
		sleep 0.5
	done
	fail "rmmod tcptimeo"
	return 1
}

# The rounds' insmod: KO loaded (if it is not already), which tcptimeo
# events it brought recorded (none for the NOTRACE build), then one
# unrecorded loopback run (1 s; BENCH_SECONDS if shorter).
round_load() {		# KO WHICH ROUND
	local e ev=
	[ -d /sys/module/tcptimeo ] && [ "${loaded_ko:-$ko}" = "$1" ] && return 0
	mod_load "$1" || return 1
	for e in "$tracing"/events/tcptimeo/*/; do
		[ -d "$e" ] && e=${e%/} && ev+="${e##*/} "
	done
	emit "{\"kind\":\"modload\",\"module\":\"$2\",\"round\":$3,\"events\":\"${ev% }\"}"
	run_tt "$crr_limit" warmup-insmod "$bin/ttbench" crr --addr 127.0.0.1 \
		--port 5201 --seconds "$insmod_warm" --warmup 0 >/dev/null
}

# Tracepoints on: the events of category tcptimeo enabled in an instance
# of the bench's own, its trace_pipe read to /dev/null in the background.
tp_on() {
	mkdir "$tp_inst" || { fail "mkdir $tp_inst"; return 1; }
	if [ ! -d "$tp_inst/events/tcptimeo" ]; then
		fail "no tcptimeo events in $tp_inst (is BENCH_KO a NOTRACE build?)"
		rmdir "$tp_inst"
		return 1
	fi
	echo 1024 >"$tp_inst/buffer_size_kb"
	echo 1 >"$tp_inst/events/tcptimeo/enable" || { fail "enable tcptimeo events"; rmdir "$tp_inst"; return 1; }
	echo 1 >"$tp_inst/tracing_on"
	cat "$tp_inst/trace_pipe" >/dev/null &
	tp_reader=$!
}

# ... and off again: what the instance saw (events read by the reader,
# left in the buffer, overwritten, dropped) as a record of CONFIG ROUND.
tp_off() {		# CONFIG ROUND
	local st
	echo 0 >"$tp_inst/tracing_on"
	echo 0 >"$tp_inst/events/tcptimeo/enable" || fail "disable tcptimeo events"
	sleep 0.2	# the reader drains what is left
	st=$(awk '/^entries:/ {e += $2} /^overrun:/ {o += $2}
		/^dropped events:/ {d += $3} /^read events:/ {r += $3}
		END {printf "\"read\":%d,\"entries\":%d,\"overrun\":%d,\"dropped\":%d", r, e, o, d}' \
		"$tp_inst"/per_cpu/cpu*/stats)
	kill "$tp_reader" 2>/dev/null
	wait "$tp_reader" 2>/dev/null
	tp_reader=
	rmdir "$tp_inst" || fail "rmdir $tp_inst"
	emit "{\"kind\":\"trace\",\"config\":\"$1\",\"round\":$2,$st}"
	say "$1 round $2: tracepoints off again ($st)"
}

# ROUND ARGS...: create rules (created disabled, then enabled: the same
# table as one interleaved burst, in a fraction of its time: see the apply
# phase). The index follows within 10 ms.
rules_create() {
	local r=$1 res
	shift
	res=$("$bin/ttrules" create --disabled "$@") || fail "ttrules create $*"
	emit "{\"kind\":\"round_create\",\"round\":$r,\"result\":${res:-null}}"
	"$bin/ttrules" enable >/dev/null || fail "ttrules enable"
	sleep 0.5
}

rules_clear() {
	"$bin/ttrules" clear "$@" >/dev/null || fail "ttrules clear $*"
	sleep 0.3
}

have_bpf() { [ -s "$bin/stamp.bpf.o" ] && command -v bpftool >/dev/null; }

bpf_on() {
	bpftool prog load "$bin/stamp.bpf.o" "$pin" type sockops &&
		bpftool cgroup attach /sys/fs/cgroup sock_ops pinned "$pin" ||
		{ fail "bpf attach"; rm -f "$pin"; return 1; }
}

bpf_off() {
	bpftool cgroup detach /sys/fs/cgroup sock_ops pinned "$pin" || fail "bpf detach"
	rm -f "$pin"
}

# Dump what a stuck ttbench waits for (threads' kernel stacks, sockets).
dump_hang() {		# PID LABEL
	local t f=$out/hang-$2.txt
	{
		echo "== $2: ttbench $1 did not finish"
		for t in /proc/"$1"/task/*; do
			echo "-- thread ${t##*/} $(cat "$t/comm") wchan=$(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done
		echo "-- sockets (root, ttb-cli, ttb-srv)"
		ss -tanoie | head -n 40
		ip netns exec ttb-cli ss -tanoie | head -n 40
		ip netns exec ttb-srv ss -tanoie | head -n 40
		nstat -az 2>/dev/null | grep -i -e Tcp -e Drop | head -n 60
	} >"$f" 2>&1
	say "hang: see $f"
	head -n 30 "$f"
}

# ttbench with a watchdog: LIMIT LABEL ARGS...; its JSON on stdout.
run_tt() {
	local limit=$1 label=$2 pid wd rc
	shift 2
	"$@" >/tmp/tt.out &
	pid=$!
	# (wait, not a foreground sleep: the TERM below must end it at once)
	(
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		sleep "$limit" & sp=$!
		wait $sp
		kill -0 $pid 2>/dev/null && { dump_hang $pid "$label" >&2; kill -9 $pid; }
	) &
	wd=$!
	wait $pid
	rc=$?
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
	cat /tmp/tt.out
	return $rc
}

stamped() {		# "in out" counters, or "0 0" without the module
	if [ -r $stats/stamped_in ]; then
		echo "$(cat $stats/stamped_in) $(cat $stats/stamped_out)"
	else
		echo "0 0"
	fi
}

# ---- measurements ----

# The host's CPU share of this VM during a result: QEMU's CPU-seconds per
# wall second (about 1.0 with one vCPU when nobody else competes), or
# "" when the host's CPU time is unknown.
share_of() {
	sed -n 's/.*"seconds":\([0-9.]*\),.*"host_cpu_s":\([0-9.]*\),.*/\1 \2/p' <<<"$1" |
		awk '$1 > 0 {printf "%.3f", $2 / $1}'
}

# One measurement, repeated while the host starved the VM (share below
# BENCH_MIN_SHARE): other people's VMs on a shared machine make TCG's
# speed swing several-fold, and per-host-CPU rates fall with it (cold
# caches). Rejected attempts stay in raw.jsonl, marked "discarded".
# KIND CONFIG PATH ROUND LIMIT CMD...
measure_one() {
	local kind=$1 c=$2 p=$3 r=$4 limit=$5 res s0 s1 share try=1 extra
	shift 5
	while :; do
		read -ra s0 < <(stamped)
		res=$(run_tt "$limit" "$kind-$c-$p-$r" "$@") || fail "ttbench $kind $c $p round $r"
		read -ra s1 < <(stamped)
		share=$(share_of "$res")
		extra="\"stamped_in\":$((s1[0] - s0[0])),\"stamped_out\":$((s1[1] - s0[1])),\"attempt\":$try,\"share\":${share:-null}"
		if [ -n "$res" ] && [ -n "$share" ] && [ "$try" -le "$retries" ] &&
			awk -v s="$share" -v m="$min_share" 'BEGIN {exit !(s < m)}'; then
			emit "{\"kind\":\"$kind\",\"config\":\"$c\",\"path\":\"$p\",\"round\":$r,$extra,\"discarded\":true,\"result\":$res}"
			say "$kind $c $p round $r: host share $share < $min_share, again"
			try=$((try + 1))
			sleep 2
			continue
		fi
		emit "{\"kind\":\"$kind\",\"config\":\"$c\",\"path\":\"$p\",\"round\":$r,$extra,\"result\":${res:-null}}"
		say "$kind $c $p round $r: $(sed -n 's/.*"\(rate\|mbytes_per_s\)":\([0-9.]*\).*/\2/p' <<<"$res") (share ${share:-?})"
		return 0
	done
}

measure() {		# CONFIG ROUND
	local c=$1 r=$2 pre=() app=() p args
	want "$c" || return 0
	[ "$c" = libka ] && pre=(env "LD_PRELOAD=$libka" "${ka_env[@]}")
	[ "$c" = app ] && app=(--setsockopt)
	for p in lo veth; do
		if [ $p = lo ]; then
			args=(--addr 127.0.0.1 --port 5201)
		else
			args=(--addr 10.200.0.2 --port 5202 --server-netns ttb-srv --client-netns ttb-cli)
		fi
		measure_one crr "$c" $p "$r" "$crr_limit" "${pre[@]}" "$bin/ttbench" crr \
			"${args[@]}" "${app[@]}" "${host_cpu[@]}" --clients "$clients" \
			--seconds "$secs" --warmup "$warm"
	done
	case " $bulk_configs " in *" $c "*) ;; *) return 0 ;; esac
	[ "$r" -lt "$bulk_reps" ] || return 0
	measure_one bulk "$c" lo "$r" "$bulk_limit" "${pre[@]}" "$bin/ttbench" bulk \
		--addr 127.0.0.1 --port 5203 "${app[@]}" "${host_cpu[@]}" --bytes "$bulk_bytes"
}

measure_tp() {		# CONFIG ROUND: CONFIG with the tracepoints on
	want "$1" || return 0
	tp_on || return 0
	measure "$1" "$2"
	tp_off "$1" "$2"
}

want_nt() { want mod0nt || want mod1nt; }

# base app libka bpf mod0nt mod1nt mod0 mod0tp mod1 mod1tp mod10k
round_forward() {
	local r=$1
	measure base "$r"
	measure app "$r"
	measure libka "$r"
	if want bpf; then bpf_on && { measure bpf "$r"; bpf_off; }; fi
	if want_nt; then
		round_load "$ko_nt" notrace "$r" || return 1
		measure mod0nt "$r"
		if want mod1nt; then
			rules_create "$r" --match
			measure mod1nt "$r"
		fi
		mod_unload
	fi
	round_load "$ko" normal "$r" || return 1
	measure mod0 "$r"
	measure_tp mod0tp "$r"
	rules_create "$r" --match
	measure mod1 "$r"
	measure_tp mod1tp "$r"
	if want mod10k; then
		rules_create "$r" --random $((nrules - 1)) --seed "$r"
		measure mod10k "$r"
	fi
	if want mod10kfar; then
		rules_clear --prefix r
		rules_create "$r" --random $((nrules - 1)) --seed "$r" --far
		measure mod10kfar "$r"
	fi
	mod_unload
}

# mod10k mod1tp mod1 mod0tp mod0 mod1nt mod0nt bpf libka app base
round_reverse() {
	local r=$1
	round_load "$ko" normal "$r" || return 1
	if want mod10k; then
		rules_create "$r" --random $((nrules - 1)) --match --seed "$r"
		measure mod10k "$r"
		rules_clear --prefix r
		if want mod10kfar; then
			rules_create "$r" --random $((nrules - 1)) --seed "$r" --far
			measure mod10kfar "$r"
			rules_clear --prefix r
		fi
	else
		rules_create "$r" --match
	fi
	measure_tp mod1tp "$r"
	measure mod1 "$r"
	rules_clear
	measure_tp mod0tp "$r"
	measure mod0 "$r"
	mod_unload
	if want_nt; then
		round_load "$ko_nt" notrace "$r" || return 1
		if want mod1nt; then
			rules_create "$r" --match
			measure mod1nt "$r"
			rules_clear
		fi
		measure mod0nt "$r"
		mod_unload
	fi
	if want bpf; then bpf_on && { measure bpf "$r"; bpf_off; }; fi
	measure libka "$r"
	measure app "$r"
	measure base "$r"
}

# The setsockopt() loop of CONFIG (the module and rules already set up)
sso_one() {		# CONFIG ROUND
	local o
	case " $sso_configs " in *" $1 "*) ;; *) return 0 ;; esac
	for o in keepidle nodelay; do
		measure_one sso "$1" "$o" "$2" "$crr_limit" "$bin/ttbench" sso \
			--addr 127.0.0.1 --port 5204 --opt "$o" "${host_cpu[@]}" \
			--seconds "$secs" --warmup "$warm"
	done
}

sso_mod() {		# ROUND: mod0 mod1 modforce, or reversed
	local r=$1 c
	mod_load || return 1
	for c in $([ $((r % 2)) = 0 ] && echo mod0 mod1 modforce || echo modforce mod1 mod0); do
		rules_clear
		[ "$c" = mod0 ] || "$bin/ttrules" create --match >/dev/null || fail "ttrules create --match"
		[ "$c" = modforce ] && { echo force >$rules/zz-bench/mode || fail "zz-bench mode force"; }
		sso_one "$c" "$r"
	done
	mod_unload
}

measure_sockopt() {
	local r
	for r in $(seq 0 $((reps - 1))); do
		say "setsockopt round $((r + 1))/$reps"
		if [ $((r % 2)) = 0 ]; then
			sso_one base "$r"
			sso_mod "$r"
		else
			sso_mod "$r"
			sso_one base "$r"
		fi
	done
}

# Until debugfs tcptimeo/index says the index holds every live rule.
index_current() {
	local i
	for i in $(seq 1 600); do
		grep -qx 'current 1' /sys/kernel/debug/tcptimeo/index 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the index did not catch up in 30 s"
}

shape_crr() {		# CONFIG ROUND [KIND [SECONDS]]
	measure_one "${3:-shape}" "$1" lo "$2" "$crr_limit" "$bin/ttbench" crr \
		--addr 127.0.0.1 --port 5201 "${host_cpu[@]}" --clients "$clients" \
		--seconds "${4:-$secs}" --warmup "$warm"
}

# The set's rules switched on (enabled=1) or off (enabled=0): a set
# leaves the live table and comes back without being made again.
shape_set() {		# on|off
	[ "$shape_state" = "$1" ] && return 0
	if [ "$1" = on ]; then
		"$bin/ttrules" enable --prefix r >/dev/null || fail "ttrules enable"
	else
		"$bin/ttrules" disable --prefix r >/dev/null || fail "ttrules disable"
	fi
	shape_state=$1
	index_current
}

# BENCH_SHAPE_PAIRS short A/B pairs of SHAPE (the set enabled) against
# the matching rule alone (the set disabled), in ABBA order, so that a
# drift of the host's speed within the pairs cancels out. One pair is
# two runs a few seconds apart, so the host changes little between its
# halves: the median of the pairs' ratios resolves what the rounds'
# rates, minutes apart, cannot (docs/performance.md).
shape_pairs() {		# SHAPE ROUND (the set live on entry and on return)
	local sh=$1 r=$2 p k half c
	shape_state=on
	for p in $(seq 0 $((n_pairs - 1))); do
		k=$((r * 1000 + p))
		for half in $( [ $((p % 2)) = 0 ] && echo off on || echo on off); do
			shape_set "$half"
			if [ "$half" = on ]; then c=shape-$sh; else c=s1-$sh; fi
			shape_crr "$c" "$k" shape_pair "$pair_secs"
		done
	done
	shape_set on
}

measure_shapes() {
	local r sh i res order ids=()
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	for i in 1 2 3 4 5 6 7 8; do
		ip netns add "ttb-shape$i" || fail "ip netns add ttb-shape$i"
		ids+=("$(stat -L -c %i "/run/netns/ttb-shape$i")")
	done
	export TTRULES_NETNS="${ids[*]}"
	"$bin/ttrules" cgroups --random $((nrules - 1)) || fail "ttrules cgroups"
	for r in $(seq 0 $((shape_reps - 1))); do
		say "shape round $((r + 1))/$shape_reps"
		order=$shapes
		[ $((r % 2)) = 0 ] || order=$(tr ' ' '\n' <<<"$shapes" | tac | tr '\n' ' ')
		shape_crr sbase "$r"
		mod_load || return 1
		"$bin/ttrules" create --match >/dev/null || fail "ttrules create --match"
		index_current
		# not recorded: the first run after insmod pays for QEMU
		# translating the module's code (s1 came out 10-25 % low)
		run_tt "$crr_limit" warmup-s1 "$bin/ttbench" crr --addr 127.0.0.1 \
			--port 5201 --seconds "$secs" --warmup "$warm" >/dev/null
		for sh in $order; do
			res=$("$bin/ttrules" create --disabled --shape "$sh" --random $((nrules - 1)) --seed "$r") ||
				fail "ttrules create --shape $sh"
			"$bin/ttrules" enable --prefix r >/dev/null || fail "ttrules enable"
			index_current
			emit "{\"kind\":\"shape_index\",\"config\":\"shape-$sh\",\"round\":$r,\"index\":\"$(tr '\n' ';' </sys/kernel/debug/tcptimeo/index)\"}"
			shape_crr "shape-$sh" "$r"
			shape_pairs "$sh" "$r"
			rules_clear --prefix r
		done
		# one rule after the shapes, not first: measured first it came
		# out below most 10,000-rule sets in every round, warm-up or not
		index_current
		shape_crr s1 "$r"
		# a burst written one rule at a time (each enabled as it is made)
		res=$("$bin/ttrules" create --shape mix --random $((nrules - 1)) --seed "$r") ||
			fail "ttrules create (burst)"
		emit "{\"kind\":\"shape_burst\",\"round\":$r,\"result\":${res:-null}}"
		sleep "$burst_wait"
		shape_crr burst "$r"
		rules_clear
		mod_unload
	done
	rmdir /sys/fs/cgroup/ttshape/c* /sys/fs/cgroup/ttshape 2>/dev/null
	for i in 1 2 3 4 5 6 7 8; do ip netns del "ttb-shape$i"; done
	unset TTRULES_NETNS
}

meminfo() {		# "Slab SReclaimable SUnreclaim VmallocUsed Percpu" in kB
	awk '/^(Slab|SReclaimable|SUnreclaim|VmallocUsed|Percpu):/ {v[$1] = $2}
	     END {print v["Slab:"], v["SReclaimable:"], v["SUnreclaim:"], v["VmallocUsed:"], v["Percpu:"]}' /proc/meminfo
}

settle() { sync; echo 2 >/proc/sys/vm/drop_caches; sleep 0.3; }

# Memory held per rule: meminfo and /proc/slabinfo around a burst of N.
measure_memory() {	# N
	local n=$1 m0 m1 m2 top
	settle
	read -ra m0 < <(meminfo)
	cp /proc/slabinfo /tmp/slab0
	"$bin/ttrules" create --random "$n" --seed 99 >/dev/null || fail "ttrules create (memory)"
	sleep 0.5
	read -ra m1 < <(meminfo)
	settle
	read -ra m2 < <(meminfo)
	cp /proc/slabinfo /tmp/slab2
	cp /tmp/slab0 "$out/slabinfo.before"
	cp /tmp/slab2 "$out/slabinfo.after"
	top=$(awk 'FNR == 1 {f++} /^#|^slabinfo/ {next}
		f == 1 {b[$1] = $3 * $4} f == 2 {a[$1] = $3 * $4}
		END {for (k in a) {d = a[k] - b[k]; if (d > 0) print d, k}}' /tmp/slab0 /tmp/slab2 |
		sort -rn | head -n 8 | awk '{printf "%s{\"cache\":\"%s\",\"bytes\":%d}", (NR > 1 ? "," : ""), $2, $1}')
	emit "{\"kind\":\"memory\",\"rules\":$n,\"before_kb\":{\"slab\":${m0[0]},\"slab_reclaimable\":${m0[1]},\"slab_unreclaimable\":${m0[2]},\"vmalloc\":${m0[3]},\"percpu\":${m0[4]}},\"after_kb\":{\"slab\":${m1[0]},\"slab_reclaimable\":${m1[1]},\"slab_unreclaimable\":${m1[2]},\"vmalloc\":${m1[3]},\"percpu\":${m1[4]}},\"after_drop_caches_kb\":{\"slab\":${m2[0]},\"slab_reclaimable\":${m2[1]},\"slab_unreclaimable\":${m2[2]},\"vmalloc\":${m2[3]},\"percpu\":${m2[4]}},\"slab_caches\":[$top]}"
	rules_clear
}

# Runs "$@" (output in /tmp/mkdir_time.out) and prints "SECONDS MKDIR N":
# its elapsed time, and the time spent in mkdir(2) by any process
# meanwhile (function_graph on do_mkdirat: configfs's own O(n) sibling
# walks are in there) over N calls; "null 0" where nothing can trace.
# The tracer is set up before the clock starts and read after it stops.
mkdir_time() {
	local t=/sys/kernel/tracing rc t0 t1 traced=1
	mountpoint -q $t || mount -t tracefs none $t 2>/dev/null
	if echo do_mkdirat 2>/dev/null >$t/set_ftrace_filter; then
		echo 16384 >$t/buffer_size_kb
		echo 1 >$t/max_graph_depth
		echo function_graph >$t/current_tracer
		echo >$t/trace
		echo 1 >$t/tracing_on
	else
		traced=0
	fi
	t0=$(ns_now)
	"$@" >/tmp/mkdir_time.out 2>&1
	rc=$?
	t1=$(ns_now)
	printf '%s ' "$(((t1 - t0) / 1000))e-6"
	if [ $traced = 1 ]; then
		echo 0 >$t/tracing_on
		awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "us") { n++; s += $i } }
			END { if (n) printf "%.4f %d\n", s / 1e6, n; else print "null 0" }' $t/trace
		echo nop >$t/current_tracer
		echo >$t/set_ftrace_filter
		echo 0 >$t/max_graph_depth
	else
		echo "null 0"
	fi
	return $rc
}

# Creating N rules from nothing: configfs burst, then tcptimeoctl apply.
measure_apply() {
	local rep n res t0 t1 f secs_ mk nmk
	for rep in $(seq 1 "$apply_reps"); do
		for n in $apply_sizes; do
			res=$("$bin/ttrules" create --random "$n" --seed $((100 + rep))) || fail "ttrules create $n"
			emit "{\"kind\":\"apply\",\"tool\":\"configfs\",\"op\":\"create\",\"rules\":$n,\"rep\":$rep,\"result\":${res:-null}}"
			say "configfs: $n rules created: $res"
			sleep 0.3
			res=$("$bin/ttrules" clear) || fail "ttrules clear $n"
			emit "{\"kind\":\"apply\",\"tool\":\"configfs\",\"op\":\"delete\",\"rules\":$n,\"rep\":$rep,\"result\":${res:-null}}"
			sleep 0.3
			# the same burst in two halves: configfs alone, then the table
			res=$("$bin/ttrules" create --disabled --random "$n" --seed $((100 + rep))) || fail "ttrules create --disabled $n"
			emit "{\"kind\":\"apply\",\"tool\":\"configfs\",\"op\":\"create-disabled\",\"rules\":$n,\"rep\":$rep,\"result\":${res:-null}}"
			res=$("$bin/ttrules" enable) || fail "ttrules enable $n"
			emit "{\"kind\":\"apply\",\"tool\":\"configfs\",\"op\":\"enable\",\"rules\":$n,\"rep\":$rep,\"result\":${res:-null}}"
			say "configfs: $n rules created disabled, then enabled: $res"
			rules_clear
			[ -n "$ctl" ] && [ -x "$ctl" ] || continue
			f=/tmp/rules-$n.conf
			[ -s "$f" ] || "$bin/ttrules" file --random "$n" --seed 100 >"$f"
			: >/tmp/rules-empty.conf
			res=$(mkdir_time "$ctl" apply "$f") ||
				fail "tcptimeoctl apply $n: $(tail -n 1 /tmp/mkdir_time.out)"
			read -r secs_ mk nmk <<<"$res"
			emit "{\"kind\":\"apply\",\"tool\":\"tcptimeoctl\",\"op\":\"create\",\"rules\":$n,\"rep\":$rep,\"result\":{\"rules\":$(ls $rules | wc -l),\"seconds\":${secs_:-null},\"mkdir_seconds\":${mk:-null},\"mkdir_calls\":${nmk:-0}}}"
			say "tcptimeoctl apply: $n rules in $secs_ s ($mk s in mkdir)"
			sleep 0.3
			t0=$(ns_now)
			"$ctl" apply /tmp/rules-empty.conf >/tmp/ctl.out 2>&1 || fail "tcptimeoctl apply (empty): $(tail -n 1 /tmp/ctl.out)"
			t1=$(ns_now)
			emit "{\"kind\":\"apply\",\"tool\":\"tcptimeoctl\",\"op\":\"delete\",\"rules\":$n,\"rep\":$rep,\"result\":{\"rules\":$n,\"seconds\":$(((t1 - t0) / 1000))e-6}}"
			rules_clear
		done
	done
}

main() {
	local r n l klog klog0
	klog0=$(dmesg | wc -l)
	: >"$raw"
	prepare_bins || return 1
	emit "{\"kind\":\"meta\",\"kver\":\"$(uname -r)\",\"cpus\":$(nproc),\"mem_kb\":$(awk '/MemTotal/ {print $2}' /proc/meminfo),\"smoke\":${BENCH_SMOKE:-0},\"reps\":$reps,\"seconds\":$secs,\"warmup\":$warm,\"clients\":$clients,\"nrules\":$nrules,\"shape_pairs\":$n_pairs,\"pair_seconds\":$pair_secs,\"bulk_bytes\":$bulk_bytes,\"min_share\":$min_share,\"retries\":$retries,\"configs\":\"$configs\",\"sso_configs\":\"$sso_configs\",\"ko\":\"$ko\",\"ko_notrace\":\"$ko_nt\",\"ctl\":\"$ctl\",\"start\":\"$(date -u +%FT%TZ)\"}"
	if want bpf && ! have_bpf; then
		emit "{\"kind\":\"skip\",\"config\":\"bpf\",\"reason\":\"no stamp.bpf.o or bpftool\"}"
		configs=${configs/bpf/}
	fi
	if want libka && [ ! -e $libka ]; then
		emit "{\"kind\":\"skip\",\"config\":\"libka\",\"reason\":\"no $libka\"}"
		configs=${configs/libka/}
	fi
	if [ -z "$ko_nt" ] || [ ! -f "$ko_nt" ]; then
		for r in mod0nt mod1nt; do
			skip_config $r "no NOTRACE module (BENCH_KO_NOTRACE${ko_nt:+ $ko_nt}; make bench-build builds one)"
		done
	fi
	# (tracefs also says which events each module load brought: modload)
	mountpoint -q $tracing || mount -t tracefs nodev $tracing 2>/dev/null
	if want mod0tp || want mod1tp; then
		if [ ! -d $tracing/instances ]; then
			for r in mod0tp mod1tp; do skip_config $r "no tracefs instances"; done
		fi
		rmdir "$tp_inst" 2>/dev/null	# left over: not ours to keep
	fi
	setup_net || { fail "network namespaces"; return 1; }
	# warm-up, not recorded: page cache, QEMU's translated code, neighbours
	for r in "--addr 127.0.0.1 --port 5201" "--addr 10.200.0.2 --port 5202 --server-netns ttb-srv --client-netns ttb-cli"; do
		# shellcheck disable=SC2086
		run_tt "$crr_limit" warmup "$bin/ttbench" crr $r --seconds "$secs" >/dev/null
	done
	for r in $(seq 0 $((reps - 1))); do
		say "round $((r + 1))/$reps ($([ $((r % 2)) = 0 ] && echo forward || echo reverse))"
		if [ $((r % 2)) = 0 ]; then round_forward "$r"; else round_reverse "$r"; fi
	done
	[ -n "${sso_configs// /}" ] && measure_sockopt
	[ -n "${shapes// /}" ] && measure_shapes
	[ -n "${apply_sizes// /}" ] && mod_load && {
		n=${apply_sizes##* }
		measure_memory "$n"
		measure_apply
		mod_unload
	}
	teardown_net
	mapfile -t klog < <(dmesg | tail -n +$((klog0 + 1)) |
		grep -E 'WARNING|BUG|Oops|Call Trace' | head -n 5)
	for l in "${klog[@]}"; do fail "kernel log: ${l//[\"\\]/}"; done
	emit "{\"kind\":\"end\",\"failures\":$failures,\"end\":\"$(date -u +%FT%TZ)\"}"
	say "finished, $failures failures"
	return $((failures != 0))
}

main
