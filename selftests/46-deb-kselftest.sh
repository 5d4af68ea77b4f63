#!/bin/bash
# timeout: 3600
# SPDX-License-Identifier: GPL-2.0
#
# The suite as kernel CI runs it on a bare host with the .deb installed,
# guest half. The host half (selftests/packaging/install-flow.sh, `make
# check-install`) installed tcptimeo-dkms and tcptimeo-tools with apt-get
# (the postinst had DKMS build the module for this kernel) and booted this
# VM; 41-deb-install checked the packages. Here, as on a node: a writable
# copy of the source tree (a clone, without build output), then
#
#   make -C selftests install INSTALL_PATH=DIR
#   DIR/run_kselftest.sh [-t tcptimeo:TEST ...]
#
# in an environment with none of the harness's variables (env -i: no
# TCPTIMEO_KO, so each test runs `modprobe tcptimeo` and gets the packaged
# module; no TCPTIMEO_CTL, so the CLI tests use the packaged
# /usr/sbin/tcptimeoctl; no TCPTIMEO_SRC). Nobody cleans up between the
# tests: each must leave nothing behind itself. One point per test the
# runner ran, with its verdict (a skip stays a skip, with the test's
# reason); then the install, the runner's count, the core set once more
# from the clone as a developer runs it (make -C selftests run_tests:
# lib.mk and the same runner), and that nothing is left
# (no rule, no namespace, the module unloaded). Which tests:
# build/pkgtest/bare-tests (install-flow.sh writes TCPTIMEO_BARE_TESTS
# there; "all" is the installed list), by default a core set. Outside
# the .deb phase the whole test is skipped (one skip).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
. "$here/lib/ksft_verdict.sh"
src=$(tt_src)
phase=$(cat "$src/build/pkgtest/phase" 2>/dev/null)
[ "$phase" = deb ] || tap_skip_all "only in the .deb phase of make check-install (phase: ${phase:-none})"

# The core: load/unload, stamping per option and direction over IPv4 and
# IPv6, the bad-input table, a half-open client, the CLI.
core="00-load.sh 10-stamp-options-c 14-bad-input-c 20-half-open-client.py 30-cli-commands.py"
want=$(cat "$src/build/pkgtest/bare-tests" 2>/dev/null)
want=${want:-$core}

work=$(mktemp -d /tmp/bare.XXXXXX)
# as an operator's directory: tests that drop to nobody (56-cli-incident)
# read files in their cwd
chmod 755 "$work"
tree=$work/tcptimeo-src
dir=$work/kselftest
log=$work/log
mkdir -p "$tree"
# the clone: the tracked tree, not the harness's build output (the
# kselftest framework that tools/ksft-dir.sh unpacked is a kernel tree's,
# found again through KSFT_DIR)
ksft=$("$src/tools/ksft-dir.sh" 2>/dev/null)
tar -C "$src" --exclude=./build --exclude=./.cache --exclude=./.git -cf - . | tar -C "$tree" -xf -
clean=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)

if "${clean[@]}" ${ksft:+KSFT_DIR="$ksft"} make -C "$tree/selftests" install INSTALL_PATH="$dir" >"$log" 2>&1 &&
   [ -x "$dir/run_kselftest.sh" ] && [ -s "$dir/kselftest-list.txt" ]; then
	install_ok=1
else
	install_ok=
fi
if [ "$want" = all ]; then
	# every installed test but this one
	want=$(sed -n 's/^tcptimeo://p' "$dir/kselftest-list.txt" 2>/dev/null | grep -vx '46-deb-kselftest.sh' | xargs)
fi
sel=()
for t in $want; do sel+=(-t "tcptimeo:$t"); done
n=$(wc -w <<<"$want")
tap_plan $((n + 4))

out=$work/run.tap
if [ -n "$install_ok" ]; then
	(cd "$dir" && "${clean[@]}" ./run_kselftest.sh "${sel[@]}") </dev/null >"$out" 2>&1
	rc=$?
else
	: >"$out"
	rc=1
fi
# The runner's verdict per test (lib/ksft_verdict.sh), after the test's
# output (prefixed "# "). Of that output: the last skip reason, and the
# failed points, to say why.
ran=0 why='' bad=''
while IFS= read -r line; do
	if ksft_verdict "$line"; then
		ran=$((ran + 1))
		case $KSFT_RC in
		0) ok "run_kselftest.sh: $KSFT_TEST" ;;
		4) skip "run_kselftest.sh: $KSFT_TEST" "exit 4${why:+: $why}" ;;
		*)
			if [ "$KSFT_RC" = 124 ]; then
				not_ok "run_kselftest.sh: $KSFT_TEST: timed out"
			else
				not_ok "run_kselftest.sh: $KSFT_TEST: exit $KSFT_RC"
			fi
			{ printf '%s' "$bad" | grep 'not ok' | head -n 20; printf '%s' "$bad" | tail -n 10; } | diag ;;
		esac
		why='' bad=''
		continue
	fi
	case $line in
	"# "*"SKIP"*) why=${line##*SKIP}; why=${why# }; bad="$bad${line#"# "}"$'\n' ;;
	"# "*) bad="$bad${line#"# "}"$'\n' ;;
	esac
done <"$out"
while [ "$TAP_N" -lt "$n" ]; do not_ok "run_kselftest.sh did not run this test (ran $ran of $n)"; done

if [ -n "$install_ok" ]; then
	ok "make -C selftests install INSTALL_PATH=DIR in a clone (KSFT_DIR=${ksft:-none}): $n of $(wc -l <"$dir/kselftest-list.txt") tests"
else
	not_ok "make -C selftests install INSTALL_PATH=DIR in a clone"; tail -n 30 "$log" | diag
fi
if [ "$ran" = "$n" ] && [ "$rc" = 0 ]; then
	ok "run_kselftest.sh ran $ran tests, exit 0"
else
	not_ok "run_kselftest.sh ran $ran of $n tests, exit $rc"; tail -n 5 "$out" | diag
fi
# make run_tests in the clone, on the core set (its C tests built there)
progs='' gen=''
for t in $core; do
	case $t in *.sh|*.py) progs="$progs $t" ;; *) gen="$gen $t" ;; esac
done
rt=$work/run_tests.tap
(cd "$tree/selftests" && "${clean[@]}" ${ksft:+KSFT_DIR="$ksft"} make -s run_tests \
	TEST_PROGS="${progs# }" TEST_GEN_PROGS="${gen# }") </dev/null >"$rt" 2>&1
rc=$?
good=0 verdicts=0 bad=''
while IFS= read -r line; do
	ksft_verdict "$line" || continue
	verdicts=$((verdicts + 1))
	if [ "$KSFT_RC" = 0 ]; then good=$((good + 1)); else bad="$bad ${KSFT_TEST##*: }=$KSFT_RC"; fi
done <"$rt"
n_core=$(wc -w <<<"$core")
if [ "$rc" = 0 ] && [ "$verdicts" = "$n_core" ] && [ "$good" = "$n_core" ]; then
	ok "make -C selftests run_tests in the clone, the core set: $good of $n_core ok"
else
	not_ok "make -C selftests run_tests in the clone, the core set: $good of $n_core ok, $verdicts verdicts, exit $rc:$bad"
	grep -E '^(# )?(not ok|Bail out)' "$rt" | head -n 20 | diag
	tail -n 5 "$rt" | diag
fi

left=
[ -d /sys/module/tcptimeo ] && left="$left module-loaded"
for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && left="$left rule:$(basename "$d")"; done
ns=$(ip netns list 2>/dev/null | awk '{print $1}' | xargs)
[ -z "$ns" ] || left="$left netns:$ns"
if [ -z "$left" ]; then
	ok "after the run nothing is left: no rule, no namespace, the module unloaded"
else
	not_ok "after the run nothing is left:$left"
fi
rm -rf "$work"
tap_done
