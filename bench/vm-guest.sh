#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of the benchmark VM after switch_root (bench/vm-init): the mounts
# a normal boot would have, then bench/guest.sh, then power-off. PID 1
# must never exit (the kernel would panic), so it waits for the power-off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
out=
for a in $(cat /proc/cmdline); do
	case $a in ttout=*) out=${a#ttout=} ;; esac
done
set -a
# shellcheck disable=SC1091
. "$out/run.env"
set +a

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sfn /proc/self/fd /dev/fd
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
mount -t bpf none /sys/fs/bpf 2>/dev/null
modprobe configfs
grep -qs ' /sys/kernel/config configfs ' /proc/mounts ||
	mount -t configfs none /sys/kernel/config
ip link set lo up
# QEMU's threads on the host (bench/vm.sh), for ttbench --host-cpu
mkdir -p /run/hostcpu
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostcpu /run/hostcpu 2>/dev/null &&
	export BENCH_HOST_CPU=/run/hostcpu
dmesg -w >"$BENCH_OUT/kernel.log" 2>&1 &
sysctl -qw kernel.sysrq=1	# vm.sh's monitor socket can ask for stacks
# a heartbeat on the console (not on 9p): tells a stuck guest from a busy one
( while sleep 30; do echo "bench: alive $(cut -d' ' -f1 /proc/uptime)s load $(cut -d' ' -f1-3 /proc/loadavg)"; done ) &

cd /tmp && "${BENCH_GUEST:-$BENCH_SRC/bench/guest.sh}"
echo "bench done rc=$?"
sync
sleep 0.5
echo o >/proc/sysrq-trigger
while :; do sleep 10; done
