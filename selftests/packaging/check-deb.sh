#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: `make deb` builds tcptimeo-dkms_<ver>_all.deb and
# tcptimeo-tools_<ver>_<arch>.deb; each holds what it must; the dkms
# package's maintainer scripts hand over to DKMS; lintian (pedantic,
# info shown) finds no error or warning beyond the overrides in debian/,
# each of which carries its reason. `make deb-arm64` cross-builds the
# arm64 tools package: an arm64 package of an aarch64 binary, the amd64
# package's files otherwise, and lintian-clean too.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
ver=$(tt_version)
arch=$(dpkg --print-architecture)
d=build/deb
dkmsdeb=$d/tcptimeo-dkms_${ver}_all.deb tooldeb=$d/tcptimeo-tools_${ver}_${arch}.deb

for t in dpkg-buildpackage dh dh_dkms lintian; do
	command -v $t >/dev/null || { skip "make deb" "$t not installed (make packaging-deps)"; tap_done; exit 0; }
done
if out=$(make --no-print-directory -f mk/packaging.mk deb 2>&1) && [ -f "$dkmsdeb" ] && [ -f "$tooldeb" ]; then
	ok "make deb: $(basename "$dkmsdeb") $(basename "$tooldeb")"
else
	not_ok "make deb"; echo "$out" | tail -n 30 | diag; tap_done; exit 1
fi

has() { # deb what path-regex...
	local deb=$1 what=$2 miss= list; shift 2
	list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
	for re in "$@"; do grep -qE "^$re\$" <<<"$list" || miss="$miss $re"; done
	if [ -z "$miss" ]; then ok "$(basename "$deb"): $what"; else not_ok "$(basename "$deb"): $what"; echo "missing:$miss" | diag; fi
}
has "$dkmsdeb" "module sources and dkms.conf in /usr/src/tcptimeo-$ver" \
	"/usr/src/tcptimeo-$ver/dkms.conf" "/usr/src/tcptimeo-$ver/Kbuild" \
	"/usr/src/tcptimeo-$ver/module/main.c" "/usr/src/tcptimeo-$ver/lib/tt_parse.c" \
	"/usr/src/tcptimeo-$ver/include/uapi/tcptimeo.h"
has "$tooldeb" "CLI, unit, modules-load.d, /etc rules, man pages, completion, docs, examples" \
	/usr/sbin/tcptimeoctl /lib/systemd/system/tcptimeo.service /usr/lib/modules-load.d/tcptimeo.conf \
	/etc/tcptimeo/rules.conf /usr/share/man/man8/tcptimeoctl.8.gz /usr/share/man/man4/tcptimeo.4.gz \
	/usr/share/bash-completion/completions/tcptimeoctl /usr/share/doc/tcptimeo-tools/operator-guide.md.gz \
	/usr/share/doc/tcptimeo-tools/ABI.md.gz /usr/share/doc/tcptimeo-tools/examples/rules.conf \
	/usr/share/doc/tcptimeo-tools/examples/kubernetes/daemonset.yaml

# The shipped sources are the tree's, and the module files are exactly
# what stage-dkms-src picks (the same set the DKMS test builds).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$dkmsdeb" "$tmp/x"
debian/stage-dkms-src "$tmp/want" >/dev/null
if d2=$(diff -r "$tmp/want" "$tmp/x/usr/src/tcptimeo-$ver"); then ok "shipped /usr/src/tcptimeo-$ver == the tree's DKMS sources (incl. dkms.conf)"
else not_ok "shipped /usr/src/tcptimeo-$ver == the tree's DKMS sources"; echo "$d2" | head -20 | diag; fi

dpkg-deb -e "$dkmsdeb" "$tmp/ctl"
if grep -q 'common.postinst' "$tmp/ctl/postinst" && grep -q "dkms remove -m \$DKMS_NAME -v \$DKMS_VERSION --all" "$tmp/ctl/prerm" &&
   grep -q "DKMS_VERSION=$ver" "$tmp/ctl/postinst" && dpkg-deb -f "$dkmsdeb" Depends | grep -q dkms; then
	ok "tcptimeo-dkms: Depends dkms; postinst builds via DKMS's common.postinst; prerm runs dkms remove"
else
	not_ok "tcptimeo-dkms maintainer scripts hand over to DKMS"
fi
dpkg-deb -e "$tooldeb" "$tmp/ctl2"
if grep -qx /etc/tcptimeo/rules.conf "$tmp/ctl2/conffiles" && ! dpkg-deb -f "$tooldeb" Depends | grep -q dkms; then
	ok "tcptimeo-tools: /etc/tcptimeo/rules.conf is a conffile; no dkms dependency"
else
	not_ok "tcptimeo-tools: conffile and dependencies"; { cat "$tmp/ctl2/conffiles"; dpkg-deb -f "$tooldeb" Depends; } | diag
fi
dpkg-deb -x "$tooldeb" "$tmp/t"
if "$tmp/t/usr/sbin/tcptimeoctl" --help >/dev/null 2>&1; then
	ok "packaged tcptimeoctl runs (--help)"
else
	not_ok "packaged tcptimeoctl runs (--help)"
fi

# lintian_point CHANGES WHAT: one point, lintian --pedantic on CHANGES
# with no error or warning; its output as diagnostics.
lintian_point() {
	local out rc
	out=$(lintian --fail-on error,warning --display-info --pedantic --show-overrides \
		"$1" 2>&1 | grep -v 'running with root privileges')
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then ok "lintian --pedantic$2: no error or warning ($(grep -c '^O:' <<<"$out") overridden, $(grep -cE '^[IP]:' <<<"$out") info/pedantic)"
	else not_ok "lintian$2: no error or warning"; fi
	[ -n "$out" ] && echo "$out" | diag
}
lintian_point "$d/tcptimeo_${ver}_${arch}.changes" ""
# Every override says why.
bad=
for f in debian/*lintian-overrides; do
	[ -f "$f" ] || continue
	awk -v f="$f" '/^#/{c=1; next} /^[[:space:]]*$/{next} {if(!c) print f": "$0; c=0}' "$f" | grep -q . && bad="$bad $f"
done
if [ -z "$bad" ]; then ok "every lintian override has a comment saying why"; else not_ok "lintian overrides without a reason:$bad"; fi

# arm64, cross-built (make deb-arm64). Every point compares with the
# amd64 packages above, so they come first.
a64=build/deb-arm64
dkms64=$a64/tcptimeo-dkms_${ver}_all.deb tool64=$a64/tcptimeo-tools_${ver}_arm64.deb
if [ "$arch" = arm64 ]; then
	skip "make deb-arm64" "the host is arm64: make deb is that build"
	tap_done; exit
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	skip "make deb-arm64" "no aarch64-linux-gnu-gcc (make packaging-deps)"
	tap_done; exit
fi
t0=$(date +%s.%N)
if out=$(make --no-print-directory -f mk/packaging.mk deb-arm64 2>&1) && [ -f "$dkms64" ] && [ -f "$tool64" ]; then
	ok "make deb-arm64: $(basename "$dkms64") $(basename "$tool64") ($(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f') s)"
else
	not_ok "make deb-arm64"; echo "$out" | tail -n 30 | diag; tap_done; exit 1
fi
if [ "$(dpkg-deb -f "$tool64" Architecture)" = arm64 ] && [ "$(sed -n 's/^Architecture: //p' "$a64/tcptimeo_${ver}_arm64.changes" 2>/dev/null)" = "all arm64" ]; then
	ok "$(basename "$tool64"): Architecture: arm64 (and the .changes: all arm64)"
else
	not_ok "$(basename "$tool64"): Architecture: arm64"; { dpkg-deb -f "$tool64" Architecture; grep '^Architecture' "$a64"/*.changes; } 2>&1 | diag
fi
dpkg-deb -x "$tool64" "$tmp/t64"
elf=$(file -b "$tmp/t64/usr/sbin/tcptimeoctl" 2>&1)
if [[ $elf == "ELF 64-bit LSB "*", ARM aarch64,"* ]]; then ok "its /usr/sbin/tcptimeoctl is an ELF 64-bit ARM aarch64 binary"
else not_ok "its /usr/sbin/tcptimeoctl is an ELF 64-bit ARM aarch64 binary"; echo "$elf" | diag; fi
# The cross build resolves libc through the cross toolchain's shlibs
# file (debian/rules), whose libc6:arm64 must not reach the package.
dep=$(dpkg-deb -f "$tool64" Depends)
if grep -qE '(^|, )libc6 \(>= [0-9.]+\)(,|$)' <<<"$dep" && ! grep -q ':' <<<"$dep" &&
	[ "$(sed 's/libc6 ([^)]*)//' <<<"$dep")" = "$(dpkg-deb -f "$tooldeb" Depends | sed 's/libc6 ([^)]*)//')" ]; then
	ok "its Depends: libc6 (>= ...) without an arch qualifier, otherwise the amd64 package's ($dep)"
else
	not_ok "its Depends: libc6 without an arch qualifier, otherwise the amd64 package's"; { echo "arm64: $dep"; echo "amd64: $(dpkg-deb -f "$tooldeb" Depends)"; } | diag
fi
# Same paths, modes, owners, links; same conffiles and maintainer scripts.
list() { dpkg-deb -c "$1" | awk '{ $3 = $4 = $5 = ""; print }'; }
dpkg-deb -e "$tool64" "$tmp/ctl64"
if d2=$(diff <(list "$tooldeb") <(list "$tool64")) && d3=$(diff -r -x control -x md5sums "$tmp/ctl2" "$tmp/ctl64"); then
	ok "$(basename "$tool64"): the amd64 package's $(list "$tool64" | wc -l) paths, modes, owners, conffiles and maintainer scripts"
else
	not_ok "$(basename "$tool64"): the amd64 package's files"; printf '%s\n' "$d2" "${d3:-}" | head -20 | diag
fi
if cmp -s "$dkmsdeb" "$dkms64"; then ok "$(basename "$dkms64") of the arm64 build == the amd64 build's (byte for byte)"
else not_ok "$(basename "$dkms64") of the arm64 build == the amd64 build's (byte for byte)"; fi
# It runs, where qemu-user can run it (no VM: one emulated process on
# the cross toolchain's libc), and says what the amd64 one says.
if command -v qemu-aarch64-static >/dev/null; then
	if h64=$(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$tmp/t64/usr/sbin/tcptimeoctl" --help 2>&1) &&
		[ "$h64" = "$("$tmp/t/usr/sbin/tcptimeoctl" --help 2>&1)" ]; then
		ok "packaged arm64 tcptimeoctl --help (qemu-aarch64-static) == the amd64 one's"
	else
		not_ok "packaged arm64 tcptimeoctl --help (qemu-aarch64-static) == the amd64 one's"; printf '%s\n' "$h64" | head -5 | diag
	fi
else
	skip "packaged arm64 tcptimeoctl --help (qemu-aarch64-static)" "no qemu-aarch64-static (qemu-user-static)"
fi
lintian_point "$a64/tcptimeo_${ver}_arm64.changes" " on the arm64 .changes"
tap_done
