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
# What this DaemonSet needs on real nodes (issue 15): AppArmor/SELinux
# unconfined where /sys is written, readiness, both architectures.
mutate "reapply without appArmorProfile (default profile denies /sys/kernel/config writes)" \
	'/name: reapply$/,$ { /appArmorProfile:/,/type: Unconfined/d }'
mutate "an AppArmor annotation that disagrees with the field" \
	's|apparmor.security.beta.kubernetes.io/reapply: unconfined|apparmor.security.beta.kubernetes.io/reapply: runtime/default|'
mutate "reapply without seLinuxOptions spc_t" '/name: reapply$/,$ { /seLinuxOptions:/,/type: spc_t/d }'
mutate "privileged with allowPrivilegeEscalation: false" \
	'/name: reapply$/,$ s/^\( *\)privileged: true/\1privileged: true\n\1allowPrivilegeEscalation: false/'
mutate "reapply without readinessProbe" '/readinessProbe:/,/failureThreshold:/d'
mutate "amd64 nodes only" 's/values: \["amd64", "arm64"\]/values: ["amd64"]/'
mutate "the state directory not shared with the init container" \
	'0,/mountPath: \/run\/tcptimeo/s//mountPath: \/run\/tcptimeo-init/'

# The kustomize patches README.md shows (opt-in node label, textfile
# collector) apply to daemonset.yaml and the result still validates.
if python3 - "$src/deploy/kubernetes/README.md" "$kdir/daemonset.yaml" "$tmp" >"$tmp/out" 2>&1 <<'PY'
import re, sys, yaml
readme, ds, out = sys.argv[1:]
blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", open(readme).read(), re.S)]
patches = [p for b in blocks if isinstance(b, dict) for p in b.get("patches", [])]
assert patches, "no patches in README.md"
def walk(doc, path):
    parts = [int(x) if x.isdigit() else x for x in path.lstrip("/").split("/")]
    for x in parts[:-1]:
        doc = doc[x]
    return doc, parts[-1]
for i, p in enumerate(patches):
    assert p["target"] == {"kind": "DaemonSet", "name": "tcptimeo"}, p["target"]
    doc = yaml.safe_load(open(ds))
    for op in yaml.safe_load(p["patch"]):
        parent, key = walk(doc, op["path"])
        if op["op"] == "add" and key == "-":
            parent.append(op["value"])
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace":
                parent[key]  # must exist
            parent[key] = op["value"]
        else:
            raise SystemExit(f"unsupported op {op}")
    yaml.safe_dump(doc, open(f"{out}/patched-{i}.yaml", "w"))
    print(f"{out}/patched-{i}.yaml")
PY
then
	n=0
	for f in $(cat "$tmp/out"); do
		if validate "$kdir/configmap.yaml" "$f" >"$tmp/vout" 2>&1; then n=$((n + 1)); else diag < "$tmp/vout"; fi
	done
	if [ "$n" -ge 2 ] && [ "$n" = "$(wc -l < "$tmp/out")" ]; then ok "README.md's $n kustomize patches apply to daemonset.yaml and validate"
	else not_ok "README.md's kustomize patches apply to daemonset.yaml and validate"; fi
else
	not_ok "README.md's kustomize patches apply to daemonset.yaml"; diag < "$tmp/out"
fi
if grep -q 'TCPTIMEO_TEXTFILE_DIR' "$tmp"/patched-*.yaml 2>/dev/null &&
	python3 -c 'import sys, yaml; c = [c for c in yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"] if c["name"] == "reapply"][0]; e = {x["name"]: x["value"] for x in c["env"]}; m = [v["mountPath"] for v in c["volumeMounts"]]; sys.exit(0 if e["TCPTIMEO_TEXTFILE_DIR"] in m else 1)' \
		"$(grep -l '/textfile' "$tmp"/patched-*.yaml | head -1)"; then
	ok "README.md's textfile patch sets TCPTIMEO_TEXTFILE_DIR to a directory it mounts"
else
	not_ok "README.md's textfile patch sets TCPTIMEO_TEXTFILE_DIR to a directory it mounts"
fi

# Every `make TARGET` the Kubernetes files mention exists (make -q: 2 =
# no such target), and the README's "Use" steps that copy prebuilt
# modules into the image context work on the tree make leaves.
missing=
for t in $(grep -hoE '(^|`|# )make [a-z][-a-z0-9 ]*' "$kdir"/* | sed 's/^.*make //' | tr ' ' '\n' | sort -u); do
	(cd "$src" && make -q "$t" >/dev/null 2>&1); [ $? = 2 ] && missing="$missing $t"
done
if [ -z "$missing" ]; then ok "every 'make TARGET' in deploy/kubernetes/ exists"
else not_ok "every 'make TARGET' in deploy/kubernetes/ exists; missing:$missing"; fi
steps=$(sed -n '/^## Use/,/^## /p' "$kdir/README.md" | grep -E '^(mkdir|cp) .*k8s-image/modules' | sed 's/ *#.*//')
mkdir -p "$tmp/ctx/build/k8s-image/modules" "$tmp/ctx/build/9.9.9-test/"
echo ko > "$tmp/ctx/build/9.9.9-test/tcptimeo.ko"
if [ -n "$steps" ] && (cd "$tmp/ctx" && printf '%s\n' "$steps" | sed 's/<kver>/9.9.9-test/g' | sh -e) >"$tmp/out" 2>&1 &&
	[ -f "$tmp/ctx/build/k8s-image/modules/9.9.9-test/tcptimeo.ko" ]; then
	ok "README.md's prebuilt-module steps put build/k8s-image/modules/<kver>/tcptimeo.ko in place"
else
	not_ok "README.md's prebuilt-module steps put build/k8s-image/modules/<kver>/tcptimeo.ko in place"
	{ printf '%s\n' "$steps"; cat "$tmp/out"; } | diag
fi

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
