#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: deploy/kubernetes validates against the Kubernetes API
# schemas offline (npm packages kubernetes-models and kubernetes-types,
# see k8s/validate.mjs), the validator itself rejects broken manifests,
# the container scripts pass shellcheck, and the ConfigMap's rules are
# the shipped example rules.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
kdir=$src/deploy/kubernetes
cache=${TCPTIMEO_CACHE:-$src/.cache}/k8s-validate

# The validator's npm packages, pinned by k8s/package-lock.json.
mkdir -p "$cache"
if ! cmp -s "$here/k8s/package-lock.json" "$cache/package-lock.json" || [ ! -d "$cache/node_modules" ]; then
	cp "$here/k8s/package.json" "$here/k8s/package-lock.json" "$cache/"
	if ! (cd "$cache" && npm ci --no-audit --no-fund --silent) >"$cache/npm.log" 2>&1; then
		not_ok "npm ci of the validator (kubernetes-models, kubernetes-types, typescript, yaml)"
		diag < "$cache/npm.log"
		tap_done; exit
	fi
fi
cp "$here/k8s/validate.mjs" "$cache/"
validate() { (cd "$cache" && node validate.mjs "$@"); }

out=$(validate "$kdir"/*.yaml 2>&1); rc=$?
printf '%s\n' "$out" | diag
if [ $rc -eq 0 ]; then ok "deploy/kubernetes/*.yaml valid against the Kubernetes API schemas"
else not_ok "deploy/kubernetes/*.yaml valid against the Kubernetes API schemas"; fi

# The validator must catch each of these, or a pass above means nothing.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mutate() { # name sed-expression
	sed "$2" "$kdir/daemonset.yaml" > "$tmp/daemonset.yaml"
	if cmp -s "$tmp/daemonset.yaml" "$kdir/daemonset.yaml"; then not_ok "validator rejects: $1 (mutation did not apply)"; return; fi
	if validate "$kdir/configmap.yaml" "$tmp/daemonset.yaml" >"$tmp/out" 2>&1; then
		not_ok "validator rejects: $1"; diag < "$tmp/out"
	else ok "validator rejects: $1"; grep '^#   ' "$tmp/out" | head -2 | diag; fi
}
mutate "a misspelt field (operater)" 's/- operator: Exists/- operater: Exists/'
mutate "a wrong enum (imagePullPolicy Sometimes)" '0,/imagePullPolicy: IfNotPresent/s//imagePullPolicy: Sometimes/'
mutate "a wrong type (readOnly: \"yes\")" '0,/readOnly: true/s//readOnly: "yes"/'
mutate "a missing required field (no selector)" '/^  selector:/,/^      app.kubernetes.io\/name: tcptimeo/d'
mutate "a field at the wrong level (resources under securityContext)" 's/^          resources:/            resources:/'
mutate "a volumeMount without a volume" '0,/- name: host-modules$/s//- name: host-modulez/'

if command -v shellcheck >/dev/null; then
	check "shellcheck deploy/kubernetes/*.sh" shellcheck -s sh "$kdir/node-init.sh" "$kdir/reapply.sh"
else
	skip "shellcheck deploy/kubernetes/*.sh" "shellcheck not installed"
fi

# The ConfigMap carries the example rules (same rule lines, comments aside).
ex=$src/docs/examples/rules.conf
if [ -f "$ex" ]; then
	python3 - "$kdir/configmap.yaml" "$ex" >"$tmp/out" 2>&1 <<'PY'
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
rules = lambda text: [" ".join(l.split()) for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
a, b = rules(cm["data"]["rules.conf"]), rules(open(sys.argv[2]).read())
if a != b:
    print("configmap:", *a, sep="\n  "); print("example:", *b, sep="\n  "); sys.exit(1)
PY
	if [ $? -eq 0 ]; then ok "ConfigMap rules == docs/examples/rules.conf"; else not_ok "ConfigMap rules == docs/examples/rules.conf"; diag < "$tmp/out"; fi
else
	skip "ConfigMap rules == docs/examples/rules.conf" "docs/examples/rules.conf not there yet"
fi
tap_done
