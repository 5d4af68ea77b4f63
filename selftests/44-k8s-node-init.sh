#!/bin/bash
# timeout: 600
# SPDX-License-Identifier: GPL-2.0
#
# The Kubernetes DaemonSet's container scripts on a real kernel, as the
# pod would run them. deploy/kubernetes/node-init.sh loads the module
# under test as the image's prebuilt module and applies the ConfigMap's
# rules.conf, stamping a connection opened before the module was loaded
# (--existing); every rule stamps a loopback connection it matches; a
# second run is a no-op. deploy/kubernetes/reapply.sh, the reconcile loop:
# ready and in sync with metrics (textfile written atomically), applies a
# changed file, repairs a rule deleted by hand, keeps the live rules on an
# invalid file and turns not ready, repairs a module reload (tcptimeo_up 0
# while it is gone, then the rules back and the connection opened
# meanwhile stamped), makes a failing apply visible (no CAP_NET_ADMIN:
# status, readiness, counter, log), stops on TERM. An unprivileged
# container's view of /sys (read-only, CAP_NET_ADMIN) cannot apply at all:
# why the DaemonSet runs reapply privileged. Nodes that cannot run the
# module (os-release ID cos, modules_disabled, signature refused) make
# node-init exit 0 with one line and reapply report unsupported; with no
# module to be found it exits 2; an invalid rules file exits 1.
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
conn=$here/packaging/k8s/conn.py
work=$(mktemp -d)
# however it ends: its processes (reapply.sh, the connections: children
# of this shell), then its rules and the module it loaded, then its files
undo 'rm -rf "$work"'
undo 'for d in /sys/kernel/config/tcptimeo/rules/*/; do [ ! -d "$d" ] || rmdir "$d"; done; [ ! -d /sys/module/tcptimeo ] || rmmod tcptimeo'
undo 'pkill -P $$'
rules=$work/etc/rules.conf
state=$work/state
textfile=$work/textfile
mkdir -p "$work/etc" "$work/modules/$kver" "$state" "$textfile"
python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["rules.conf"], end="")' \
	"$k/configmap.yaml" > "$rules"
nrules=$(grep -cEv '^[[:space:]]*(#|$)' "$rules")
tap_plan $((23 + 2 * nrules))

cp "$TCPTIMEO_KO" "$work/modules/$kver/tcptimeo.ko"
ip link set lo up
python3 "$here/packaging/pkgcheck.py" --prepare "$rules" 2>&1 | diag

# poll SECONDS CMD...: until CMD succeeds, every 0.1 s; its last status.
# W: how long to wait for what reapply.sh (1 s period) does; a pass takes
# well under a second on an idle host but over 10 s in a TCG guest on a
# busy one, and a poll returns as soon as the condition holds.
W=60
poll() {
	_end=$(($(date +%s) + $1)); shift
	until "$@"; do [ "$(date +%s)" -ge "$_end" ] && return 1; sleep 0.1; done
}
init() { env HOST_ROOT=/ TCPTIMEO_PREBUILT_DIR="$work/modules" TCPTIMEO_RULES="$rules" \
	TCPTIMEO_STATE_DIR="$state" TCPTIMEO_CTL="$ctl" TCPTIMEO_INSTALL="$1" "${@:2}" sh "$k/node-init.sh"; }
# reapply.sh's environment; "env ${renv[@]} CMD &" keeps $! the script's pid.
renv=(TCPTIMEO_RULES="$rules" TCPTIMEO_CTL="$ctl" TCPTIMEO_POLL_SECONDS=1
	TCPTIMEO_STATE_DIR="$state" TCPTIMEO_TEXTFILE_DIR="$textfile")
live_names() { awk '{print $1}' /sys/kernel/tcptimeo/rules 2>/dev/null | sort | tr '\n' ' '; }
want=$(grep -Ev '^[[:space:]]*(#|$)' "$rules" | awk '{print $1}' | sort | tr '\n' ' ')
in_sync() { [ "$(live_names)" = "$(grep -Ev '^[[:space:]]*(#|$)' "$rules" | awk '{print $1}' | sort | tr '\n' ' ')" ]; }
status_is() { read -r _ s _ 2>/dev/null < "$state/status" && [ "$s" = "$1" ]; }
metric() { awk -v m="$1" '$1 == m { print $2 }' "${2:-$state/metrics.prom}" 2>/dev/null; }
ready() { env "${renv[@]}" sh "$k/reapply.sh" --ready >/dev/null 2>&1; }

conn_opts() { cat "$work/conn.$1" 2>/dev/null; }
# Remove the rules and rmmod, again until it works (a running reapply.sh
# may put rules back in between).
unload() { poll $W sh -c 'for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done; rmmod tcptimeo 2>/dev/null'; }

# A connection to the redis rule's port opened before the module exists.
python3 "$conn" 127.0.0.5 6379 "$work/conn.a" & cpid=$!
poll $W test -s "$work/conn.a"
before=$(conn_opts a)
out=$(init auto 2>&1); rc=$?
echo "$out" | diag
have=$(live_names)
if [ $rc = 0 ] && [ -d /sys/module/tcptimeo ] && [ "$want" = "$have" ]; then
	ok "node-init.sh (auto): prebuilt module loaded, ConfigMap rules live: $have"
else
	not_ok "node-init.sh (auto) loads the module and applies the ConfigMap"; echo "rc $rc want '$want' live '$have'" | diag
fi
if poll $W sh -c "grep -q 'keepalive=1 idle=60' '$work/conn.a'"; then
	ok "node-init.sh applies with --existing: a connection opened before the module went from '$before' to '$(conn_opts a)'"
else
	not_ok "node-init.sh stamps connections opened before the module (--existing): '$before' -> '$(conn_opts a)'"
fi
kill "$cpid"; wait "$cpid" 2>/dev/null
tap_from_cmd python3 "$here/packaging/pkgcheck.py"

out=$(init auto 2>&1); rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q 'already loaded'; then ok "node-init.sh again: module already loaded, rules re-applied"; else not_ok "node-init.sh is idempotent"; echo "rc $rc: $out" | diag; fi

# Why reapply is privileged: a container runtime mounts /sys read-only in
# an unprivileged container; with CAP_NET_ADMIN alone and the configfs
# hostPath mounted, apply still has to write /sys/kernel/tcptimeo/hold.
cp "$rules" "$work/changed.conf"; echo "k8s-unpriv dir out remote-port 7998 user-timeout 5000" >> "$work/changed.conf"
out=$(unshare -m sh -c 'mount -o remount,bind,ro /sys && exec setpriv --bounding-set -all,+net_admin --inh-caps -all "$0" apply "$1"' \
	"$ctl" "$work/changed.conf" 2>&1); rc=$?
if [ $rc != 0 ] && ! grep -q '^k8s-unpriv ' /sys/kernel/tcptimeo/rules; then
	ok "an unprivileged container's view (read-only /sys, CAP_NET_ADMIN, configfs mounted) cannot apply: exit $rc"; echo "$out" | grep '^tcptimeoctl' | diag
else
	not_ok "an unprivileged container's view cannot apply (rc $rc)"; echo "$out" | diag
fi

# The reconcile loop.
env "${renv[@]}" sh "$k/reapply.sh" 2>"$work/reapply.log" & rpid=$!
if poll $W status_is in-sync && poll $W eval '[ "$(metric tcptimeo_rules_in_sync)" = 1 ]' && ready &&
	[ "$(metric tcptimeo_up)" = 1 ] && [ "$(metric tcptimeo_last_apply_timestamp_seconds)" -gt 0 ]; then
	ok "reapply.sh: in sync at start, --ready exit 0, tcptimeo_up 1, tcptimeo_rules_in_sync 1, last apply $(metric tcptimeo_last_apply_timestamp_seconds) (node-init's)"
else
	not_ok "reapply.sh: in sync and ready at start"; cat "$state/status" "$state/metrics.prom" 2>&1 | diag
fi
if poll $W cmp -s "$textfile/tcptimeo.prom" "$state/metrics.prom"; then
	ok "reapply.sh writes TCPTIMEO_TEXTFILE_DIR/tcptimeo.prom ($(grep -c '^tcptimeo_' "$textfile/tcptimeo.prom") samples)"
else
	not_ok "reapply.sh writes TCPTIMEO_TEXTFILE_DIR/tcptimeo.prom"; ls -la "$textfile" | diag
fi
# Atomic: every read while it rewrites the file each second is whole.
read -r reads torn < <(python3 - "$textfile/tcptimeo.prom" <<'PY'
import re, sys, time
n = torn = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    n += 1
    try:
        text = open(sys.argv[1]).read()
    except FileNotFoundError:
        text = ""
    if not text.startswith("# HELP tcptimeo_up") or not re.search(r"\ntcptimeo_apply_failures_total \d+\n\Z", text):
        torn += 1
print(n, torn)
PY
)
if [ "$torn" = 0 ] && [ "$reads" -gt 100 ]; then
	ok "the textfile is replaced atomically: $reads reads over 3 s (3 rewrites) all whole"
else
	not_ok "the textfile is replaced atomically: $torn of $reads reads torn"; ls -a "$textfile" | diag
fi

t0=$(date +%s)
echo "k8s-added dir out remote-port 7999 user-timeout 5000" >> "$rules"
if poll $W grep -q '^k8s-added ' /sys/kernel/tcptimeo/rules && poll $W sh -c "[ \"\$(awk '\$1 == \"tcptimeo_last_apply_timestamp_seconds\" {print \$2}' '$state/metrics.prom')\" -ge $t0 ]"; then
	ok "reapply.sh applies a changed rules.conf (tcptimeo_last_apply_timestamp_seconds $(metric tcptimeo_last_apply_timestamp_seconds) >= $t0)"
else not_ok "reapply.sh applies a changed rules.conf"; diag < "$work/reapply.log"; fi

"$ctl" del redis
if poll $W in_sync && poll $W status_is in-sync; then
	ok "reapply.sh repairs drift: a rule deleted by hand is back ($(grep -c . /sys/kernel/tcptimeo/rules) rules)"
else not_ok "reapply.sh repairs a rule deleted by hand"; diag < "$work/reapply.log"; fi

before=$(cat /sys/kernel/tcptimeo/rules)
echo "k8s-broken dir sideways" >> "$rules"
if poll $W status_is invalid-rules && poll $W eval '[ "$(metric tcptimeo_rules_in_sync)" = 0 ]' && ! ready &&
	grep -q 'rejected' "$work/reapply.log" && [ "$(cat /sys/kernel/tcptimeo/rules)" = "$before" ]; then
	ok "reapply.sh: an invalid rules.conf is rejected, live rules unchanged, not ready, tcptimeo_rules_in_sync 0"
else
	not_ok "reapply.sh rejects an invalid rules.conf, keeps the live rules, turns not ready"; cat "$state/status" | diag; diag < "$work/reapply.log"
fi
sed -i '/^k8s-broken /d' "$rules"
if poll $W status_is in-sync && ready; then ok "reapply.sh: in sync and ready again once the invalid line is gone"
else not_ok "reapply.sh back in sync after the invalid line went"; cat "$state/status" | diag; fi

# The module reloaded under the running pod (host modprobe -r; modprobe).
unload
python3 "$conn" 127.0.0.5 6379 "$work/conn.b" & cpid=$!
if poll $W status_is down && poll $W eval '[ "$(metric tcptimeo_up "$textfile/tcptimeo.prom")" = 0 ]' && ! ready &&
	[ "$(metric tcptimeo_up)" = 0 ] && [ "$(metric tcptimeo_rules_in_sync)" = 0 ]; then
	ok "module unloaded: status down, not ready, tcptimeo_up 0 and tcptimeo_rules_in_sync 0 in both metric files"
else
	not_ok "module unloaded: reapply reports it"; cat "$state/status" "$state/metrics.prom" | diag
fi
poll $W test -s "$work/conn.b"
before=$(conn_opts b)
insmod "$TCPTIMEO_KO"
if poll $W in_sync && poll $W status_is in-sync && ready; then ok "module reloaded: reapply.sh puts the rules back, ready again"
else not_ok "module reloaded: reapply.sh puts the rules back"; diag < "$work/reapply.log"; fi
if poll $W sh -c "grep -q 'keepalive=1 idle=60' '$work/conn.b'"; then
	ok "the first apply after the reload has --existing: a connection opened meanwhile went from '$before' to '$(conn_opts b)'"
else not_ok "the first apply after the reload stamps open connections: '$before' -> '$(conn_opts b)'"; fi
kill "$cpid"; wait "$cpid" 2>/dev/null
kill -TERM "$rpid"; wait "$rpid"; rc=$?
if [ $rc = 0 ]; then ok "reapply.sh stops on TERM with exit 0"; else not_ok "reapply.sh stops on TERM with exit 0 (got $rc)"; fi
diag < "$work/reapply.log"

# A failing apply is visible: the same loop without CAP_NET_ADMIN.
"$ctl" del redis
env "${renv[@]}" setpriv --bounding-set -net_admin --inh-caps -net_admin sh "$k/reapply.sh" 2>"$work/reapply2.log" & rpid=$!
if poll $W status_is apply-failed && poll $W eval '[ "$(metric tcptimeo_apply_failures_total)" -ge 1 ]' && ! ready &&
	[ "$(metric tcptimeo_rules_in_sync)" = 0 ] && grep -q 'apply-failed' "$work/reapply2.log"; then
	ok "a failing apply (no CAP_NET_ADMIN) is visible: status apply-failed, not ready, tcptimeo_apply_failures_total $(metric tcptimeo_apply_failures_total), logged"
	grep 'apply-failed' "$work/reapply2.log" | head -1 | diag
else
	not_ok "a failing apply is visible"; cat "$state/status" | diag; diag < "$work/reapply2.log"
fi
kill -TERM "$rpid"; wait "$rpid"

# Nodes that cannot run the module: one line, exit 0, reapply says why.
unload
printf 'NAME="Container-Optimized OS"\nID=cos\nPRETTY_NAME="Container-Optimized OS from Google"\n' > "$work/os-release"
out=$(init auto TCPTIMEO_OS_RELEASE="$work/os-release" 2>&1); rc=$?
if [ $rc = 0 ] && [ ! -d /sys/module/tcptimeo ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q 'unsupported.*ID=cos' && [ -s "$state/unsupported" ]; then
	ok "os-release ID=cos: node-init exits 0 with one line, no module loaded"; echo "$out" | diag
else not_ok "os-release ID=cos: node-init exits 0 with one line"; echo "rc $rc: $out" | diag; fi
env "${renv[@]}" sh "$k/reapply.sh" 2>"$work/reapply3.log" & rpid=$!
if poll $W status_is unsupported && poll $W eval '[ "$(metric tcptimeo_up)" = 0 ]' && ! ready && grep -q 'unsupported: .*ID=cos' "$work/reapply3.log"; then
	ok "reapply.sh on an unsupported node: status unsupported, not ready, tcptimeo_up 0, logs the reason"
else not_ok "reapply.sh on an unsupported node"; cat "$state/status" | diag; diag < "$work/reapply3.log"; fi
kill -TERM "$rpid"; wait "$rpid"
echo 1 > "$work/modules_disabled"
out=$(init auto TCPTIMEO_MODULES_DISABLED_FILE="$work/modules_disabled" 2>&1); rc=$?
if [ $rc = 0 ] && [ ! -d /sys/module/tcptimeo ] && echo "$out" | grep -q 'unsupported.*modules_disabled=1'; then
	ok "kernel.modules_disabled=1: node-init exits 0 and says so"; echo "$out" | diag
else not_ok "kernel.modules_disabled=1: node-init exits 0 and says so"; echo "rc $rc: $out" | diag; fi
# insmod as the kernel answers an unsigned module under Secure Boot.
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "insmod: ERROR: could not insert module $1: Key was rejected by service" >&2\nexit 1\n' > "$work/bin/insmod"
chmod +x "$work/bin/insmod"
out=$(init prebuilt PATH="$work/bin:$PATH" 2>&1); rc=$?
if [ $rc = 0 ] && [ ! -d /sys/module/tcptimeo ] && echo "$out" | grep -q 'unsupported.*signed.*Key was rejected'; then
	ok "signature refused (Secure Boot): node-init exits 0 and says so"; echo "$out" | tail -1 | diag
else not_ok "signature refused: node-init exits 0 and says so"; echo "rc $rc: $out" | diag; fi

out=$(init prebuilt 2>&1); rc=$?
if [ $rc = 0 ] && [ -d /sys/module/tcptimeo ] && [ ! -e "$state/unsupported" ]; then ok "node-init.sh (prebuilt) loads the module"; else not_ok "node-init.sh (prebuilt)"; echo "$out" | diag; fi
unload
rm -rf "${work:?}/modules/$kver"
out=$(init prebuilt 2>&1); rc=$?
if [ $rc = 2 ] && [ ! -d /sys/module/tcptimeo ]; then ok "node-init.sh with no module to load: exit 2, says why"; echo "$out" | tail -1 | diag
else not_ok "node-init.sh with no module to load exits 2"; echo "rc $rc: $out" | diag; fi
bad=$work/bad.conf; echo "bad dir sideways" > "$bad"
mkdir -p "$work/modules/$kver"; cp "$TCPTIMEO_KO" "$work/modules/$kver/"
out=$(HOST_ROOT=/ TCPTIMEO_PREBUILT_DIR=$work/modules TCPTIMEO_RULES=$bad TCPTIMEO_STATE_DIR=$state TCPTIMEO_CTL=$ctl sh "$k/node-init.sh" 2>&1); rc=$?
if [ $rc = 1 ] && [ -z "$(cat /sys/kernel/tcptimeo/rules 2>/dev/null)" ]; then ok "node-init.sh with an invalid rules.conf: exit 1, no rules"; else not_ok "node-init.sh with an invalid rules.conf exits 1"; echo "rc $rc: $out" | diag; fi
unload
rm -rf "$work"
tap_done
