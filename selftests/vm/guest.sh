#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest runner: PID 1 of the VM after switch_root (see init). Runs the
# tests named in /run/tcptimeo/out/run.env as the contract in
# selftests/README.md says, writes each test's TAP, stderr and status to
# the results folder (the host's build/logs/<kver>/<run>/), streams them
# to the console, follows the kernel log into kernel.log, and powers the
# VM off at the end. PID 1 must never exit: the kernel would panic.
#
# Console lines starting with "@@tcptimeo-vm " are for the host runner.
out=/run/tcptimeo/out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
# shellcheck disable=SC1091
. "$out/run.env"

mark() { echo "@@tcptimeo-vm $*"; }
kmsg() { echo "tcptimeo-vm: $*" >/dev/kmsg 2>/dev/null; }

poweroff_now() {
	sync
	sleep 0.3				# let the kernel log follower catch up
	[ -n "${dmesg_pid:-}" ] && kill "$dmesg_pid" 2>/dev/null
	sync
	echo o >/proc/sysrq-trigger
	while :; do sleep 10; done
}
trap poweroff_now EXIT

setup() {
	hostname tcptimeo-vm
	# What a normal boot would have and some tools expect.
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
	ln -sfn /proc/self/fd /dev/fd
	ln -sfn /proc/self/fd/0 /dev/stdin
	ln -sfn /proc/self/fd/1 /dev/stdout
	ln -sfn /proc/self/fd/2 /dev/stderr
	mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	mount -t bpf none /sys/fs/bpf 2>/dev/null
	modprobe configfs
	grep -qs ' /sys/kernel/config configfs ' /proc/mounts ||
		mount -t configfs none /sys/kernel/config
	ip link set lo up
	stdbuf -oL dmesg -w >"$out/kernel.log" 2>&1 &
	dmesg_pid=$!
}

# Leave nothing of a test behind: rules, the module, namespaces, veths.
cleanup() {
	local d i problems=
	for d in /sys/kernel/config/tcptimeo/rules/*/; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || problems="$problems rmdir-${d%/}"; }
	done
	if [ -d /sys/module/tcptimeo ]; then
		for i in 1 2 3 4 5 6 7 8 9 10; do
			rmmod tcptimeo 2>/dev/null && break
			sleep 1
		done
		[ -d /sys/module/tcptimeo ] && problems="$problems rmmod(refcnt=$(cat /sys/module/tcptimeo/refcnt 2>/dev/null))"
	fi
	ip -all netns delete 2>/dev/null
	for d in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
		ip link delete "$d" 2>/dev/null
	done
	echo "${problems# }"
}

timeout_of() {		# FILE -> seconds ("# timeout: N" in its first 5 lines)
	local t
	t=$(head -n 5 "$1" | sed -n 's/^#[[:space:]]*timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
	echo "${t:-${TT_TIMEOUT_DEFAULT:-300}}"
}

run_test() {		# FILE NAME
	local file=$1 name=$2 to dir t0 t1 rc pid problems
	to=$(timeout_of "$file")
	dir=$(mktemp -d "/tmp/$name.XXXXXX")
	kmsg "begin $name"
	mark "begin $name $to"
	t0=$(date +%s%N)
	# timeout makes itself a process group leader: after the test, the
	# group goes, with whatever the test left running on our pipe.
	{
		cd "$dir" || exit
		timeout -k 10 "$to" "$file" </dev/null 2>"$out/$name.err" &
		pid=$!
		wait "$pid"
		echo $? >"$out/$name.rc"
		kill -KILL -- "-$pid" 2>/dev/null
	} | tee "$out/$name.tap"
	t1=$(date +%s%N)
	rc=$(cat "$out/$name.rc" 2>/dev/null || echo 255)
	if [ -s "$out/$name.err" ]; then
		echo "# stderr of $name:"
		sed 's/^/#   /' "$out/$name.err"
	fi
	problems=$(cleanup)
	[ -z "$problems" ] || echo "# cleanup after $name:$problems"
	rm -rf "$dir"
	printf 'rc=%s\ntimeout=%s\nelapsed_ms=%s\ncleanup=%s\n' "$rc" "$to" \
		$(((t1 - t0) / 1000000)) "$problems" >"$out/$name.status"
	kmsg "end $name rc=$rc"
	mark "end $name rc=$rc"
}

demo() {
	local ver
	echo "# modprobe configfs; insmod $TCPTIMEO_KO"
	insmod "$TCPTIMEO_KO" || { echo "demo: insmod failed"; return 1; }
	ver=$(cat /sys/kernel/tcptimeo/version 2>/dev/null)
	echo "# loaded: tcptimeo ${ver:-?} on $(uname -r)"
	echo "# configfs: $(cd /sys/kernel/config/tcptimeo 2>/dev/null && find . -maxdepth 2 | sort | xargs)"
	echo "# sysfs:    $(cd /sys/kernel/tcptimeo 2>/dev/null && find . -maxdepth 2 | sort | xargs)"
	if [ -x "$TCPTIMEO_SRC/selftests/demo.sh" ]; then
		echo "# selftests/demo.sh"
		(cd /tmp && "$TCPTIMEO_SRC/selftests/demo.sh" </dev/null)
	else
		rmmod tcptimeo && echo "# unloaded: configfs and sysfs roots are gone:" \
			"$(ls -d /sys/kernel/config/tcptimeo /sys/kernel/tcptimeo 2>&1 | sed 's/^ls: //' | xargs)"
	fi
}

main() {
	setup
	mark "start $(uname -r) ${TT_MODE:-tests}"
	kmsg "start"
	if [ "${TT_MODE:-tests}" = demo ]; then
		demo; echo $? >"$out/demo.rc"
		cleanup >/dev/null
	else
		local t
		for t in $TT_TESTS; do
			run_test "$TCPTIMEO_SRC/selftests/$t" "${t%.*}"
		done
	fi
	kmsg "done"
	mark "done"
}

main
