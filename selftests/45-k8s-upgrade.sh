#!/bin/bash
# timeout: 180
# SPDX-License-Identifier: GPL-2.0
#
# Upgrading the module under a running DaemonSet: version A is loaded with
# the ConfigMap's rules (A: the module under test with its version string
# changed, same length, in a copy of the .ko), then node-init.sh of an
# image of version B (the module under test and tcptimeoctl) runs, as a
# new image's pod does. It must end with B loaded, the same rules live, a
# connection opened before the upgrade stamped (--existing), the rules it
# removed saved, and the time without rules measured and printed.
# tcptimeoctl --version warns while A is loaded; TCPTIMEO_INSTALL=host
# keeps the node's module whatever its version, and auto never loads a
# module of another version than the image's.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/packaging/tap.sh"
src=$(tt_src)
kver=${KVER:-$(uname -r)}
k=$src/deploy/kubernetes
ctl=${TCPTIMEO_CTL:-tcptimeoctl}
# The image's prebuilt module is a build's .ko (TCPTIMEO_KO), not one
# installed on the host.
[ -f "${TCPTIMEO_KO:-}" ] && command -v "$ctl" >/dev/null ||
	tap_skip_all "needs TCPTIMEO_KO and TCPTIMEO_CTL (module '${TCPTIMEO_KO:-}', CLI '$ctl')"
work=$(mktemp -d)
# however it ends: its processes (reapply.sh, the connections: children
# of this shell), then its rules and the module it loaded, then its files
undo 'rm -rf "$work"'
undo 'for d in /sys/kernel/config/tcptimeo/rules/*/; do [ ! -d "$d" ] || rmdir "$d"; done; [ ! -d /sys/module/tcptimeo ] || rmmod tcptimeo'
undo 'pkill -P $$'
rules=$work/rules.conf
state=$work/state
mkdir -p "$work/modules/$kver" "$work/old/$kver" "$state"
python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["rules.conf"], end="")' \
	"$k/configmap.yaml" > "$rules"
tap_plan 9

ip link set lo up
python3 "$here/packaging/pkgcheck.py" --prepare "$rules" 2>&1 | diag
poll() {
	_end=$(($(date +%s) + $1)); shift
	until "$@"; do [ "$(date +%s)" -ge "$_end" ] && return 1; sleep 0.1; done
}
init() { env HOST_ROOT=/ TCPTIMEO_PREBUILT_DIR="$work/modules" TCPTIMEO_RULES="$rules" \
	TCPTIMEO_STATE_DIR="$state" TCPTIMEO_CTL="$ctl" TCPTIMEO_INSTALL="$1" "${@:2}" sh "$k/node-init.sh"; }
unload() { for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done; rmmod tcptimeo 2>/dev/null; }

B=$("$ctl" --version 2>/dev/null | sed -n 's/^tcptimeoctl //p')
case $B in *9) A=${B%?}8 ;; *) A=${B%?}9 ;; esac
cp "$TCPTIMEO_KO" "$work/modules/$kver/tcptimeo.ko"
n=$(python3 - "$TCPTIMEO_KO" "$work/old/$kver/tcptimeo.ko" "$B" "$A" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
old, new = sys.argv[3].encode() + b"\0", sys.argv[4].encode() + b"\0"
open(sys.argv[2], "wb").write(data.replace(old, new))
print(data.count(old))
PY
)
insmod "$work/old/$kver/tcptimeo.ko"
if [ "$(cat /sys/kernel/tcptimeo/version 2>/dev/null)" = "$A" ] && [ "$(modinfo -F version "$work/old/$kver/tcptimeo.ko")" = "$A" ]; then
	ok "module A ($A, $n version strings changed) loaded; the image (tcptimeoctl, prebuilt module) is B ($B)"
else
	not_ok "module A ($A) loaded"; echo "version '$(cat /sys/kernel/tcptimeo/version 2>&1)', $n strings" | diag
fi
out=$("$ctl" --version 2>&1 >/dev/null)
if echo "$out" | grep -q "warning: module $A differs from tcptimeoctl $B"; then ok "tcptimeoctl --version warns: $out"
else not_ok "tcptimeoctl --version warns on a version mismatch"; echo "$out" | diag; fi

# A connection opened before the rules exist, then the rules without
# --existing: it stays unstamped until the upgrade's apply --existing.
python3 "$here/packaging/k8s/conn.py" 127.0.0.5 6379 "$work/conn" & cpid=$!
poll 30 test -s "$work/conn"
"$ctl" apply -q "$rules"
sleep 0.3
pre=$(cat "$work/conn")
saved=$("$ctl" save)

out=$(init host 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat /sys/kernel/tcptimeo/version)" = "$A" ] && [ "$("$ctl" save)" = "$saved" ] &&
	echo "$out" | grep -q "warning: module $A differs"; then
	ok "TCPTIMEO_INSTALL=host keeps the loaded module $A and warns about the mismatch"
else not_ok "TCPTIMEO_INSTALL=host keeps the loaded module and warns"; echo "rc $rc: $out" | diag; fi

t0=$(cut -d' ' -f1 /proc/uptime)
out=$(init auto 2>&1); rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
echo "$out" | diag
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
gap=$(echo "$out" | sed -n 's/.*policy gap: \([0-9]*\) ms.*/\1/p' | tail -1)
if [ $rc = 0 ] && [ "$(cat /sys/kernel/tcptimeo/version)" = "$B" ] && [ "$(cat /sys/module/tcptimeo/version)" = "$B" ]; then
	ok "node-init.sh of image $B replaced module $A with $B"
else not_ok "node-init.sh of image $B ends with $B loaded (have $(cat /sys/kernel/tcptimeo/version 2>&1))"; fi
if [ "$("$ctl" save)" = "$saved" ] && [ -n "$saved" ]; then ok "the same rules are live after the upgrade ($(echo "$saved" | grep -c .) lines)"
else not_ok "the same rules are live after the upgrade"; { echo "before:"; echo "$saved"; echo "after:"; "$ctl" save; } | diag; fi
if [ "$(grep -v '^#' "$state/rules.before-upgrade" 2>/dev/null)" = "$(echo "$saved" | grep -v '^#')" ]; then
	ok "the rules removed for the upgrade were saved to the state directory"
else not_ok "the rules removed for the upgrade were saved"; diag < "$state/rules.before-upgrade"; fi
if [ -n "$gap" ] && [ "$gap" -le "$wall" ]; then
	ok "the policy gap is printed: $gap ms without rules, within node-init's $wall ms"
else not_ok "the policy gap is measured and printed (gap '$gap', node-init took $wall ms)"; fi
if poll 30 grep -q 'keepalive=1 idle=60' "$work/conn"; then
	ok "apply --existing after the upgrade: a connection opened before went from '$pre' to '$(cat "$work/conn")'"
else not_ok "the upgrade's apply stamps open connections: '$pre' -> '$(cat "$work/conn")'"; fi
kill "$cpid"; wait "$cpid" 2>/dev/null

# auto never loads a module of another version (here: only A on offer).
unload
rm -f "$work/modules/$kver/tcptimeo.ko"; cp "$work/old/$kver/tcptimeo.ko" "$work/modules/$kver/"
out=$(init prebuilt 2>&1); rc=$?
if [ $rc = 2 ] && [ ! -d /sys/module/tcptimeo ] && echo "$out" | grep -q "skipping.*version $A, this image is $B"; then
	ok "node-init.sh (prebuilt) skips a module of version $A and exits 2"; echo "$out" | head -1 | diag
else not_ok "node-init.sh skips a module of another version"; echo "rc $rc: $out" | diag; fi
unload
rm -rf "$work"
tap_done
