#!/bin/bash
# timeout: 120
# SPDX-License-Identifier: GPL-2.0
#
# DKMS install, guest half. The host half (selftests/packaging/
# install-flow.sh, `make check-install`) ran `dkms add` on the tree and
# `dkms build` + `dkms install` for this kernel, then booted this VM,
# which sees the host's /lib/modules. Here: the installed module is the
# one DKMS built for this kernel, plain `modprobe tcptimeo` loads it, a
# rule stamps a loopback connection (getsockopt from python3), and
# `rmmod` unloads it. Outside that flow (no phase file) the whole test
# is skipped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
src=$(tt_src)
kver=${KVER:-$(uname -r)}
ver=$(tt_version "$src")
phase=$(cat "$src/build/pkgtest/phase" 2>/dev/null)
[ "$phase" = dkms ] || tap_skip_all "only in the DKMS phase of make check-install (phase: ${phase:-none})"
tap_plan 8


st=$(dkms status -k "$kver" tcptimeo 2>&1)
case $st in
*"tcptimeo/$ver, $kver, "*": installed"*) ok "dkms status: tcptimeo/$ver installed for $kver" ;;
*) not_ok "dkms status: tcptimeo/$ver installed for $kver"; echo "$st" | diag ;;
esac

f=$(modinfo -k "$kver" -F filename tcptimeo 2>&1)
case $f in
"/lib/modules/$kver/updates/dkms/tcptimeo.ko"*) ok "modinfo finds the DKMS module: $f" ;;
*) not_ok "modinfo finds the DKMS module in /lib/modules/$kver/updates/dkms"; echo "$f" | diag ;;
esac
mi_ver=$(modinfo -k "$kver" -F version tcptimeo 2>/dev/null)
vermagic=$(modinfo -k "$kver" -F vermagic tcptimeo 2>/dev/null)
if [ "$mi_ver" = "$ver" ] && [ "${vermagic%% *}" = "$kver" ]; then
	ok "module version $mi_ver, vermagic $kver"
else
	not_ok "module version $ver and vermagic $kver"; echo "version '$mi_ver' vermagic '$vermagic'" | diag
fi

if out=$(modprobe tcptimeo 2>&1); then ok "modprobe tcptimeo"; else not_ok "modprobe tcptimeo"; echo "$out" | diag; fi
grep -qs ' /sys/kernel/config configfs ' /proc/mounts || mount -t configfs none /sys/kernel/config
if [ "$(cat /sys/kernel/tcptimeo/version 2>/dev/null)" = "$ver" ] && [ -d /sys/kernel/config/tcptimeo/rules ]; then
	ok "loaded: /sys/kernel/tcptimeo/version $(cat /sys/kernel/tcptimeo/version 2>/dev/null), configfs rules dir present"
else
	not_ok "loaded with sysfs and configfs entries"; dmesg | tail -5 | diag
fi

# Smoke test: one rule through configfs, one loopback connection.
r=/sys/kernel/config/tcptimeo/rules/dkms-smoke
{ mkdir "$r" && echo out > "$r/direction" && echo 7411 > "$r/remote_ports" &&
  echo 1 > "$r/keepalive" && echo 7 > "$r/keepidle" && echo 5 > "$r/keepintvl" &&
  echo 2 > "$r/keepcnt" && echo auto > "$r/user_timeout" && echo 3 > "$r/syn_retries" &&
  echo 1 > "$r/enabled"; } 2>&1 | diag
tap_from_cmd python3 "$here/packaging/pkgcheck.py"

rmdir "$r" 2>/dev/null
# rmmod, not modprobe -r: that would also try to remove configfs (the
# softdep), which is mounted and in use.
if out=$(rmmod tcptimeo 2>&1) && [ ! -d /sys/module/tcptimeo ]; then
	ok "rmmod tcptimeo"
else
	not_ok "rmmod tcptimeo"; echo "$out" | diag
fi
tap_done
