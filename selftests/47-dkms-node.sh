#!/bin/bash
# timeout: 900
# SPDX-License-Identifier: GPL-2.0
#
# The operator's path on a node, all of it inside the guest: install the
# two packages built for this machine's architecture (make deb: build/deb,
# make deb-arm64: build/deb-arm64) with dpkg, which has DKMS build the
# module for the running kernel with the node's own compiler and
# headers; `modprobe tcptimeo`; `tcptimeoctl apply` the example rules;
# every live rule stamps a loopback connection (pkgcheck.py, getsockopt);
# then remove both packages: the module and the DKMS tree are gone.
# It needs a guest that owns a writable root with dpkg, dkms, gcc and
# the running kernel's headers: the arm64 guest (kernels.conf arch=arm64;
# an amd64 guest shares the host's root read-only, where make
# check-install runs the same flow from the host). Elsewhere it skips.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
src=$(tt_src)
kver=$(uname -r)
arch=$(dpkg --print-architecture 2>/dev/null)
ver=$(tt_version "$src")
debs=$src/build/deb
[ "$arch" = amd64 ] || debs=$src/build/deb-$arch
dkms_deb=$debs/tcptimeo-dkms_${ver}_all.deb
tools_deb=$debs/tcptimeo-tools_${ver}_$arch.deb

probe=/var/lib/dpkg/.tcptimeo-write-probe
if ! { : >"$probe"; } 2>/dev/null; then
	tap_skip_all "the root file system is read-only here (an amd64 guest: make check-install is this flow)"
fi
rm -f "$probe"
command -v dkms >/dev/null || tap_skip_all "no dkms in this guest's root"
[ -f "/usr/src/linux-headers-$kver/Makefile" ] || tap_skip_all "no headers for $kver in this guest's root"
[ -f "$dkms_deb" ] && [ -f "$tools_deb" ] ||
	tap_skip_all "no $dkms_deb and $tools_deb (make deb${arch:+-$arch})"
if [ -d /var/lib/dkms/tcptimeo ] || dpkg -s tcptimeo-tools >/dev/null 2>&1; then
	tap_skip_all "tcptimeo is installed in this root already (not a clean node)"
fi

tap_plan 10
undo 'dpkg --purge tcptimeo-tools tcptimeo-dkms >/dev/null 2>&1'
undo 'rmmod tcptimeo 2>/dev/null'

t0=$(date +%s)
if out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$dkms_deb" "$tools_deb" 2>&1); then
	ok "dpkg -i tcptimeo-dkms tcptimeo-tools ($arch): $(($(date +%s) - t0)) s, DKMS build included"
else
	not_ok "dpkg -i tcptimeo-dkms tcptimeo-tools ($arch)"; echo "$out" | tail -n 40 | diag
	cat /var/lib/dkms/tcptimeo/"$ver"/build/make.log 2>/dev/null | tail -n 30 | diag
fi

st=$(dkms status -k "$kver" tcptimeo 2>&1)
case $st in
*"tcptimeo/$ver, $kver, "*": installed"*) ok "dkms status: tcptimeo/$ver installed for $kver" ;;
*) not_ok "dkms status: tcptimeo/$ver installed for $kver"; echo "$st" | diag ;;
esac

f=$(modinfo -F filename tcptimeo 2>&1)
mi_ver=$(modinfo -F version tcptimeo 2>/dev/null)
vermagic=$(modinfo -F vermagic tcptimeo 2>/dev/null)
case $f in
"/lib/modules/$kver/updates/dkms/tcptimeo.ko"*)
	if [ "$mi_ver" = "$ver" ] && [ "${vermagic%% *}" = "$kver" ]; then
		ok "the DKMS module: $f, version $mi_ver, vermagic $kver"
	else
		not_ok "the DKMS module's version and vermagic"; echo "version '$mi_ver' vermagic '$vermagic'" | diag
	fi ;;
*) not_ok "modinfo finds the DKMS module in /lib/modules/$kver/updates/dkms"; echo "$f" | diag ;;
esac

if out=$(modprobe tcptimeo 2>&1) && [ "$(cat /sys/kernel/tcptimeo/version 2>/dev/null)" = "$ver" ]; then
	ok "modprobe tcptimeo: version $ver loaded"
else
	not_ok "modprobe tcptimeo"; { echo "$out"; dmesg | tail -n 5; } | diag
fi

example=/usr/share/doc/tcptimeo-tools/examples/rules.conf
[ -f "$example" ] || { [ -f "$example.gz" ] && gzip -dc "$example.gz" >"$PWD/rules.conf" && example=$PWD/rules.conf; }
tt_apply_example "$example"

# Every live rule stamps a connection it matches: all of pkgcheck's
# points as one (its count depends on the example file).
res=$(python3 "$here/packaging/pkgcheck.py" 2>&1)
n_pass=$(grep -c "^PASS"$'\t' <<<"$res")
if [ "$n_pass" -gt 0 ] && ! grep -q "^FAIL"$'\t' <<<"$res"; then
	ok "every live rule stamps a loopback connection: $n_pass ends checked with getsockopt"
else
	not_ok "every live rule stamps a loopback connection"; echo "$res" | diag
fi
echo "$res" | grep -v '^#' | diag

out=$(/usr/sbin/tcptimeoctl apply /dev/null 2>&1)
if [ -z "$(ls /sys/kernel/config/tcptimeo/rules/ 2>/dev/null)" ] && out="$out $(rmmod tcptimeo 2>&1)" &&
   [ ! -d /sys/module/tcptimeo ]; then
	ok "tcptimeoctl apply /dev/null removes every rule; rmmod tcptimeo"
else
	not_ok "tcptimeoctl apply /dev/null removes every rule; rmmod tcptimeo"; echo "$out" | diag
fi

if out=$(dpkg --purge tcptimeo-tools tcptimeo-dkms 2>&1); then
	ok "dpkg --purge tcptimeo-tools tcptimeo-dkms"
else
	not_ok "dpkg --purge tcptimeo-tools tcptimeo-dkms"; echo "$out" | tail -n 20 | diag
fi
left=$(ls -d /lib/modules/"$kver"/updates/dkms/tcptimeo.ko* /var/lib/dkms/tcptimeo /usr/src/tcptimeo-"$ver" 2>/dev/null)
if [ -z "$left" ] && ! modinfo tcptimeo >/dev/null 2>&1; then
	ok "after the purge: no module, no DKMS tree, no source"
else
	not_ok "after the purge: no module, no DKMS tree, no source"; echo "left: $left" | diag
fi
tap_done
