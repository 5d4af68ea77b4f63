#!/bin/bash
# timeout: 120
# SPDX-License-Identifier: GPL-2.0
#
# The module under test loads and unloads 3 times with no kernel warning;
# its configfs root /sys/kernel/config/tcptimeo and its sysfs root
# /sys/kernel/tcptimeo appear with it and vanish with it.
. "$(dirname "$0")/lib/tap.sh"
CYCLES=3
CFS=/sys/kernel/config/tcptimeo
SYS=/sys/kernel/tcptimeo
# the module under test, or on a host where it is installed the one
# modprobe loads; with neither there is nothing to test
ko=${TCPTIMEO_KO:-$(modinfo -F filename tcptimeo 2>/dev/null)}
[ -n "$ko" ] || tap_skip_all "no tcptimeo module: not installed (modinfo tcptimeo), no TCPTIMEO_KO"
tap_plan $((2 + 5 * CYCLES))
if [ ! -f "$ko" ]; then
	not_ok "module under test exists: '$ko'"
	tap_done; exit 1
fi
vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null)
ok_if "built for the running kernel: vermagic '${vermagic%% *}' = $(uname -r)" \
	"${vermagic%% *}" = "$(uname -r)"
if [ -d /sys/module/tcptimeo ]; then
	not_ok "not loaded at the start"
else
	ok "not loaded at the start"
	undo '[ ! -d /sys/module/tcptimeo ] || rmmod tcptimeo'
fi

for i in $(seq $CYCLES); do
	klog_mark
	check "cycle $i: modprobe configfs; insmod $(basename "$ko")" tt_load
	if [ -d "$CFS" ] && [ -d "$SYS" ]; then
		ok "cycle $i: $CFS and $SYS appear"
	else
		not_ok "cycle $i: $CFS and $SYS appear"
		ls -ld "$CFS" "$SYS" 2>&1 | diag
	fi
	ok_if "cycle $i: /sys/module/tcptimeo/refcnt is 0 with no rule" \
		"$(cat /sys/module/tcptimeo/refcnt 2>/dev/null)" = 0
	check "cycle $i: rmmod tcptimeo" tt_unload
	gone=
	for p in "$CFS" "$SYS" /sys/module/tcptimeo; do [ -e "$p" ] && gone="$gone $p"; done
	bad=$(klog_problems)
	if [ -z "$gone" ] && [ -z "$bad" ]; then
		ok "cycle $i: roots gone after unload, no kernel warning"
	else
		not_ok "cycle $i: roots gone after unload, no kernel warning"
		[ -z "$gone" ] || diag "still there:$gone"
		[ -z "$bad" ] || printf '%s\n' "$bad" | head -n 20 | diag
	fi
done
tap_done
