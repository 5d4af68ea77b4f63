#!/bin/bash
# timeout: 60
# SPDX-License-Identifier: GPL-2.0
#
# After `dkms remove` and `apt-get purge` on the host (selftests/
# packaging/install-flow.sh), this VM, which sees the host's root, finds
# nothing of tcptimeo: `modprobe tcptimeo` fails, no module file, no
# DKMS tree, no package, no files. Outside that flow the whole test is
# skipped (one skip).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
src=$(tt_src)
kver=${KVER:-$(uname -r)}
phase=$(cat "$src/build/pkgtest/phase" 2>/dev/null)
[ "$phase" = removed ] || tap_skip_all "only in the removed phase of make check-install (phase: ${phase:-none})"
tap_plan 5


if out=$(modprobe tcptimeo 2>&1); then
	not_ok "modprobe tcptimeo fails"; rmmod tcptimeo
else
	ok "modprobe tcptimeo fails: $out"
fi
left=$(find "/lib/modules/$kver" -name 'tcptimeo.ko*' 2>/dev/null)
if [ -z "$left" ]; then ok "no tcptimeo.ko under /lib/modules/$kver"; else not_ok "no tcptimeo.ko under /lib/modules/$kver"; echo "$left" | diag; fi
left=$(ls -d /var/lib/dkms/tcptimeo /usr/src/tcptimeo-* 2>/dev/null)
if [ -z "$left" ]; then ok "no DKMS tree or sources"; else not_ok "no DKMS tree or sources"; echo "$left" | diag; fi
left=$(dpkg-query -W -f '${Package} ${Status}\n' 'tcptimeo*' 2>/dev/null | grep -v 'not-installed$')
if [ -z "$left" ]; then ok "no tcptimeo package known to dpkg"; else not_ok "no tcptimeo package known to dpkg"; echo "$left" | diag; fi
left=$(ls -d /etc/tcptimeo /usr/sbin/tcptimeoctl /usr/share/doc/tcptimeo-* /usr/share/man/man8/tcptimeoctl.8* \
	/usr/share/man/man4/tcptimeo.4* /usr/share/bash-completion/completions/tcptimeoctl \
	/lib/systemd/system/tcptimeo.service /usr/lib/systemd/system/tcptimeo.service \
	/usr/lib/modules-load.d/*tcptimeo* /etc/systemd/system/*/tcptimeo.service 2>/dev/null)
if [ -z "$left" ]; then ok "no tcptimeo files left"; else not_ok "no tcptimeo files left"; echo "$left" | diag; fi
tap_done
