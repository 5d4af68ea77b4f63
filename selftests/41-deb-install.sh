#!/bin/bash
# timeout: 180
# SPDX-License-Identifier: GPL-2.0
#
# .deb install, guest half. The host half (selftests/packaging/
# install-flow.sh, `make check-install`) built the packages with
# `make deb` and installed both with `apt-get install ./*.deb`, whose
# postinst had DKMS build the module for the host's kernels; then it
# booted this VM. Here, without systemd: the package's modules-load.d
# entry and its unit's ExecStart lines load the module with plain
# modprobe and apply /etc/tcptimeo/rules.conf; the packaged tcptimeoctl
# applies the packaged example rules, and every example rule stamps a
# loopback connection it matches (getsockopt). Outside that flow (no
# phase file) the whole test is skipped (one skip).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
src=$(tt_src)
kver=${KVER:-$(uname -r)}
ver=$(tt_version "$src")
example=/usr/share/doc/tcptimeo-tools/examples/rules.conf
nrules=$(grep -cEv '^[[:space:]]*(#|$)' "$example" 2>/dev/null || grep -cEv '^[[:space:]]*(#|$)' "$src/docs/examples/rules.conf" 2>/dev/null)
phase=$(cat "$src/build/pkgtest/phase" 2>/dev/null)
[ "$phase" = deb ] || tap_skip_all "only in the .deb phase of make check-install (phase: ${phase:-none})"
tap_plan $((10 + 2 * ${nrules:-0}))


bad=
for p in tcptimeo-dkms tcptimeo-tools; do
	v=$(dpkg-query -W -f '${Status} ${Version}' "$p" 2>&1)
	[ "$v" = "install ok installed $ver" ] || bad="$bad $p: $v;"
done
if [ -z "$bad" ]; then ok "tcptimeo-dkms and tcptimeo-tools $ver installed"; else not_ok "packages installed"; echo "$bad" | diag; fi

f=$(modinfo -k "$kver" -F filename tcptimeo 2>&1)
case $f in
"/lib/modules/$kver/updates/dkms/tcptimeo.ko"*) ok "the package's postinst had DKMS install $f" ;;
*) not_ok "DKMS module for $kver installed by the package"; { echo "$f"; dkms status 2>&1; } | diag ;;
esac

# What systemd would do at boot: systemd-modules-load, then the unit.
ml=$(ls /usr/lib/modules-load.d/*tcptimeo* /lib/modules-load.d/*tcptimeo* 2>/dev/null | head -n 1)
mods=$(grep -hEv '^[[:space:]]*([#;]|$)' $ml 2>/dev/null)
if [ -n "$ml" ] && [ "$mods" = tcptimeo ] && out=$(modprobe $mods 2>&1); then
	ok "modules-load.d entry $ml: modprobe $mods"
else
	not_ok "modules-load.d entry names tcptimeo and modprobe loads it"; echo "file '$ml' modules '$mods' $out" | diag
fi
grep -qs ' /sys/kernel/config configfs ' /proc/mounts || mount -t configfs none /sys/kernel/config
if [ "$(cat /sys/kernel/tcptimeo/version 2>/dev/null)" = "$ver" ]; then
	ok "module $ver loaded from /lib/modules"
else
	not_ok "module $ver loaded"; dmesg | tail -5 | diag
fi

unit=$(ls /lib/systemd/system/tcptimeo.service /usr/lib/systemd/system/tcptimeo.service 2>/dev/null | head -n 1)
execs=$(sed -n -E 's/^ExecStart(Pre)?=[-@+!:]*//p' "$unit" 2>/dev/null)
if [ -n "$execs" ] && out=$(set -e; while IFS= read -r c; do echo "+ $c"; eval "$c" 2>&1; done <<<"$execs"); then
	ok "tcptimeo.service ExecStart lines succeed (with the shipped /etc/tcptimeo/rules.conf)"
	echo "$out" | diag
else
	not_ok "tcptimeo.service ExecStart lines succeed"; echo "unit '$unit': $out" | diag
fi

if man -w tcptimeoctl >/dev/null 2>&1 && man -w 4 tcptimeo >/dev/null 2>&1; then
	ok "man pages installed: $(man -w tcptimeoctl) $(man -w 4 tcptimeo)"
else
	not_ok "man pages tcptimeoctl(8) and tcptimeo(4) installed"
fi
if [ -f /usr/share/bash-completion/completions/tcptimeoctl ] &&
   bash -c '. /usr/share/bash-completion/completions/tcptimeoctl 2>/dev/null; complete -p tcptimeoctl' >/dev/null 2>&1; then
	ok "bash completion installed and loads"
else
	not_ok "bash completion installed and loads"
fi

tt_apply_example "$example"
cat /sys/kernel/tcptimeo/rules | diag

tap_from_cmd python3 "$here/packaging/pkgcheck.py"

# "Turning it all off" as the operator guide says: apply an empty file,
# then rmmod (not modprobe -r, which would also try the mounted configfs).
out=$(/usr/sbin/tcptimeoctl apply /dev/null 2>&1)
left=$(ls /sys/kernel/config/tcptimeo/rules/)
for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done
if [ -z "$left" ] && out="$out $(rmmod tcptimeo 2>&1)" && [ ! -d /sys/module/tcptimeo ]; then
	ok "tcptimeoctl apply /dev/null removes every rule; rmmod tcptimeo"
else
	not_ok "tcptimeoctl apply /dev/null removes every rule; rmmod tcptimeo"; echo "left: $left; $out" | diag
fi
tap_done
