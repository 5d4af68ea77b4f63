#!/bin/bash
# timeout: 120
# SPDX-License-Identifier: GPL-2.0
#
# The Kubernetes DaemonSet's container scripts on a real kernel, as the
# pod would run them: deploy/kubernetes/node-init.sh loads the module
# under test as the image's prebuilt module and applies the ConfigMap's
# rules.conf; every rule stamps a loopback connection it matches; a second
# run is a no-op; with no module to be found it fails with exit 2. Then
# deploy/kubernetes/reapply.sh picks up a changed file and applies it,
# refuses an invalid one leaving the live rules alone, and stops on TERM.
here=$(cd "$(dirname "$0")" && pwd)
src=${TCPTIMEO_SRC:-$(dirname "$here")}
. "$here/packaging/tap.sh"
kver=${KVER:-$(uname -r)}
k=$src/deploy/kubernetes
ctl=${TCPTIMEO_CTL:-tcptimeoctl}
work=$(mktemp -d)
rules=$work/etc/rules.conf
mkdir -p "$work/etc" "$work/modules/$kver"
python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["rules.conf"], end="")' \
	"$k/configmap.yaml" > "$rules"
nrules=$(grep -cEv '^[[:space:]]*(#|$)' "$rules")
tap_plan $((8 + 2 * nrules))

if [ ! -f "${TCPTIMEO_KO:-}" ] || ! command -v "$ctl" >/dev/null; then
	skip_rest "node-init.sh / reapply.sh" "needs TCPTIMEO_KO and TCPTIMEO_CTL (module '${TCPTIMEO_KO:-}', CLI '$ctl')"
	tap_done; exit 0
fi
cp "$TCPTIMEO_KO" "$work/modules/$kver/tcptimeo.ko"
ip link set lo up
python3 "$here/packaging/pkgcheck.py" --prepare "$rules" 2>&1 | diag

init() { HOST_ROOT=/ TCPTIMEO_PREBUILT_DIR=$work/modules TCPTIMEO_RULES=$rules \
	TCPTIMEO_CTL=$ctl TCPTIMEO_INSTALL=$1 sh "$k/node-init.sh"; }

out=$(init auto 2>&1); rc=$?
echo "$out" | diag
want=$(grep -Ev '^[[:space:]]*(#|$)' "$rules" | awk '{print $1}' | sort | tr '\n' ' ')
have=$(awk '{print $1}' /sys/kernel/tcptimeo/rules 2>/dev/null | sort | tr '\n' ' ')
if [ $rc = 0 ] && [ -d /sys/module/tcptimeo ] && [ "$want" = "$have" ]; then
	ok "node-init.sh (auto): prebuilt module loaded, ConfigMap rules live: $have"
else
	not_ok "node-init.sh (auto) loads the module and applies the ConfigMap"; echo "rc $rc want '$want' live '$have'" | diag
fi
tap_from_cmd python3 "$here/packaging/pkgcheck.py"

out=$(init auto 2>&1); rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q 'already loaded'; then ok "node-init.sh again: module already loaded, rules re-applied"; else not_ok "node-init.sh is idempotent"; echo "rc $rc: $out" | diag; fi

# The sidecar.
TCPTIMEO_RULES=$rules TCPTIMEO_CTL=$ctl TCPTIMEO_POLL_SECONDS=1 sh "$k/reapply.sh" 2>"$work/reapply.log" &
rpid=$!
sleep 1.5
echo "k8s-added dir out remote-port 7999 user-timeout 5000" >> "$rules"
for _ in $(seq 20); do grep -q '^k8s-added ' /sys/kernel/tcptimeo/rules && break; sleep 0.5; done
if grep -q '^k8s-added ' /sys/kernel/tcptimeo/rules; then ok "reapply.sh applies a changed rules.conf"; else not_ok "reapply.sh applies a changed rules.conf"; diag < "$work/reapply.log"; fi
before=$(cat /sys/kernel/tcptimeo/rules)
echo "k8s-broken dir sideways" >> "$rules"
for _ in $(seq 20); do grep -q 'rejected' "$work/reapply.log" && break; sleep 0.5; done
if grep -q 'rejected' "$work/reapply.log" && [ "$(cat /sys/kernel/tcptimeo/rules)" = "$before" ]; then
	ok "reapply.sh: an invalid rules.conf is rejected, live rules unchanged"
else
	not_ok "reapply.sh rejects an invalid rules.conf and keeps the live rules"; diag < "$work/reapply.log"
fi
kill -TERM "$rpid"; wait "$rpid"; rc=$?
if [ $rc = 0 ]; then ok "reapply.sh stops on TERM with exit 0"; else not_ok "reapply.sh stops on TERM with exit 0 (got $rc)"; fi
diag < "$work/reapply.log"

for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done
rmmod tcptimeo 2>/dev/null
sed -i '/^k8s-broken /d' "$rules"
out=$(init prebuilt 2>&1); rc=$?
if [ $rc = 0 ] && [ -d /sys/module/tcptimeo ]; then ok "node-init.sh (prebuilt) loads the module"; else not_ok "node-init.sh (prebuilt)"; echo "$out" | diag; fi
for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done
rmmod tcptimeo 2>/dev/null
rm -rf "${work:?}/modules/$kver"
out=$(init prebuilt 2>&1); rc=$?
if [ $rc = 2 ] && [ ! -d /sys/module/tcptimeo ]; then ok "node-init.sh with no module to load: exit 2, says why"; echo "$out" | tail -1 | diag
else not_ok "node-init.sh with no module to load exits 2"; echo "rc $rc: $out" | diag; fi
bad=$work/bad.conf; echo "bad dir sideways" > "$bad"
cp "$TCPTIMEO_KO" "$work/tcptimeo.ko"; mkdir -p "$work/modules/$kver"; cp "$work/tcptimeo.ko" "$work/modules/$kver/"
out=$(HOST_ROOT=/ TCPTIMEO_PREBUILT_DIR=$work/modules TCPTIMEO_RULES=$bad TCPTIMEO_CTL=$ctl sh "$k/node-init.sh" 2>&1); rc=$?
if [ $rc = 1 ] && [ -z "$(cat /sys/kernel/tcptimeo/rules 2>/dev/null)" ]; then ok "node-init.sh with an invalid rules.conf: exit 1, no rules"; else not_ok "node-init.sh with an invalid rules.conf exits 1"; echo "rc $rc: $out" | diag; fi
for d in /sys/kernel/config/tcptimeo/rules/*/; do [ -d "$d" ] && rmdir "$d"; done
rmmod tcptimeo 2>/dev/null
rm -rf "$work"
tap_done
