#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: the DaemonSet image's build context (make
# k8s-image-context) and its Dockerfile work for each architecture the
# DaemonSet schedules on. No Docker here: k8s/dockerfile-debs.py replays
# the Dockerfile's ARG/COPY/RUN for TARGETARCH=amd64 and arm64 against
# the context, as BuildKit would for docker buildx build --platform
# linux/amd64,linux/arm64, and the .debs its RUN installs are read with
# dpkg-deb. The replay must also refuse the mistakes that would break
# one architecture's image, or a pass means nothing.
# run.sh runs this after check-deb.sh, which has just built both
# architectures' .debs (TCPTIMEO_REUSE_DEBS=1: not built again).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
ver=$(tt_version)
ctx=build/k8s-image
arches="amd64 arm64"
replay() { python3 "$here/k8s/dockerfile-debs.py" "$@"; }

for t in dpkg-buildpackage dh dh_dkms aarch64-linux-gnu-gcc; do
	command -v $t >/dev/null || { skip "make k8s-image-context" "$t not installed (make packaging-deps)"; tap_done; exit 0; }
done
reuse=
[ "${TCPTIMEO_REUSE_DEBS:-0}" = 1 ] && reuse="-o deb -o deb-arm64"
# shellcheck disable=SC2086 # $reuse: zero or four words
if out=$(make --no-print-directory -f mk/packaging.mk $reuse k8s-image-context 2>&1); then
	bad=
	for a in $arches; do
		# shellcheck disable=SC2012 # our own file names: no blanks
		have=$(cd "$ctx/debs/$a" 2>/dev/null && ls | tr '\n' ' ')
		[ "$have" = "tcptimeo-dkms_${ver}_all.deb tcptimeo-tools_${ver}_${a}.deb " ] || bad="$bad debs/$a: ${have:-nothing};"
	done
	cmp -s deploy/kubernetes/Dockerfile "$ctx/Dockerfile" || bad="$bad Dockerfile is not deploy/kubernetes/Dockerfile;"
	if [ -z "$bad" ]; then ok "make k8s-image-context: debs/amd64 and debs/arm64 each hold tcptimeo-dkms (all) and tcptimeo-tools of that arch, $ver"
	else not_ok "make k8s-image-context: debs/<arch>/ for amd64 and arm64"; echo "$bad" | diag; fi
else
	not_ok "make k8s-image-context"; echo "$out" | tail -n 30 | diag; tap_done; exit 1
fi

# Each architecture's image: every COPY source is in the context, and
# the RUN installs both packages, of this version, for this arch only.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for a in $arches; do
	if replay "$ctx/Dockerfile" "$ctx" "$a" > "$tmp/out" 2>&1; then
		got=$(while IFS=$'\t' read -r _ _ f; do
			printf '%s %s %s\n' "$(dpkg-deb -f "$ctx/$f" Package)" "$(dpkg-deb -f "$ctx/$f" Version)" "$(dpkg-deb -f "$ctx/$f" Architecture)"
		done < "$tmp/out" | sort | tr '\n' ';')
		want="tcptimeo-dkms $ver all;tcptimeo-tools $ver $a;"
		if [ "$got" = "$want" ]; then ok "Dockerfile, TARGETARCH=$a: every COPY source is in the context; RUN installs $(sed 's/;$//; s/;/, /g' <<<"$want")"
		else not_ok "Dockerfile, TARGETARCH=$a: RUN installs $want"; { echo "got: $got"; cat "$tmp/out"; } | diag; fi
	else
		not_ok "Dockerfile, TARGETARCH=$a: every COPY source in the context, the debs installed"; diag < "$tmp/out"
	fi
done

# The base image is the Debian suite the .debs were built on: their
# libc6 dependency (from the build host's libc, the cross one's for
# arm64) is that suite's.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
from=$(sed -n 's/^FROM[[:space:]]\+\([^[:space:]]*\).*/\1/p' "$ctx/Dockerfile")
if [ -n "$suite" ] && [[ $from =~ ^debian:$suite(-slim)?$ ]]; then
	ok "Dockerfile: FROM $from, the suite the .debs are built on ($suite)"
else
	not_ok "Dockerfile: FROM debian:${suite:-?}[-slim], the suite the .debs are built on"; echo "FROM $from" | diag
fi

# What would break one architecture's image must fail the replay.
reject() { # what dockerfile context
	if replay "$2" "$3" arm64 > "$tmp/rout" 2>&1; then
		not_ok "replay rejects: $1"; diag < "$tmp/rout"
	else
		ok "replay rejects: $1"; grep -m1 '^error' "$tmp/rout" | diag
	fi
}
mutate() { # what sed-expression
	sed "$2" "$ctx/Dockerfile" > "$tmp/Dockerfile"
	if cmp -s "$tmp/Dockerfile" "$ctx/Dockerfile"; then not_ok "replay rejects: $1 (mutation did not apply)"; return; fi
	reject "$1" "$tmp/Dockerfile" "$ctx"
}
mutate "ARG TARGETARCH before FROM (the stage does not see it)" '/^ARG TARGETARCH/d; s/^FROM /ARG TARGETARCH\nFROM /'
# shellcheck disable=SC2016 # ${TARGETARCH}: the Dockerfile's text
mutate "COPY debs/ without the arch (debs/<arch>/ not unpacked)" 's|^COPY debs/${TARGETARCH}/ |COPY debs/ |'
mutate "a RUN naming a .deb the image does not hold (amd64 tools on arm64)" 's|^ && DEBIAN_FRONTEND=.*|&\n /tmp/debs/tcptimeo-tools_*_amd64.deb \\|'
mkdir -p "$tmp/ctx"
cp -a "$ctx/." "$tmp/ctx/"
rm -rf "$tmp/ctx/debs/arm64"
reject "a context without debs/arm64" "$ctx/Dockerfile" "$tmp/ctx"
tap_done
