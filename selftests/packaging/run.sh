#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the packaging checks and print one summary line.
#   run.sh host      version, man pages, docs, Kubernetes manifests, .debs
#                    (amd64, arm64) + lintian, the image context per arch,
#                    the paths the docs name against the .debs
#   run.sh install   DKMS and .deb installs on the host, observed in the VM
#   run.sh all       both
# Each check prints TAP; the last line is "N passed, N failed[, N skipped]".
set -u
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-host} in
host) checks="check-version check-man check-docs check-k8s check-deb check-k8s-image check-doc-paths" ;;
install) checks="install-flow" ;;
all) checks="check-version check-man check-docs check-k8s check-deb check-k8s-image check-doc-paths install-flow" ;;
*) echo "usage: $0 host|install|all" >&2; exit 2 ;;
esac
# check-k8s-image lays out the .debs check-deb has just built.
export TCPTIMEO_REUSE_DEBS=1
pass=0 fail=0 skipped=0 crashed=0
for c in $checks; do
	echo "# ---- $c"
	out=$(mktemp)
	"$here/$c.sh" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+ ' "$out"); s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out"); f=$(grep -cE '^not ok [0-9]+ ' "$out")
	pass=$((pass + p - s)); skipped=$((skipped + s)); fail=$((fail + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then fail=$((fail + 1)); crashed=1; echo "not ok - $c exited $rc without a failing point"; fi
	rm -f "$out"
done
echo "${pass} passed, ${fail} failed${skipped:+, $skipped skipped}" | sed 's/, 0 skipped$//'
[ "$fail" = 0 ]
