#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The operator's install paths, for real, on this host and in the VM:
#
#  DKMS   stage the module sources (debian/stage-dkms-src: what `dkms add`
#         needs of the tree), `dkms add`, `dkms build` + `dkms install`
#         for every kernel of the matrix; boot each kernel and run
#         selftests/40-dkms-modprobe.sh (plain `modprobe tcptimeo`, smoke
#         test); `dkms remove --all`; check on the host that it is gone.
#  .deb   `make deb`; `apt-get install ./tcptimeo-dkms_*.deb
#         ./tcptimeo-tools_*.deb` (the postinst builds with DKMS); boot each
#         kernel and run 41-deb-install.sh (modules-load.d + the unit's
#         commands without systemd, the example rules stamp connections)
#         and 46-deb-kselftest.sh (the suite from a clone, `make -C
#         selftests install` + run_kselftest.sh as kernel CI runs it, with
#         the packaged module and CLI); `apt-get purge`; check on the host
#         that nothing is left.
#  gone   boot each kernel and run 42-install-removed.sh: modprobe fails,
#         no file of tcptimeo anywhere.
#
# The guest sees the host's root read-only, so installs happen here and
# the VM only observes. The guest tests learn the phase from
# build/pkgtest/phase (they skip outside this flow).
#
# Host state: refuses to run (all points skipped) if tcptimeo is already
# installed here in any form; takes a lock against a concurrent run;
# removes everything it installed on any exit, including the DKMS signing
# key pair that `dkms build` generates if there was none; and the last
# point compares every tcptimeo path on the host with the start.
#
# Env: KVERS (releases or series; default: the matrix,
# selftests/vm/kernels.sh installed), of which the flow takes the kernels
# DKMS can build for (/lib/modules/KVER/build: the apt-installed ones, not
# those fetched into .cache/kernels); TCPTIMEO_VM_RUN (command running
# TESTS=... on KVERS=... in the VM and printing "N passed, N failed" last;
# default the project's VM harness); TCPTIMEO_BARE_TESTS (the tests
# 46-deb-kselftest runs on the bare host: names as in kselftest-list.txt,
# or "all"; default its core set).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
ver=$(tt_version)
arch=$(dpkg --print-architecture)
state=$src/build/pkgtest
phasefile=$state/phase
log=$state/log
tap_plan 14

# Never a release written here: Debian moves them every few weeks.
if [ -n "${KVERS:-}" ]; then
	# shellcheck disable=SC2086
	asked=$("$src/selftests/vm/kernels.sh" resolve $KVERS)
else
	asked=$("$src/selftests/vm/kernels.sh" installed)
fi
KVERS=
for k in $asked; do
	[ -e "/lib/modules/$k/build/Makefile" ] && KVERS="$KVERS $k"
done
KVERS=${KVERS# }
read -r -a kvers <<<"$KVERS"

vm_run_default() { # TESTS... -> the harness, both kernels
	make -C "$src" --no-print-directory check-vm KVERS="$KVERS" TESTS="$*"
}
vm_run() {
	local out rc line
	out=$state/vm-$1.log
	if [ -n "${TCPTIMEO_VM_RUN:-}" ]; then
		KVERS="$KVERS" TESTS="$*" bash -c "$TCPTIMEO_VM_RUN" >"$out" 2>&1
	else
		vm_run_default "$@" >"$out" 2>&1
	fi
	rc=$?
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	grep -E '^(not )?ok |^# ' "$out" | grep -v '^ok .* # SKIP' | diag
	if [ $rc = 0 ] && [[ $line =~ ([0-9]+)\ passed,\ 0\ failed ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
	   ! grep -q 'SKIP only in the' "$out"; then
		ok "VM ${kvers[*]}: $* -> $line"
	else
		not_ok "VM ${kvers[*]}: $* -> ${line:-no summary} (exit $rc, log $out)"
		tail -n 20 "$out" | diag
	fi
}

# Every path of tcptimeo on this host (names only), and dpkg's and DKMS's view.
snapshot() {
	find /usr/src /var/lib/dkms /lib/modules /etc/tcptimeo /etc/systemd /etc/modules-load.d /etc/modprobe.d /usr/sbin /usr/lib/modules-load.d \
		/lib/systemd/system /usr/lib/systemd/system /usr/share/doc /usr/share/man \
		/usr/share/bash-completion /var/lib/systemd/deb-systemd-helper-enabled \
		-name '*tcptimeo*' 2>/dev/null | sort
	grep -l 'tcptimeo' /lib/modules/*/modules.dep 2>/dev/null
	dpkg-query -W -f '${Package} ${Status}\n' 'tcptimeo*' 2>/dev/null | grep -v ' not-installed$'
	dkms status tcptimeo 2>/dev/null
}

why=
[ "$(id -u)" = 0 ] || why="needs root (DKMS and apt-get on the host)"
[ -z "$why" ] && ! command -v dkms >/dev/null && why="dkms not installed (make packaging-deps)"
[ -z "$why" ] && ! command -v dpkg-buildpackage >/dev/null && why="dpkg-dev not installed (make packaging-deps)"
[ -z "$why" ] && [ ${#kvers[@]} = 0 ] && why="no kernel of the matrix has headers here"
if [ -z "$why" ] && [ -z "${TCPTIMEO_VM_RUN:-}" ] && ! make -C "$src" -n check-vm >/dev/null 2>&1; then
	why="no VM harness (make check-vm) and no TCPTIMEO_VM_RUN"
fi
# A flow that cannot run is a failure (make check counts it), not a pass.
cannot() { not_ok "install flow cannot run: $1"; skip_rest "install flow" "$1"; tap_done; exit 1; }
[ -z "$why" ] || cannot "$why"

mkdir -p "$state"
exec 9>/run/lock/tcptimeo-pkgtest.lock
flock -w 1800 9 || cannot "another install flow holds /run/lock/tcptimeo-pkgtest.lock"

before=$(snapshot)
mok_before=$(ls /var/lib/dkms/mok.* 2>/dev/null)
if [ -n "$before" ]; then
	cannot "tcptimeo is already on this host; not touching it: $(echo $before)"
fi

cleanup() {
	rm -f "$phasefile" "$state/bare-tests"
	if dkms status tcptimeo 2>/dev/null | grep -q .; then dkms remove "tcptimeo/$ver" --all >>"$log" 2>&1; fi
	if dpkg-query -W -f '${Status}\n' tcptimeo-dkms tcptimeo-tools 2>/dev/null | grep -qv not-installed; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y tcptimeo-tools tcptimeo-dkms >>"$log" 2>&1
	fi
	rm -rf "/usr/src/tcptimeo-$ver" /var/lib/dkms/tcptimeo
	# dkms build makes a signing key pair if there is none: only ours goes.
	[ -n "$mok_before" ] || rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
}
trap cleanup EXIT
: >"$log"

# ---- DKMS ------------------------------------------------------------
stage=$state/src/tcptimeo-$ver
rm -rf "$state/src"
if ! [ -f dkms.conf ]; then
	not_ok "dkms.conf present"; skip_rest "install flow" "no dkms.conf"; tap_done; exit 1
fi
debian/stage-dkms-src "$stage"
check "dkms add $stage" dkms add "$stage"
bad=
for k in "${kvers[@]}"; do
	echo "== dkms build/install $k" >>"$log"
	{ dkms build "tcptimeo/$ver" -k "$k" && dkms install "tcptimeo/$ver" -k "$k"; } >>"$log" 2>&1 || bad="$bad $k"
done
if [ -z "$bad" ]; then ok "dkms build + dkms install for ${kvers[*]}"; else not_ok "dkms build + install failed for$bad"; tail -n 30 "$log" | diag; fi
# STATUS KVER... -> the KVERs that dkms status text STATUS does not show
# as installed
not_installed() {
	local st=$1 k
	shift
	for k in "$@"; do
		grep ': installed' <<<"$st" | grep -qF ", $k, " || echo "$k"
	done
}
st=$(dkms status "tcptimeo/$ver" 2>&1)
miss=$(not_installed "$st" "${kvers[@]}" | xargs)
if [ -z "$miss" ]; then ok "dkms status: installed for ${kvers[*]}"; else not_ok "dkms status: installed for ${kvers[*]}; not for: $miss"; fi
echo "$st" | diag

echo dkms >"$phasefile"
vm_run 40-dkms-modprobe

check "dkms remove tcptimeo/$ver --all" dkms remove "tcptimeo/$ver" --all
rm -rf "/usr/src/tcptimeo-$ver"   # `dkms add DIR` copied DIR there
left=
for k in "${kvers[@]}"; do
	modinfo -k "$k" tcptimeo >/dev/null 2>&1 && left="$left modinfo-$k"
done
left="$left $(snapshot)"
if [ -z "${left// /}" ]; then ok "after dkms remove: no module for any kernel, no DKMS tree, no sources"
else not_ok "after dkms remove: nothing left"; echo "$left" | diag; fi

# ---- .deb ------------------------------------------------------------
debs="build/deb/tcptimeo-dkms_${ver}_all.deb build/deb/tcptimeo-tools_${ver}_${arch}.deb"
if make --no-print-directory -f mk/packaging.mk deb >>"$log" 2>&1; then ok "make deb: $(cd build/deb && echo *.deb)"
else not_ok "make deb"; tail -n 30 "$log" | diag; fi
# shellcheck disable=SC2086
if out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y $(for d in $debs; do echo "./$d"; done) 2>&1); then
	ok "apt-get install ./tcptimeo-dkms_${ver}_all.deb ./tcptimeo-tools_${ver}_${arch}.deb"
else
	not_ok "apt-get install the two .debs"
fi
echo "$out" >>"$log"
grep -E 'Building for|Building initial module|Done\.|Installing /lib/modules|Setting up tcptimeo' <<<"$out" | diag
st=$(dkms status "tcptimeo/$ver" 2>&1)
miss=$(not_installed "$st" "${kvers[@]}" | xargs)
if [ -z "$miss" ]; then ok "the package's postinst had DKMS install it for ${kvers[*]}"
else not_ok "the package's postinst had DKMS install it for ${kvers[*]}; not for: $miss"; fi
echo "$st" | diag

echo deb >"$phasefile"
printf '%s\n' "${TCPTIMEO_BARE_TESTS:-}" >"$state/bare-tests"
vm_run 41-deb-install 46-deb-kselftest
rm -f "$state/bare-tests"

if out=$(DEBIAN_FRONTEND=noninteractive apt-get purge -y tcptimeo-tools tcptimeo-dkms 2>&1); then
	ok "apt-get purge tcptimeo-tools tcptimeo-dkms"
else
	not_ok "apt-get purge tcptimeo-tools tcptimeo-dkms"; echo "$out" | tail -n 20 | diag
fi
echo "$out" >>"$log"
left=$(snapshot)
if [ -z "$left" ]; then ok "after purge: no package, no file, no DKMS state of tcptimeo"
else not_ok "after purge: nothing left"; echo "$left" | diag; fi

# ---- gone ------------------------------------------------------------
echo removed >"$phasefile"
vm_run 42-install-removed

cleanup
trap - EXIT
after=$(snapshot; ls /var/lib/dkms/mok.* 2>/dev/null)
before="$before${mok_before:+$'\n'$mok_before}"
if [ "$before" = "$after" ]; then ok "host as before: no tcptimeo path, package or DKMS entry left; DKMS signing keys as they were"
else not_ok "host as before"; diff <(echo "$before") <(echo "$after") | diag; fi
tap_done
