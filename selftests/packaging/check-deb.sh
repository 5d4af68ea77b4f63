#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: `make deb` builds tcptimeo-dkms_<ver>_all.deb and
# tcptimeo-tools_<ver>_<arch>.deb; each holds what it must; the dkms
# package's maintainer scripts hand over to DKMS; lintian (pedantic,
# info shown) finds no error or warning beyond the overrides in debian/,
# each of which carries its reason.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
ver=$(sed -n 's/^#define[[:space:]]*TCPTIMEO_VERSION[[:space:]]*"\(.*\)"/\1/p' include/uapi/tcptimeo.h)
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

out=$(lintian --fail-on error,warning --display-info --pedantic --show-overrides \
	"$d/tcptimeo_${ver}_${arch}.changes" 2>&1 | grep -v 'running with root privileges')
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ]; then ok "lintian --pedantic: no error or warning ($(grep -c '^O:' <<<"$out") overridden, $(grep -cE '^[IP]:' <<<"$out") info/pedantic)"
else not_ok "lintian: no error or warning"; fi
[ -n "$out" ] && echo "$out" | diag
# Every override says why.
bad=
for f in debian/*lintian-overrides; do
	[ -f "$f" ] || continue
	awk -v f="$f" '/^#/{c=1; next} /^[[:space:]]*$/{next} {if(!c) print f": "$0; c=0}' "$f" | grep -q . && bad="$bad $f"
done
if [ -z "$bad" ]; then ok "every lintian override has a comment saying why"; else not_ok "lintian overrides without a reason:$bad"; fi
tap_done
