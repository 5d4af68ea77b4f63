#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/vm.sh KVER OUTDIR: boot kernel KVER once under QEMU (TCG) and run
# bench/guest.sh in it, with OUTDIR (host folder, writable in the guest at
# the same path) for its results. Settings reach the guest through
# OUTDIR/run.env: every BENCH_* variable of this environment is copied.
#
# The guest sees the host's root read-only over 9p (so the module, the
# binaries and the tools are used from where the host built them), with
# tmpfs on /tmp, /run and /var/tmp. Its console goes to OUTDIR/console.log
# and to stdout. Exit status: 0 if the guest said "bench done".
#
# A stuck guest: echo "sendkey alt-sysrq-l" | socat - UNIX:OUTDIR/monitor.sock
# (or alt-sysrq-w, alt-sysrq-t) prints its kernel stacks on the console.
#
# Environment: BENCH_SMP (1), BENCH_MEM (2048 MiB), BENCH_VM_TIMEOUT
# (seconds, 3600).
set -euo pipefail
kver=$1 out=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# One vCPU: with two, TCG's cross-CPU wake-ups make the rate swing 2-4x
# with the host's load; one vCPU measured about ±5% (and mostly less)
# on a shared machine. BENCH_SMP=2 to see for yourself.
smp=${BENCH_SMP:-1} mem=${BENCH_MEM:-2048}
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || { echo "vm.sh: no $vmlinuz" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm.sh: no qemu-system-x86_64" >&2; exit 2; }

# The initramfs: busybox, the virtio/9p modules (decompressed: busybox
# insmod reads no .ko.xz) and bench/vm-init. Rebuilt when vm-init changes.
initrd=$top/build/bench/initramfs-$kver.cpio.gz
if [ ! -s "$initrd" ] || [ "$here/vm-init" -nt "$initrd" ]; then
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,mods}
	cp /bin/busybox "$stage/bin/busybox"
	cp "$here/vm-init" "$stage/init"
	chmod 755 "$stage/init"
	: >"$stage/modules.list"
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -S "$kver" --show-depends "$m" | while read -r kind path _; do
			[ "$kind" = insmod ] || continue
			name=$(basename "$path"); name=${name%.xz}; name=${name%.zst}
			grep -qxF "$name" "$stage/modules.list" && continue
			case $path in
			*.xz) xz -dc "$path" ;;
			*.zst) zstd -qdc "$path" ;;
			*) cat "$path" ;;
			esac >"$stage/mods/$name"
			echo "$name" >>"$stage/modules.list"
		done
	done
	mkdir -p "$(dirname "$initrd")"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
		gzip -1 >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi

mkdir -p "$out"
{
	echo "BENCH_SRC=$top"
	echo "BENCH_OUT=$out"
	env | grep '^BENCH_' | grep -v -e '^BENCH_SRC=' -e '^BENCH_OUT=' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/"
} >"$out/run.env"

echo "vm.sh: booting $kver (TCG, $smp CPUs, $mem MiB); console in $out/console.log"

# bash -c 'exec ...': $$ is QEMU's own pid, so the guest gets QEMU's
# /proc/PID/task (read-only) and can count the host CPU time it uses.
# shellcheck disable=SC2016
timeout -k 10 "${BENCH_VM_TIMEOUT:-3600}" bash -c 'exec qemu-system-x86_64 \
	-accel tcg -smp "$1" -m "$2" -nographic -no-reboot \
	-kernel "$3" -initrd "$4" \
	-append "console=ttyS0 panic=-1 loglevel=4 ttout=$5" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$5",mount_tag=benchout,security_model=none,multidevs=remap \
	-virtfs local,path=/proc/$$/task,mount_tag=hostcpu,security_model=none,readonly=on,multidevs=remap \
	-monitor unix:"$5/monitor.sock",server,nowait' \
	qemu "$smp" "$mem" "$vmlinuz" "$initrd" "$out" \
	</dev/null 2>&1 | tee "$out/console.log" | grep --line-buffered -e '^bench' -e 'BUG\|WARNING\|Oops\|panic' || true
grep -q '^bench done' "$out/console.log" || { echo "vm.sh: the guest did not finish (see $out/console.log)" >&2; exit 1; }
