#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: one version. TCPTIMEO_VERSION in include/uapi/tcptimeo.h is
# the source of truth (the module's MODULE_VERSION and
# /sys/kernel/tcptimeo/version come from it); every other place that
# spells the version must agree: dkms.conf, debian/changelog, the
# Kubernetes manifests and image tag, tcptimeo(4), the docs' commands.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1

ver=$(tt_version)
if [[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then ok "TCPTIMEO_VERSION is $ver"; else not_ok "TCPTIMEO_VERSION is x.y.z (got '$ver')"; fi

same() { # what got
	if [ "$2" = "$ver" ]; then ok "$1: $2"; else not_ok "$1: '$2' != $ver"; fi
}
if [ -f dkms.conf ]; then
	same "dkms.conf PACKAGE_VERSION" "$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)"
	same "dkms.conf PACKAGE_NAME is tcptimeo" "$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf | sed "s/^tcptimeo\$/$ver/")"
	# dkms.conf is a shell fragment that DKMS sources.
	conf=$(bash -c '. ./dkms.conf; echo "$AUTOINSTALL|$BUILD_EXCLUSIVE_KERNEL"')
	re=${conf#*|} res=
	for k in 4.19.0-27-amd64 5.4.0-1 5.10.0-32-amd64 6.1.0-56-amd64 6.12.95+deb12-amd64 7.2.13-amd64; do
		[[ $k =~ $re ]] && res="$res $k:yes" || res="$res $k:no"
	done
	if [ "${conf%%|*}" = yes ] && [ "$res" = " 4.19.0-27-amd64:no 5.4.0-1:no 5.10.0-32-amd64:yes 6.1.0-56-amd64:yes 6.12.95+deb12-amd64:yes 7.2.13-amd64:yes" ]; then
		ok "dkms.conf: AUTOINSTALL=yes; BUILD_EXCLUSIVE_KERNEL takes 5.10+ (6.1, 6.12, 7.x), skips 5.4 and 4.19"
	else
		not_ok "dkms.conf: AUTOINSTALL=yes and BUILD_EXCLUSIVE_KERNEL for 5.10+"; echo "AUTOINSTALL=${conf%%|*}$res" | diag
	fi
else
	skip "dkms.conf PACKAGE_VERSION" "no dkms.conf yet"
	skip "dkms.conf PACKAGE_NAME" "no dkms.conf yet"
	skip "dkms.conf AUTOINSTALL and BUILD_EXCLUSIVE_KERNEL" "no dkms.conf yet"
fi
same "debian/changelog" "$(dpkg-parsechangelog -l debian/changelog -SVersion 2>/dev/null || sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)"
same "tcptimeo(4) .TH" "$(sed -n 's/^\.TH .*"tcptimeo \([^"]*\)".*/\1/p' docs/tcptimeo.4)"

# Every spelled-out version in the manifests, scripts and docs.
bad=$(grep -rnoE '(app\.kubernetes\.io/version: "|tcptimeo:|newTag: |TCPTIMEO_VERSION:-|tcptimeo[-/_])[0-9]+\.[0-9]+\.[0-9]+' \
	deploy docs README.md 2>/dev/null | grep -v -- "$ver\$")
if [ -z "$bad" ]; then
	ok "deploy/, docs/, README.md: every tcptimeo version spelled out is $ver ($(grep -rhoE '(app\.kubernetes\.io/version: "|tcptimeo:|newTag: |TCPTIMEO_VERSION:-|tcptimeo[-/_])[0-9]+\.[0-9]+\.[0-9]+' deploy docs README.md 2>/dev/null | wc -l) places)"
else
	not_ok "deploy/, docs/, README.md: every tcptimeo version spelled out is $ver"; echo "$bad" | diag
fi
tap_done
