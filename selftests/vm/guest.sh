#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest runner: PID 1 of the VM after switch_root (see init). Runs the
# tests named in /run/tcptimeo/out/run.env as the contract in
# selftests/README.md says, each through kselftest's own runner from the
# suite installed as kernel CI installs it (make ksft-install: TT_KSFT,
# copied to /tmp/kselftest: run_kselftest.sh -t tcptimeo:TEST), so that a
# test behaves here as on a bare host. Writes each test's TAP, output and
# status to
# the results folder (the host's build/logs/<kver>/<run>/), streams them
# to the console, follows the kernel log (kmsg.raw), and powers the VM
# off at the end. PID 1 must never exit: the kernel would panic.
#
# Console lines starting with "@@tcptimeo-vm " are for the host runner.
# Edit this file by writing a new one and renaming it over this one: a
# running guest reads it as it goes.
out=/run/tcptimeo/out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
# shellcheck disable=SC1091
. "$out/run.env"

mark() { echo "@@tcptimeo-vm $*"; }
kmsg() { echo "tcptimeo-vm: $*" >/dev/kmsg 2>/dev/null; }
kmsg "runner up"

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	while :; do sleep 10; done
}
trap poweroff_now EXIT

# init mounted the rest (devpts, configfs, cgroup2, ...) and brought lo
# up. Here: follow the whole kernel log, record by record (from the start
# of the buffer), into the results; the host turns kmsg.raw into kernel.log.
setup() {
	cat /dev/kmsg >"$out/kmsg.raw" 2>/dev/null &
	[[ $(</proc/mounts) == *" /sys/kernel/config configfs "* ]] ||
		{ modprobe configfs; mount -t configfs none /sys/kernel/config; }
	# the installed suite, writable (the runner cds into it; tests may
	# write there), as on a bare host
	# (run_test fails every test if there is none: one way to run them)
	ksft=/tmp/kselftest
	if [ -n "${TT_KSFT:-}" ] && [ -f "$TT_KSFT/run_kselftest.sh" ]; then
		cp -a "$TT_KSFT" "$ksft"
	else
		ksft=
	fi
}

# TEST (a path under selftests/) as the installed suite's list names it.
# One that make ksft-install leaves out (99-negative-control, soak/*) is
# added to the copy: the same runner runs it, from the same layout.
ksft_entry() {
	local t=$1
	if ! grep -qx "tcptimeo:$t" "$ksft/kselftest-list.txt"; then
		# soak/90-soak.py brings its directory; a top-level test
		# (99-negative-control.sh) only itself
		if [ "${t%/*}" != "$t" ]; then
			mkdir -p "$ksft/tcptimeo/${t%/*}"
			cp -a "$TCPTIMEO_SRC/selftests/${t%/*}/." "$ksft/tcptimeo/${t%/*}/"
		fi
		cp -a "$TCPTIMEO_SRC/selftests/$t" "$ksft/tcptimeo/$t"
		echo "tcptimeo:$t" >>"$ksft/kselftest-list.txt"
	fi
	echo "tcptimeo:$t"
}

# The runner's TAP on stdin -> the test's own output (the runner prefixes
# every line of it with "# ") on stdout, and the runner's verdict on it
# (lib/ksft_verdict.sh), as an exit status, into FILE: 255 if none.
# shellcheck source=selftests/lib/ksft_verdict.sh
. "$TCPTIMEO_SRC/selftests/lib/ksft_verdict.sh"
ksft_unwrap() {		# FILE
	local line rc=255 head=1
	while IFS= read -r line; do
		case $line in
		"# "*)
			line=${line#"# "}
			# the runner's own lines before the test's output
			if [ $head = 1 ]; then
				case $line in
				"timeout set to "*|"overriding timeout to "*|"selftests: tcptimeo: "*) continue ;;
				esac
			fi
			head=0
			printf '%s\n' "$line" ;;
		*) ksft_verdict "$line" && rc=$KSFT_RC ;;
		esac
	done
	echo "$rc" >"$1"
}

# Leave nothing of a test behind: rules, the module, namespaces, veths.
# (Builtins where possible: every exec costs under TCG.)
cleanup() {
	local d i problems= n
	for d in /sys/kernel/config/tcptimeo/rules/*/; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || problems="$problems rmdir-${d%/}"; }
	done
	if [ -d /sys/module/tcptimeo ]; then
		for i in 1 2 3 4 5 6 7 8 9 10; do
			rmmod tcptimeo 2>/dev/null && break
			sleep 1
		done
		[ -d /sys/module/tcptimeo ] && problems="$problems rmmod(refcnt=$(</sys/module/tcptimeo/refcnt))"
	fi
	for d in /run/netns/*; do
		[ -e "$d" ] && { ip -all netns delete 2>/dev/null; break; }
	done
	for d in /sys/class/net/*; do
		[ "${d##*/}" = lo ] && continue
		[ -e "$d" ] || continue
		for n in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
			ip link delete "$n" 2>/dev/null
		done
		break
	done
	echo "${problems# }"
}

# FILE -> seconds: "# timeout: N" in its first 5 lines; for a test in C
# (a program NN-name), "// timeout: N" or " * timeout: N" in NN-name.c's.
timeout_of() {		# FILE
	local line i=0 f=$1
	[ -f "$f.c" ] && f=$f.c
	while [ $i -lt 5 ] && IFS= read -r line; do
		if [[ $line =~ ^(#|//|[[:space:]]\*)[[:space:]]*timeout:[[:space:]]*([0-9]+) ]]; then
			echo "${BASH_REMATCH[2]}"; return
		fi
		i=$((i + 1))
	done <"$f"
	echo "${TT_TIMEOUT_DEFAULT:-300}"
}

# A kernel's time scale (kernels.sh info SCALE: 4 for the KASAN debug
# kernel) stretches every test's limit; TCPTIMEO_TIMEOUT (seconds)
# replaces the test's own limit, unscaled (make soak: its length + 15 min).
scaled_timeout() {	# FILE -> seconds
	if [ -n "${TCPTIMEO_TIMEOUT:-}" ]; then
		echo "$TCPTIMEO_TIMEOUT"
	else
		echo $(($(timeout_of "$1") * ${TT_TIMEOUT_SCALE:-1}))
	fi
}

# A kernel with kmemleak (the debug kernel): what the boot leaked is not
# ours: after setup, one scan, then clear marks every suspect so far as
# seen. After the last test: two scans (a suspect must be seen twice and
# be older than 5 s) and the report into kmemleak.txt, which the host
# counts as a failure if it names any unreferenced object.
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_baseline() {
	[ -w $KMEMLEAK ] || return 0
	mark "wait 900 kmemleak baseline scan"
	echo scan >$KMEMLEAK 2>/dev/null
	cat $KMEMLEAK >"$out/kmemleak-boot.txt" 2>/dev/null
	echo clear >$KMEMLEAK 2>/dev/null
	kmsg "kmemleak: boot suspects cleared ($(grep -c '^unreferenced object' "$out/kmemleak-boot.txt") were listed, see kmemleak-boot.txt)"
}
kmemleak_final() {
	[ -w $KMEMLEAK ] || return 0
	mark "wait 1800 kmemleak final scans"
	sleep 6
	echo scan >$KMEMLEAK 2>/dev/null
	sleep 6
	echo scan >$KMEMLEAK 2>/dev/null
	cat $KMEMLEAK >"$out/kmemleak.txt" 2>/dev/null
	kmsg "kmemleak: final scans done ($(grep -c '^unreferenced object' "$out/kmemleak.txt") unreferenced objects)"
}

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

run_test() {		# TEST NAME
	local file=$TCPTIMEO_SRC/selftests/$1 name=$2 to entry t0 t1 rc pid problems
	to=$(scaled_timeout "$file")
	kmsg "begin $name"
	mark "begin $name $to"
	t0=$(ms)
	# The runner enforces the limit (-o); ours, a minute later, is for
	# a runner that hangs. The runner's timeout puts the test in a
	# process group of its own, so the run gets a session of its own
	# (setsid: $! is its id): after it, the session goes, with whatever
	# the test left running on our pipe.
	if [ -n "$ksft" ]; then
		entry=$(ksft_entry "$1")
		{
			setsid timeout -k 10 $((to + 60)) "$ksft/run_kselftest.sh" -t "$entry" \
				-o "$to" </dev/null 2>"$out/$name.err" &
			pid=$!
			wait "$pid"
			rc=$?
			pkill -KILL -s "$pid" 2>/dev/null
			echo "$rc" >"$out/$name.outer"
		} | ksft_unwrap "$out/$name.rc" | tee "$out/$name.tap"
		# no verdict from the runner: our limit ended it (124, 137)
		read -r rc <"$out/$name.rc"
		[ "$rc" != 255 ] || cp "$out/$name.outer" "$out/$name.rc"
		rm -f "$out/$name.outer"
	else
		# Tests run only through kselftest's runner, from the installed
		# suite (make ksft-install, which make check-vm depends on).
		printf 'TAP version 13\n1..1\nnot ok 1 - %s: no installed suite at TT_KSFT=%s (make ksft-install)\n' \
			"$name" "${TT_KSFT:-}" | tee "$out/$name.tap"
		echo 1 >"$out/$name.rc"
	fi
	t1=$(ms)
	rc=255
	read -r rc <"$out/$name.rc"
	if [ -s "$out/$name.err" ]; then
		echo "# stderr of $name:"
		sed 's/^/#   /' "$out/$name.err"
	fi
	problems=$(cleanup)
	[ -z "$problems" ] || echo "# cleanup after $name:$problems"
	printf 'rc=%s\ntimeout=%s\nelapsed_ms=%s\ncleanup=%s\n' "$rc" "$to" \
		$((t1 - t0)) "$problems" >"$out/$name.status"
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
		local t n
		kmemleak_baseline
		for t in $TT_TESTS; do
			n=${t##*/}	# soak/90-soak.py: a test outside selftests/
			run_test "$t" "${n%.*}"
		done
		kmemleak_final
	fi
	kmsg "done"
	mark "done"
}

main; exit
